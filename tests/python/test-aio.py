#!/usr/bin/python3
# test-aio.py: psf tasks in asyncio (python/psf/aio.py) and Psf.LoopBridge
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Every asyncio case also checks that nothing but the loop did the work: no
# thread was started, ctypes was never imported. Prints TAP.

import asyncio
import gc
import multiprocessing
import os
import select
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import weakref

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from psftap import open_fds, require_gi, run, test  # noqa: E402

require_gi(GLib='2.0', Gio='2.0', Psf='1')

from gi.repository import Gio, GLib, Psf  # noqa: E402
import psf  # noqa: E402
import psf.aio  # noqa: E402

TIME_LIMIT_S = 30


def threads():
    return len(os.listdir('/proc/self/task'))


# GLib starts one thread of its own when the GTask class is first used (its
# thread pool's spawner; every wait is a GTask): counted before the cases.
Gio.Task.new(None, None, None, None)


def in_loop(coroutine_function, *args):
    """asyncio.run() under a time limit; asserts no thread was added."""
    before = threads()

    async def bounded():
        return await asyncio.wait_for(coroutine_function(*args), TIME_LIMIT_S)

    result = asyncio.run(bounded())
    assert threads() <= before, 'threads: %d before, %d after' % (before, threads())
    return result


@test
def await_task_started_in_the_loop():
    async def main():
        task = Psf.SpawnProcess(argv=['sh', '-c', 'exit 5'])
        events = []
        task.connect('started', lambda t: events.append('started'))
        task.connect('exited', lambda t, rc: events.append(('exited', rc)))
        task.start()
        assert task.get_context() == psf.aio.context()
        rc = await task
        assert rc == 5 and task.returncode == 5
        assert events == ['started', ('exited', 5)], events
        assert await task.wait_async() == 5, 'a wait after the exit'
        return rc

    assert in_loop(main) == 5
    assert 'ctypes' not in sys.modules


@test
def wait_check_async_raises_the_task_error():
    async def main():
        ok = Psf.SyncfsProcess(paths=['/'])
        ok.start()
        assert await ok.wait_check_async() is None
        bad = Psf.SpawnProcess(argv=['sh', '-c', 'exit 2'])
        bad.start()
        try:
            await bad.wait_check_async()
        except GLib.Error as e:
            assert e.matches(Psf.Error.quark(), Psf.Error.FAILED), e
            assert 'status 2' in e.message, e.message
        else:
            raise AssertionError('a failed task checked fine')
        slow = Psf.SpawnProcess(argv=['sleep', '30'], timeout=100)
        slow.start()
        try:
            await psf.aio.wait(slow, check=True)
        except GLib.Error as e:
            assert e.matches(Psf.Error.quark(), Psf.Error.TIMED_OUT), e
        else:
            raise AssertionError('the timeout did not fire')
        assert slow.returncode == -signal.SIGTERM

    in_loop(main)


@test
def many_tasks_at_once():
    async def main():
        tasks = [Psf.SpawnProcess(argv=['sh', '-c', 'exit %d' % (i % 7)]) for i in range(40)]
        for t in tasks:
            t.start()
        rcs = await asyncio.gather(*(t.wait_async() for t in tasks))
        assert rcs == [i % 7 for i in range(40)], rcs
        rcs = await asyncio.gather(*(psf.aio.run(Psf.SyncfsProcess(paths=['/tmp']))
                                     for _ in range(20)))
        assert rcs == [0] * 20

    in_loop(main)


@test
def loop_in_another_thread():
    box = {}

    def worker():
        try:
            async def main():
                task = Psf.SpawnProcess(argv=['sh', '-c', 'exit 7'])
                task.start()
                return await task
            box['rc'] = asyncio.run(asyncio.wait_for(main(), TIME_LIMIT_S))
        except BaseException as e:  # noqa: B902
            box['error'] = e

    threads_ = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads_:
        t.start()
    for t in threads_:
        t.join(TIME_LIMIT_S + 5)
    assert 'error' not in box, box
    assert box['rc'] == 7, box


def _forked_child(queue):
    async def main():
        task = Psf.SyncfsProcess(paths=['/tmp', '/'])
        task.start()
        rc = await task
        spawned = Psf.SpawnProcess(argv=['sh', '-c', 'exit 9'])
        return rc, await psf.aio.run(spawned)
    try:
        queue.put(asyncio.run(asyncio.wait_for(main(), TIME_LIMIT_S)))
    except BaseException as e:  # noqa: B902
        queue.put(repr(e))


@test
def forked_children_with_loops_of_their_own():
    async def main():
        # The parent has a task in flight in its own loop while it forks.
        parent_task = Psf.SpawnProcess(argv=['sleep', '0.5'])
        parent_task.start()
        ctx = multiprocessing.get_context('fork')
        queue = ctx.Queue()
        children = [ctx.Process(target=_forked_child, args=(queue,)) for _ in range(3)]
        for c in children:
            c.start()
        rc = await parent_task
        loop = asyncio.get_running_loop()
        got = [await loop.run_in_executor(None, queue.get, True, TIME_LIMIT_S)
               for _ in children]
        for c in children:
            c.join(TIME_LIMIT_S)
            assert c.exitcode == 0, c.exitcode
        return rc, got

    # run_in_executor starts a thread: not in_loop().
    rc, got = asyncio.run(asyncio.wait_for(main(), TIME_LIMIT_S * 2))
    assert rc == 0
    assert got == [(0, 9)] * 3, got


@test
def task_started_outside_asyncio_is_driven_while_awaited():
    # The exit comes once the loop waits: the waiter's callback is then
    # queued from the default context to the loop's, in the same thread.
    task = Psf.SpawnProcess(argv=['sh', '-c', 'sleep 0.3; exit 4'])
    task.start()                # the default main context, nobody runs it
    assert task.get_context() == GLib.MainContext.default()

    async def main():
        return await task

    assert in_loop(main) == 4


@test
def task_in_a_context_run_by_a_glib_thread():
    context = GLib.MainContext()
    loop = GLib.MainLoop(context)
    thread = threading.Thread(target=loop.run)
    task = Psf.SpawnProcess(argv=['sh', '-c', 'exit 6'])
    context.push_thread_default()
    try:
        task.start()
    finally:
        context.pop_thread_default()
    thread.start()
    try:
        async def main():
            return await task
        assert asyncio.run(asyncio.wait_for(main(), TIME_LIMIT_S)) == 6
    finally:
        loop.quit()
        context.wakeup()
        thread.join(TIME_LIMIT_S)


@test
def cancelled_await_gives_up_the_wait_only():
    async def main():
        task = Psf.SpawnProcess(argv=['sleep', '30'])
        task.start()
        try:
            await asyncio.wait_for(task.wait_async(), 0.2)
        except asyncio.TimeoutError:
            pass
        else:
            raise AssertionError('the wait did not time out')
        assert task.is_alive() and task.returncode is None
        os.kill(task.pid, 0)
        # A Gio.Cancellable gives up a wait the C way.
        cancellable = Gio.Cancellable()
        asyncio.get_running_loop().call_later(0.1, cancellable.cancel)
        try:
            await task.wait_async(cancellable)
        except GLib.Error as e:
            assert e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED), e
        else:
            raise AssertionError('the cancellable did not give up the wait')
        assert task.is_alive()
        task.cancel()
        assert await task == -signal.SIGTERM

    in_loop(main)


@test
def run_cancels_the_task_when_cancelled():
    async def main():
        task = Psf.SpawnProcess(argv=['sleep', '30'])
        waiter = asyncio.ensure_future(psf.aio.run(task))
        await asyncio.sleep(0.2)
        assert task.is_alive()
        waiter.cancel()
        try:
            await waiter
        except asyncio.CancelledError:
            pass
        assert task.returncode == -signal.SIGTERM, task.returncode

    in_loop(main)


def _tasks_in_loop(count):
    def connect_over(task):
        # The handler closes over its own task (a cell of its own).
        task.connect('exited', lambda t, rc: task.props.pid)

    async def main():
        refs = []
        for _ in range(count):
            task = Psf.SpawnProcess(argv=['true'])
            connect_over(task)
            task.start()
            assert await task == 0
            refs.append(weakref.ref(task))
            del task
        return refs
    return asyncio.run(main())


@test
def no_fd_or_task_left_after_300_tasks():
    gc.collect()
    gc.disable()
    try:
        _tasks_in_loop(5)
        before = open_fds()
        refs = _tasks_in_loop(300)
        after = open_fds()
        alive = sum(1 for r in refs if r() is not None)
    finally:
        gc.enable()
    print('# fds before %d, after 300 tasks in asyncio %d (no garbage collection)'
          % (len(before), len(after)))
    grown = {fd: what for fd, what in after.items() if fd not in before}
    assert alive == 0, '%d tasks still alive' % alive
    assert not grown, grown


SIGINT_SCRIPT = textwrap.dedent('''
    import asyncio, os, sys, time
    import gi
    gi.require_version('Psf', '1')
    from gi.repository import Psf
    import psf.aio

    task = Psf.SpawnProcess(argv=['sleep', '30'])

    async def main():
        task.start()
        print(task.pid, flush=True)
        if sys.argv[1] == 'run':
            await psf.aio.run(task)
        else:
            await task

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print('KeyboardInterrupt', task.returncode, flush=True)
        if sys.argv[1] == 'await':
            # The wait was given up; the task is still there to finish.
            task.cancel()
            print('after', task.wait(), flush=True)
''')


@test
def ctrl_c_while_awaiting():
    for mode in ('await', 'run'):
        with tempfile.TemporaryDirectory() as tmp:
            script = os.path.join(tmp, 'sigint.py')
            with open(script, 'w') as f:
                f.write(SIGINT_SCRIPT)
            proc = subprocess.Popen([sys.executable, script, mode], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            try:
                child = int(proc.stdout.readline())
                time.sleep(0.3)
                sent = time.monotonic()
                proc.send_signal(signal.SIGINT)
                out, err = proc.communicate(timeout=TIME_LIMIT_S)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            took = time.monotonic() - sent
            print('# %s: exited %.3f s after SIGINT' % (mode, took))
            assert proc.returncode == 0, (proc.returncode, out, err)
            assert err == '', err
            if mode == 'await':
                assert out.splitlines() == ['KeyboardInterrupt None', 'after -15'], out
            else:
                assert out.splitlines() == ['KeyboardInterrupt -15'], out
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                pass
            else:
                raise AssertionError('the child %d is still there' % child)


@test
def loop_bridge_from_a_hand_written_poll_loop():
    bridge = Psf.LoopBridge.new(None)
    task = Psf.SpawnProcess(argv=['sh', '-c', 'exit 8'])
    assert bridge.start_task(task)
    assert task.get_context() == bridge.get_context()
    iterations = 0
    deadline = time.monotonic() + TIME_LIMIT_S
    while task.returncode is None:
        assert time.monotonic() < deadline
        timeout = bridge.prepare()
        fds = [(bridge.get_fd(i), int(bridge.get_events(i))) for i in range(bridge.get_n_fds())]
        assert fds, 'the context wakeup fd is always there'
        poller = select.poll()
        for fd, events in fds:
            poller.register(fd, events)
        seen = dict(poller.poll(timeout))
        bridge.dispatch([seen.get(fd, 0) for fd, _ in fds])
        iterations += 1
    assert task.returncode == 8
    print('# %d iterations' % iterations)

    # revents must match the fds of the last prepare().
    bridge.prepare()
    try:
        bridge.dispatch([0] * (bridge.get_n_fds() + 1))
    except GLib.Error as e:
        assert e.matches(Psf.Error.quark(), Psf.Error.INVALID_ARGUMENT), e
    else:
        raise AssertionError('a wrong number of revents was taken')
    # Without a prepare(), dispatch() is one iteration that does not wait.
    assert bridge.dispatch(None) in (True, False)


@test
def loop_bridge_refuses_a_context_another_thread_owns():
    context = GLib.MainContext()
    owned = threading.Event()
    release = threading.Event()

    def owner():
        context.acquire()
        owned.set()
        release.wait(TIME_LIMIT_S)
        context.release()

    thread = threading.Thread(target=owner)
    thread.start()
    try:
        owned.wait(TIME_LIMIT_S)
        bridge = Psf.LoopBridge.new(context)
        for call in (bridge.prepare, lambda: bridge.dispatch(None),
                     lambda: bridge.start_task(Psf.SpawnProcess(argv=['true']))):
            try:
                call()
            except GLib.Error as e:
                assert e.matches(Psf.Error.quark(), Psf.Error.INVALID_STATE), e
                assert 'another thread' in e.message, e.message
            else:
                raise AssertionError('a context owned by another thread was driven')
    finally:
        release.set()
        thread.join()


if __name__ == '__main__':
    if not hasattr(Psf, 'LoopBridge'):
        print('1..0 # SKIP the typelib has no Psf.LoopBridge')
        sys.exit(0)
    run()
