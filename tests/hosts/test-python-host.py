#!/usr/bin/python3
# test-python-host.py: a Python host loads the psf-syncfs plugin through
# Peas.Engine.new() and runs its Psf.Hook (PyGObject 3.42, libpeas 1.34)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run by `meson test --suite plugin-hosts` with /usr/bin/python3, and the
# build tree in the environment: PSF_PLUGIN_PATH (module + .plugin),
# GI_TYPELIB_PATH, LD_LIBRARY_PATH, PSF_CHILD_PATH, G_TEST_SRCDIR (this
# folder: fixtures and orchestrator.py). Prints TAP.
#
# Warnings (libpeas's, psf's, GLib's) are caught with log handlers: a test
# that expects one asserts it, and any other fails the test that caused it.

import errno
import functools
import gc
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import psftap  # noqa: E402
from psftap import Skip, require_gi, run  # noqa: E402

require_gi(GLib='2.0', Peas='1.0', Psf='1')
from gi.repository import GLib, Peas, Psf  # noqa: E402

SRCDIR = os.environ['G_TEST_SRCDIR']
PLUGIN_DIR = os.environ['PSF_PLUGIN_PATH']
sys.path.insert(0, SRCDIR)
import orchestrator  # noqa: E402

WARNINGS = []


def on_warning(domain, level, message, _data):
    WARNINGS.append(message if domain == 'libpeas' else f'{domain}: {message}')


# G_DEBUG=fatal-warnings would abort on the warnings libpeas is expected to
# give, so they are caught here instead, with those of the other domains
# this host goes through (which no test expects).
for log_domain in ('libpeas', 'Psf', 'Psf-Plugin', 'GLib', 'GLib-GObject', 'GLib-GIO'):
    GLib.log_set_handler(log_domain, GLib.LogLevelFlags.LEVEL_WARNING
                         | GLib.LogLevelFlags.LEVEL_CRITICAL, on_warning, None)


def take_warnings():
    taken = WARNINGS[:]
    WARNINGS.clear()
    return taken


def test(func):
    """A test that also fails on a warning it did not take itself."""
    @functools.wraps(func)
    def checked():
        take_warnings()
        func()
        unexpected = take_warnings()
        if unexpected:
            raise AssertionError(f'unexpected warnings: {unexpected}')
    return psftap.test(checked)


class Tree:
    """A temporary merged tree: two files, a folder, a missing path."""

    def __enter__(self):
        self.root = tempfile.mkdtemp(prefix='psf-python-host-')
        os.makedirs(os.path.join(self.root, 'usr', 'bin'))
        for rel in ('usr/bin/tool', 'usr/README'):
            with open(os.path.join(self.root, rel), 'w', encoding='utf-8') as f:
                f.write('psf\n')
        self.paths = [os.path.join(self.root, rel)
                      for rel in ('usr/bin/tool', 'usr/README', 'usr/bin', 'missing')]
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.root)


def copy_fixture(tree, name):
    """libpeas remembers a module that failed by its .plugin's path, process
    wide: each test takes its own copy of a fixture."""
    folder = os.path.join(tree.root, 'plugins', name)
    os.makedirs(folder)
    shutil.copy(os.path.join(SRCDIR, 'fixtures', name, f'psf-{name}.plugin'), folder)
    return folder


def new_engine(*dirs):
    engine = Peas.Engine.new()
    for folder in dirs:
        engine.add_search_path(folder, None)
    engine.rescan_plugins()
    return engine


@test
def load_and_run():
    engine = new_engine(PLUGIN_DIR)
    info = engine.get_plugin_info('psf-syncfs')
    assert info is not None, f'psf-syncfs not found in {PLUGIN_DIR}'
    assert info.get_module_dir() == PLUGIN_DIR
    assert info.get_external_data('Psf-ABI') == '2'
    assert info.get_name() == 'Filesystem sync'
    assert engine.load_plugin(info)
    assert engine.provides_extension(info, Psf.Hook)
    hook = engine.create_extension(info, Psf.Hook, [], [])
    assert isinstance(hook, Psf.Hook)
    assert isinstance(hook, Peas.Activatable)

    with Tree() as tree:
        results, error = orchestrator.run_hook(hook, tree.paths)
        assert error is None, error.message
        assert [r.get_path() for r in results] == tree.paths
        statuses = [r.get_status() for r in results]
        assert statuses == [Psf.SyncfsStatus.SYNCED, Psf.SyncfsStatus.DUPLICATE,
                            Psf.SyncfsStatus.DUPLICATE, Psf.SyncfsStatus.SKIPPED], statuses
        assert results[0].get_errno() == 0
        assert results[3].get_errno() == errno.ENOENT
        assert results[1].get_device() == results[0].get_device() != 0

    assert engine.unload_plugin(info)
    assert not info.is_loaded()

    # The engine goes away with the last reference the host holds.
    finalized = []
    engine.weak_ref(lambda: finalized.append(True))
    del hook, results, info, engine
    gc.collect()
    assert finalized, 'the engine was not finalized'


@test
def properties():
    engine = new_engine(PLUGIN_DIR)
    info = engine.get_plugin_info('psf-syncfs')
    assert engine.load_plugin(info)
    hook = engine.create_extension(info, Psf.Hook, [], [])
    assert hook.props.timeout == 0
    assert hook.props.sync_fallback is False
    hook.props.timeout = 60000
    hook.props.sync_fallback = True
    assert hook.get_property('timeout') == 60000
    assert hook.get_property('sync-fallback') is True
    with Tree() as tree:
        results, error = orchestrator.run_hook(hook, [tree.root])
        assert error is None, error.message
        assert results[0].get_status() == Psf.SyncfsStatus.SYNCED


@test
def load_hooks_refuses():
    with Tree() as tree:
        engine = orchestrator.new_engine(PLUGIN_DIR)
        engine.add_search_path(copy_fixture(tree, 'wrong-abi'), None)
        engine.add_search_path(copy_fixture(tree, 'missing-module'), None)
        engine.rescan_plugins()
        hooks, refusals = orchestrator.load_hooks(engine)

        assert [info.get_module_name() for info, _hook in hooks] == ['psf-syncfs']
        assert len(refusals) == 2, refusals
        abi = [r for r in refusals if 'psf-wrong-abi' in r]
        assert abi and 'is built for psf plugin ABI 1, this host speaks ABI 2' in abi[0], refusals
        assert any('psf-missing-module' in r and 'could not be loaded' in r for r in refusals)

        warnings = take_warnings()
        assert len(warnings) == 2, warnings
        assert warnings[0].startswith("Failed to load module 'psf-missing-module': ")
        assert 'libpsf-missing-module.so: cannot open shared object file' in warnings[0]
        assert warnings[1] == "Error loading plugin 'psf-missing-module'"


@test
def wrong_abi():
    with Tree() as tree:
        engine = new_engine(copy_fixture(tree, 'wrong-abi'))
        info = engine.get_plugin_info('psf-wrong-abi')
        try:
            orchestrator.create_hook(engine, info)
        except orchestrator.Refusal as refusal:
            assert 'psf-wrong-abi' in str(refusal)
            assert 'ABI 1' in str(refusal)
        else:
            raise AssertionError('a plugin with X-Psf-ABI=1 was not refused')
        assert not info.is_loaded()


@test
def missing_module():
    with Tree() as tree:
        engine = new_engine(copy_fixture(tree, 'missing-module'))
        info = engine.get_plugin_info('psf-missing-module')
        assert info.get_external_data('Psf-ABI') == '2'
        assert not engine.load_plugin(info)
        warnings = take_warnings()
        assert len(warnings) == 2, warnings
        assert "Failed to load module 'psf-missing-module'" in warnings[0]
        assert warnings[1] == "Error loading plugin 'psf-missing-module'"
        assert not info.is_loaded()
        try:
            info.is_available()
        except GLib.Error as error:
            assert error.matches(Peas.plugin_info_error_quark(),
                                 Peas.PluginInfoError.LOADING_FAILED), error
        else:
            raise AssertionError('a plugin without its module is available')


@test
def missing_dir():
    with Tree() as tree:
        missing = os.path.join(tree.root, 'no-such-plugins')
        try:
            orchestrator.new_engine(missing)
        except orchestrator.Refusal as refusal:
            assert missing in str(refusal)
        else:
            raise AssertionError('a missing plugin folder was taken')
        # libpeas alone takes it without a word and finds nothing.
        hooks, refusals = orchestrator.load_hooks(new_engine(missing))
        assert hooks == [] and refusals == []


@test
def orchestrator_example():
    out = subprocess.run([sys.executable, os.path.join(SRCDIR, 'orchestrator.py'),
                          '--plugin-path', PLUGIN_DIR, '--timeout', '60000'],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith('>>> merged 15 paths into '), lines
    assert '>>> post-merge hook psf-syncfs (Filesystem sync)' in lines
    report = [line for line in lines if line.startswith('    ')]
    assert len(report) == 15, lines
    assert report[0].split()[0] == 'synced', report
    assert all(line.split()[0] == 'duplicate' for line in report[1:]), report
    assert lines[-1] == '>>> psf-syncfs: 1 filesystem(s) synced for 15 path(s)', lines


@test
def orchestrator_missing_dir():
    out = subprocess.run([sys.executable, os.path.join(SRCDIR, 'orchestrator.py'),
                          '--plugin-path', '/nonexistent/psf-plugins'],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out
    assert 'plugin folder /nonexistent/psf-plugins does not exist' in out.stderr, out.stderr


def with_failing_syncfs(errno_name):
    """Makes every syncfs() of psf's child fail (the shim this suite
    preloads reads its variable at each call; the child inherits it)."""
    if not os.environ.get('PSF_TEST_FAULT_SHIM'):
        raise Skip('the fault shim is not preloaded')
    os.environ['PSF_SHIM_SYNCFS_ERRNO'] = errno_name


@test
def failed_keeps_results():
    engine = new_engine(PLUGIN_DIR)
    info = engine.get_plugin_info('psf-syncfs')
    assert engine.load_plugin(info)
    hook = engine.create_extension(info, Psf.Hook, [], [])
    with Tree() as tree:
        with_failing_syncfs('EIO')
        try:
            results, error = orchestrator.run_hook(hook, tree.paths)
        finally:
            del os.environ['PSF_SHIM_SYNCFS_ERRNO']
        assert error is not None and error.domain == 'psf-error-quark' and error.code == Psf.Error.FAILED, error
        assert tree.paths[0] in error.message and os.strerror(errno.EIO) in error.message, error.message
        # The host still learns what happened to each path: the three on
        # the failed filesystem carry its errno, the missing one was skipped.
        assert [r.get_path() for r in results] == tree.paths
        statuses = [r.get_status() for r in results]
        assert statuses == [Psf.SyncfsStatus.FAILED] * 3 + [Psf.SyncfsStatus.SKIPPED], statuses
        assert [r.get_errno() for r in results[:3]] == [errno.EIO] * 3
        assert results[3].get_errno() == errno.ENOENT


@test
def orchestrator_failed_sync():
    with_failing_syncfs('EIO')
    try:
        out = subprocess.run([sys.executable, os.path.join(SRCDIR, 'orchestrator.py'),
                              '--plugin-path', PLUGIN_DIR, '--timeout', '60000'],
                             capture_output=True, text=True, timeout=120)
    finally:
        del os.environ['PSF_SHIM_SYNCFS_ERRNO']
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    report = [line for line in lines if line.startswith('    ')]
    assert len(report) == 15, lines
    assert report[0].split()[0] == 'failed', report
    assert report[0].endswith(f'({os.strerror(errno.EIO)})'), report
    assert lines[-1].startswith('!!! psf-syncfs failed: '), lines


if __name__ == '__main__':
    run('/psf/plugin-host/python/')
