#!/usr/bin/python3
# test-progress.py: Psf.SyncfsProcess's path-done signal from Python
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What a Python host (a Builder stage, a script with a progress bar) sees:
# each path's result while the child runs, a filesystem counted as done as
# soon as its flush ends, every result before "exited", the same objects
# as results() afterwards. The slow filesystem is made with the tests'
# fault shim (PSF_TEST_FAULT_SHIM), preloaded into the spawned helper
# only; without it that test is skipped. Prints TAP.

import gc
import os
import sys
import tempfile
import time
import weakref

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from psftap import Skip, require_gi, run, test  # noqa: E402

require_gi(GLib='2.0', Gio='2.0', Psf='1')

from gi.repository import GLib, Psf  # noqa: E402

SLOW_MS = 1500


def child_running(pid):
    """Whether pid is still at work: not gone, not a zombie."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def run_task(task):
    """Runs task to its exit on a GLib.MainLoop; returns what the handlers
    saw: [(when, result, child still running)], and when it exited."""
    loop = GLib.MainLoop()
    seen = []
    box = {}

    def path_done(proc, result):
        assert 'exited' not in box, 'path-done after exited'
        assert box.get('started'), 'path-done before started'
        assert proc.results == [], 'results before the exit'
        if result.status in (Psf.SyncfsStatus.SYNCED, Psf.SyncfsStatus.FAILED):
            # How many there are is known before the first is done.
            assert proc.props.n_filesystems >= 1, proc.props.n_filesystems
        seen.append((time.monotonic(), result, child_running(proc.pid)))

    def n_filesystems(proc, pspec):
        assert box.get('started'), 'n-filesystems before started'
        box.setdefault('planned', []).append(proc.props.n_filesystems)

    def started(proc):
        box['started'] = True

    def exited(proc, returncode):
        box['exited'] = time.monotonic()
        loop.quit()

    task.connect('started', started)
    task.connect('path-done', path_done)
    task.connect('exited', exited)
    task.connect('notify::n-filesystems', n_filesystems)
    assert task.props.n_filesystems == -1
    task.start()
    GLib.timeout_add_seconds(30, loop.quit)
    loop.run()
    assert 'exited' in box, 'the task did not exit within 30 s'
    assert box.get('planned') == [task.get_n_filesystems()], box.get('planned')
    return seen, box['exited']


@test
def every_path_once_before_exited():
    with tempfile.TemporaryDirectory() as tmp:
        name = os.path.join(tmp, 'file')
        open(name, 'w').close()
        paths = [tmp, '/nonexistent-psf', name]
        task = Psf.SyncfsProcess(paths)
        seen, _ = run_task(task)
    assert task.returncode == 0, task.returncode
    # The file shares the directory's filesystem, the missing path has none.
    assert task.props.n_filesystems == 1, task.props.n_filesystems
    assert sorted(r.path for _, r, _ in seen) == sorted(paths), seen
    by_path = {r.path: r for _, r, _ in seen}
    assert by_path[tmp].status == Psf.SyncfsStatus.SYNCED
    assert by_path['/nonexistent-psf'].status == Psf.SyncfsStatus.SKIPPED
    assert by_path[name].status == Psf.SyncfsStatus.DUPLICATE
    # The objects of the signal are those of results().
    for result in task.results:
        assert by_path[result.path] is result


@test
def fast_filesystem_done_while_slow_one_runs():
    shim = os.environ.get('PSF_TEST_FAULT_SHIM')
    if not shim:
        raise Skip('the fault shim is not built')
    with tempfile.TemporaryDirectory(dir=os.environ.get('G_TEST_BUILDDIR')) as tmp:
        slow = os.path.realpath(tmp)
        fast = '/dev/shm'
        if not os.path.isdir(fast) or os.stat(fast).st_dev == os.stat(slow).st_dev:
            raise Skip('/dev/shm is not a filesystem apart from %s' % slow)
        # The slow one first: the helper syncs both at once.
        task = Psf.SyncfsProcess([slow, fast])
        task.props.start_method = Psf.StartMethod.SPAWN
        env = dict(os.environ)
        # After what the test runs with (a sanitizer's runtime comes first).
        env['LD_PRELOAD'] = ':'.join(p for p in (env.get('LD_PRELOAD'), shim) if p)
        env['ASAN_OPTIONS'] = env.get('ASAN_OPTIONS', '') + ':verify_asan_link_order=0'
        env['PSF_FAULT'] = 'syncfs,action=delay,ms=%d,path=%s' % (SLOW_MS, slow)
        task.props.env = ['%s=%s' % item for item in env.items()]
        seen, exited = run_task(task)
    assert task.returncode == 0, task.returncode
    assert [r.path for _, r, _ in seen] == [fast, slow], seen
    assert task.props.n_filesystems == 2, task.props.n_filesystems
    (fast_at, fast_result, alive), (slow_at, _, _) = seen
    assert fast_result.status == Psf.SyncfsStatus.SYNCED
    assert alive, 'the fast result came only once the child had gone'
    assert slow_at - fast_at >= SLOW_MS / 2000, (fast_at, slow_at)
    assert exited - fast_at >= SLOW_MS / 2000, (fast_at, exited)


@test
def handlers_over_their_task_are_let_go_at_the_exit():
    # As with started/exited: a path-done handler that closes over its task
    # makes no cycle once the task has exited, without the cyclic GC.
    gc.collect()
    gc.disable()
    try:
        seen = []
        task = Psf.SyncfsProcess(['/dev/shm'])
        (lambda task: task.connect('path-done', lambda t, r: seen.append(task.pid)))(task)
        task.start()
        assert task.wait() == 0
        assert seen == [task.pid], seen
        # ::exited came through wait(), and with it the release.
        ref = weakref.ref(task)
        del task
        assert ref() is None, 'the path-done handler keeps its exited task'
    finally:
        gc.enable()


if __name__ == '__main__':
    run()
