# psf-sitecustomize.py: the sitecustomize of the processes Portage's tests start
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-portage-suite.py copies this file as sitecustomize.py into a scratch
# directory, writes psf-portage.json beside it and puts that directory
# first on PYTHONPATH: Portage's harness builds a new environment for
# emerge and the processes it starts, and PYTHONPATH is what it keeps. So
# every Python process of the run imports this at startup, emerge's forked
# MergeProcess children included.
#
# Nothing happens until portage.dbapi._SyncfsProcess is imported (lazily,
# by dblink._post_merge_sync). Then, by psf-portage.json's "mode":
#
#   "portage"  Portage's own SyncfsProcess stays; a subclass of it that only
#              records each start and exit takes its place.
#   "psf"      psf.portage.SyncfsProcess takes its place (the one-line switch
#              of docs/portage.md, made from outside), in the same recording
#              subclass. psf is found in the build tree: the typelib and
#              library directories are given to GIRepository here, since
#              GI_TYPELIB_PATH and LD_LIBRARY_PATH do not reach this process.
#
# Records are JSON lines appended to the "log" file: one per start and one
# per exit, with the process, the class that ran and the returncode.

import importlib.abc
import importlib.util
import json
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(_HERE, 'psf-portage.json'), encoding='utf-8') as _f:
    _CONFIG = json.load(_f)

_MODULE = 'portage.dbapi._SyncfsProcess'


def _record(event, task, **fields):
    record = {
        'event': event,
        'mode': _CONFIG['mode'],
        'process': os.getpid(),
        'class': type(task).__mro__[1].__module__ + '.' + type(task).__mro__[1].__name__,
        'pid': task.pid,
        'returncode': task.returncode,
    }
    record.update(fields)
    line = (json.dumps(record) + '\n').encode('utf-8')
    fd = os.open(_CONFIG['log'], os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _exited(task):
    fields = {}
    if hasattr(task, 'results'):
        # What psf reported, per path.
        fields['results'] = [str(r) for r in task.results]
    _record('exit', task, **fields)


def _recording(base):
    class Recorded(base):
        __slots__ = ()

        def start(self):
            self.addExitListener(_exited)
            super().start()
            fields = {}
            psf_task = getattr(self, '_psf', None)
            if psf_task is not None:
                # What runs is psf's GObject class.
                fields['gtype'] = psf_task.__gtype__.name
            _record('start', self, **fields)

    Recorded.__name__ = base.__name__
    Recorded.__qualname__ = base.__qualname__
    return Recorded


def _use_build_tree():
    os.environ['PSF_CHILD_PATH'] = _CONFIG['child']
    import gi
    gi.require_version('GIRepository', '2.0')
    from gi.repository import GIRepository
    GIRepository.Repository.prepend_search_path(_CONFIG['typelib_dir'])
    GIRepository.Repository.prepend_library_path(_CONFIG['library_dir'])


def _patch(module):
    if _CONFIG['mode'] == 'psf':
        _use_build_tree()
        from psf.portage import SyncfsProcess
    else:
        SyncfsProcess = module.SyncfsProcess
    module.SyncfsProcess = _recording(SyncfsProcess)


class _Finder(importlib.abc.MetaPathFinder):
    """Patches the module once it has been executed."""

    def find_spec(self, name, path, target=None):
        if name != _MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            _patch(module)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _Finder())
