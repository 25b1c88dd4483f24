#!/usr/bin/python3
# test-forking.py: psf in a Python host that forks with tasks in flight
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Portage runs a merge in a forked copy of emerge (os.fork() underneath
# multiprocessing's "fork" start method) while emerge has tasks of its own.
# Each case starts tasks, forks, runs tasks on both sides at once, and
# checks that every task on each side ends with its own, real result, and
# that a copy cannot wait for or cancel what it inherited. Prints TAP.

import multiprocessing
import os
import signal
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from psftap import require_gi, run, test  # noqa: E402

require_gi(GLib='2.0', Psf='1')
from gi.repository import GLib, Psf  # noqa: E402

TREE = tempfile.mkdtemp(prefix='psf-forking-')
METHODS = {
    'fork': (Psf.StartMethod.FORK, False),
    'spawn': (Psf.StartMethod.SPAWN, False),
    'forkserver': (Psf.StartMethod.FORKSERVER, False),
    'forkserver-setup': (Psf.StartMethod.FORKSERVER, True),
}
def new_task(method):
    start_method, setup = METHODS[method]
    task = Psf.SyncfsProcess(paths=[TREE, '/'])
    task.set_start_method(start_method)
    if setup:
        # A set-up option: the server forks the child and relays its exit.
        task.props.umask = 0o22
    return task


def started(method):
    task = new_task(method)
    task.start()
    return task


def check_synced(task):
    """The task ended as a sync of TREE and / does."""
    rc = task.wait()
    assert rc == 0, 'returncode %d' % rc
    statuses = [r.get_status() for r in task.get_results()]
    assert statuses[0] == Psf.SyncfsStatus.SYNCED, statuses
    assert statuses[1] in (Psf.SyncfsStatus.SYNCED, Psf.SyncfsStatus.DUPLICATE), statuses


def copy_runs_own_tasks(method, inherited):
    """What the forked copy does: its own tasks work, the inherited ones
    are refused at once. Returns nothing; raises on a failed check."""
    own = [started(method) for _ in range(2)]
    for task in inherited:
        try:
            task.wait()
        except GLib.Error as e:
            assert e.matches(Psf.Error.quark(), Psf.Error.INVALID_STATE), e.message
        else:
            raise AssertionError('wait() on an inherited task did not fail')
        task.cancel()
    for task in own:
        check_synced(task)


def run_in_copy(func, *args):
    """os.fork(): the copy runs func and leaves with os._exit()."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            signal.alarm(30)
            func(*args)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    return pid


def check_copy_exit(pid):
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status), 'the copy was killed by signal %d' % os.WTERMSIG(status)
    assert os.WEXITSTATUS(status) == 0, 'the copy failed (exit status %d)' % os.WEXITSTATUS(status)


def os_fork_case(method):
    def case():
        before = [started(method) for _ in range(3)]
        pid = run_in_copy(copy_runs_own_tasks, method, before)
        # Both sides busy at once: the parent starts more while the copy runs.
        after = [started(method) for _ in range(2)]
        check_copy_exit(pid)
        for task in before + after:
            check_synced(task)
        # And the parent goes on with its own server, where it has one.
        check_synced(started(method))
    case.__name__ = 'os-fork/' + method
    return case


def mp_child(method, queue):
    """multiprocessing's target, in a forked copy of this process."""
    try:
        task = started(method)
        check_synced(task)
        queue.put(('ok', [r.get_path() for r in task.get_results()]))
    except BaseException:
        queue.put(('failed', traceback.format_exc()))
        raise


def mp_fork_case(method):
    def case():
        ctx = multiprocessing.get_context('fork')
        queue = ctx.Queue()
        before = [started(method) for _ in range(3)]
        procs = [ctx.Process(target=mp_child, args=(method, queue)) for _ in range(2)]
        for p in procs:
            p.start()
        after = [started(method)]
        answers = [queue.get(timeout=30) for _ in procs]
        for p in procs:
            p.join(30)
            assert p.exitcode == 0, 'multiprocessing child exit code %r' % p.exitcode
        for verdict, detail in answers:
            assert verdict == 'ok', detail
            assert detail == [TREE, '/'], detail
        for task in before + after:
            check_synced(task)
    case.__name__ = 'multiprocessing-fork/' + method
    return case


for _method in METHODS:
    test(os_fork_case(_method))
    test(mp_fork_case(_method))


if __name__ == '__main__':
    try:
        run()
    finally:
        os.rmdir(TREE)
