#!/usr/bin/python3
# test-overrides.py: the PyGObject overrides of psf (python/gi/overrides/Psf.py)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run by `meson test --suite python` with Debian's /usr/bin/python3, the
# build tree's typelib and library, and python/ first on PYTHONPATH, so that
# `from gi.repository import Psf` loads the overrides of the source tree.
# Prints TAP.

import gc
import os
import pathlib
import shutil
import signal
import sys
import tempfile
import weakref

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from psftap import open_fds, require_gi, run, test  # noqa: E402

require_gi(GLib='2.0', Gio='2.0', Psf='1')

from gi.repository import GLib, Psf  # noqa: E402
from gi.overrides.Psf import Psf as raw  # noqa: E402  the classes without overrides


@test
def overrides_are_loaded_from_the_tree():
    import gi.overrides.Psf as overrides
    here = os.path.dirname(os.path.abspath(__file__))
    tree = os.path.normpath(os.path.join(here, '..', '..', 'python'))
    assert os.path.dirname(os.path.dirname(os.path.dirname(overrides.__file__))) == tree, \
        overrides.__file__
    assert Psf.Task is overrides.Task
    assert issubclass(Psf.SyncfsProcess, overrides.Task)


@test
def returncode_and_poll_are_none_until_the_exit():
    task = Psf.SpawnProcess(argv=['sh', '-c', 'exit 3'])
    assert task.returncode is None
    assert task.poll() is None
    assert task.pid is None
    # The C API is all still there.
    assert task.get_returncode() == Psf.RETURNCODE_NONE
    assert task.props.returncode == Psf.RETURNCODE_NONE
    task.start()
    assert task.pid == task.props.pid > 0
    assert task.returncode is None
    assert task.poll() is None, 'poll() never reaps: nothing ran the context yet'
    assert task.wait() == 3
    assert task.returncode == 3
    assert task.poll() == 3
    assert task.wait() == 3
    assert raw.Task.poll(task) == (True, 3)
    assert 'exited' in repr(task) and 'returncode=3' in repr(task), repr(task)


@test
def wait_keeps_its_errors():
    task = Psf.SpawnProcess(argv=['true'])
    try:
        task.wait()
    except GLib.Error as e:
        assert e.matches(Psf.Error.quark(), Psf.Error.INVALID_STATE), e
    else:
        raise AssertionError('wait() before start() returned')

    task = Psf.SpawnProcess(argv=['sleep', '30'])
    task.start()
    loop = GLib.MainLoop()
    box = {}

    def inside():
        try:
            task.wait()
        except GLib.Error as e:
            box['error'] = e
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.idle_add(inside)
    loop.run()
    assert box['error'].matches(Psf.Error.quark(), Psf.Error.INVALID_STATE), box
    task.cancel()
    assert task.wait() == -signal.SIGTERM


@test
def cancel_keeps_its_meaning():
    task = Psf.SpawnProcess(argv=['sleep', '30'])
    task.start()
    task.cancel()
    assert task.wait() == -signal.SIGTERM
    assert task.props.cancelled
    before = Psf.SpawnProcess(argv=['sleep', '30'])
    before.cancel()
    before.start()
    assert before.wait() == Psf.RETURNCODE_CANCELLED


def _non_utf8_tree():
    tree = tempfile.mkdtemp(prefix='psf-overrides-')
    name = os.path.join(os.fsencode(tree), b'caf\xe9-\xff')
    os.mkdir(name)
    with open(os.path.join(name, b'f\x80le'), 'w') as f:
        f.write('data\n')
    return tree, name


@test
def paths_take_str_bytes_pathlike_and_any_bytes():
    tree, name = _non_utf8_tree()
    try:
        file_bytes = os.path.join(name, b'f\x80le')
        paths = [tree, name, os.fsdecode(file_bytes), pathlib.Path(os.fsdecode(name)),
                 os.path.join(name, b'missing')]
        task = Psf.SyncfsProcess(paths=paths, start_method=Psf.StartMethod.SPAWN)
        assert [os.fsencode(p) for p in task.paths] == \
            [os.fsencode(tree), name, file_bytes, name, os.path.join(name, b'missing')]
        task.start()
        assert task.wait() == 0
        results = task.results
        assert len(results) == 5, results
        assert results[1].path_bytes == name, results[1].path_bytes
        assert results[2].path_bytes == file_bytes
        statuses = [r.status for r in results]
        assert statuses[0] == Psf.SyncfsStatus.SYNCED, statuses
        assert statuses[1:4] == [Psf.SyncfsStatus.DUPLICATE] * 3, statuses
        assert statuses[4] == Psf.SyncfsStatus.SKIPPED, statuses
        assert results[4].errno == 2

        # The same through set_paths() and new().
        again = Psf.SyncfsProcess.new([name])
        again.set_paths([pathlib.Path(os.fsdecode(file_bytes))])
        again.start()
        assert again.wait() == 0
        assert again.results[0].path_bytes == file_bytes
        assert again.results[0].status == Psf.SyncfsStatus.SYNCED
    finally:
        shutil.rmtree(os.fsencode(tree))


@test
def paths_bytes_setter_of_the_c_api():
    tree, name = _non_utf8_tree()
    try:
        task = Psf.SyncfsProcess()
        # NUL-separated, as find -print0 writes them; the last NUL is optional.
        assert task.set_paths_bytes(GLib.Bytes.new(name + b'\0relative\0'))
        assert [os.fsencode(p) for p in task.get_paths()] == [name, b'relative']
        assert task.set_paths_bytes(GLib.Bytes.new(b'/tmp\0' + name))
        assert [os.fsencode(p) for p in task.get_paths()] == [b'/tmp', name]
        for bad, n in ((b'/tmp\0\0/var', 2), (b'\0/tmp', 1)):
            try:
                task.set_paths_bytes(GLib.Bytes.new(bad))
            except GLib.Error as e:
                assert e.matches(Psf.Error.quark(), Psf.Error.INVALID_ARGUMENT), e
                assert e.message.startswith('Path %d is empty' % n), e.message
            else:
                raise AssertionError('an empty path was taken from %r' % bad)
        assert [os.fsencode(p) for p in task.get_paths()] == [b'/tmp', name], \
            'a refused list changed the paths'
        task.set_paths_bytes(GLib.Bytes.new(name))
        task.start()
        assert task.wait() == 0
        assert task.results[0].path_bytes == name
        assert task.results[0].status == Psf.SyncfsStatus.SYNCED
        empty = Psf.SyncfsProcess(paths=['/'])
        assert empty.set_paths_bytes(GLib.Bytes.new(b''))
        assert list(empty.get_paths() or []) == []
    finally:
        shutil.rmtree(os.fsencode(tree))


@test
def a_single_path_or_a_wrong_type_is_refused():
    for bad in ('/tmp', b'/tmp', pathlib.Path('/tmp')):
        try:
            Psf.SyncfsProcess(paths=bad)
        except TypeError as e:
            assert 'list' in str(e), e
        else:
            raise AssertionError('paths=%r was taken as a list of paths' % (bad,))
    try:
        Psf.SyncfsProcess(paths=['/tmp', 3])
    except TypeError as e:
        assert 'int' in str(e), e
    else:
        raise AssertionError('an int was taken as a path')


@test
def results_read_like_python():
    tree = tempfile.mkdtemp(prefix='psf-overrides-')
    try:
        task = Psf.SyncfsProcess(paths=[tree, os.path.join(tree, 'missing')])
        task.start()
        task.wait()
        synced, skipped = task.results
        st = os.stat(tree)
        assert synced.device == (os.major(st.st_dev), os.minor(st.st_dev)), synced.device
        assert synced.device_text == '%d:%d' % synced.device
        assert synced.get_device() == st.st_dev, 'the C getter is unchanged'
        assert str(synced) == synced.to_string() == '%s synced %s' % (tree, synced.device_text), \
            str(synced)
        assert repr(synced) == '<Psf.SyncfsResult %r SYNCED device=%r>' % (tree, synced.device), \
            repr(synced)
        assert skipped.device is None
        assert skipped.device_text == '0:0'
        assert repr(skipped).endswith("SKIPPED device=None errno=2 (%s)>" % os.strerror(2)), \
            repr(skipped)
    finally:
        shutil.rmtree(tree)


def _tasks_with_handlers_over_themselves(count, private_context):
    """Runs `count` tasks whose handlers close over the task; returns weak
    references to them."""
    refs = []
    calls = []

    def connect_over(task):
        # Each handler closes over its own task (a cell of its own).
        task.connect('started', lambda t: calls.append(task.props.pid))
        task.connect('exited', lambda t, rc: calls.append(task.returncode))

    for _ in range(count):
        task = Psf.SpawnProcess(argv=['true'])
        connect_over(task)
        if private_context:
            context = GLib.MainContext()
            context.push_thread_default()
            try:
                task.start()
            finally:
                context.pop_thread_default()
        else:
            task.start()
        assert task.wait() == 0
        refs.append(weakref.ref(task))
        del task
    assert len(calls) == 2 * count, len(calls)
    return refs


@test
def handlers_over_their_task_leave_no_cycle():
    gc.collect()
    gc.disable()
    try:
        _tasks_with_handlers_over_themselves(5, True)   # warm-up: the helper, caches
        before = open_fds()
        refs = _tasks_with_handlers_over_themselves(300, True)
        alive = sum(1 for r in refs if r() is not None)
        after = open_fds()
    finally:
        gc.enable()
    grown = {fd: what for fd, what in after.items() if fd not in before}
    print('# fds before %d, after 300 tasks %d (without a garbage collection)'
          % (len(before), len(after)))
    assert alive == 0, '%d of 300 exited tasks are still alive' % alive
    assert not grown, 'fds left open: %r' % grown


@test
def started_handler_of_a_task_cancelled_before_start_is_let_go():
    gc.disable()
    try:
        task = Psf.SpawnProcess(argv=['true'])
        (lambda task: task.connect('started', lambda t: print(task)))(task)
        task.cancel()
        task.start()
        assert task.wait() == Psf.RETURNCODE_CANCELLED
        # ::exited still has to come, from the context.
        while GLib.MainContext.default().iteration(False):
            pass
        ref = weakref.ref(task)
        del task
        assert ref() is None, 'the never-called started handler keeps the task'
    finally:
        gc.enable()


@test
def handler_ids_stay_valid_and_extra_arguments_pass():
    task = Psf.SpawnProcess(argv=['sh', '-c', 'exit 4'])
    seen = []
    first = task.connect('exited', lambda t, rc, tag: seen.append((tag, rc)), 'first')
    second = task.connect('exited', lambda t, rc: seen.append(('second', rc)))
    task.disconnect(second)
    after = task.connect_after('exited', lambda t, rc: seen.append(('after', t.returncode)))
    task.start()
    assert task.wait() == 4
    assert seen == [('first', 4), ('after', 4)], seen
    # The ids are still valid for disconnect() after the exit.
    task.disconnect(first)
    task.disconnect(after)
    late = task.connect('exited', lambda t, rc: seen.append('late'))
    task.disconnect(late)
    assert seen == [('first', 4), ('after', 4)], seen


if __name__ == '__main__':
    if not hasattr(Psf, 'LoopBridge'):
        print('1..0 # SKIP the typelib has no Psf.LoopBridge')
        sys.exit(0)
    run()
