# psf.aio: psf tasks in asyncio
#
# SPDX-License-Identifier: LGPL-2.1-or-later

"""psf tasks in any running asyncio loop.

A psf task does its work in a GLib main context; asyncio never runs one.
This module gives every asyncio loop a main context of its own and drives
it from the loop itself, through Psf.LoopBridge: the context's file
descriptors are watched with add_reader()/add_writer() and its timeouts
with call_later(). No thread, no polling, nothing but the loop.

    task = Psf.SyncfsProcess(paths=['/var'])
    task.start()                  # inside a coroutine: tied to this loop
    rc = await task               # or await task.wait_async()
    await task.wait_check_async() # raises GLib.Error if it failed

    rc = await psf.aio.run(Psf.SpawnProcess(argv=['true']))

Works in any thread that runs a loop and in forked children that run one
of their own. Cancelling an await (Ctrl-C under asyncio.run() does) gives
up that wait only, as with asyncio.subprocess; run() cancels the task too.
"""

import asyncio
import os
import weakref

import gi
gi.require_version('Psf', '1')
from gi.repository import Gio, GLib, GObject, Psf  # noqa: E402

__all__ = ['start', 'wait', 'run', 'context']

_IN = int(GLib.IOCondition.IN | GLib.IOCondition.PRI
          | GLib.IOCondition.HUP | GLib.IOCondition.ERR)
_OUT = int(GLib.IOCondition.OUT)

# The loop of this process -> its driver. Weak on the loop: a closed and
# dropped loop takes its context (and the context's wakeup fd) with it.
_homes = weakref.WeakKeyDictionary()
# The loop -> every driver it runs (its own, and those of contexts it runs
# while a wait needs them).
_drivers = weakref.WeakKeyDictionary()


def _forget_parent_loops():
    # A forked child runs loops of its own; the parent's are not running
    # here and their contexts belong to the parent.
    global _homes, _drivers
    _homes = weakref.WeakKeyDictionary()
    _drivers = weakref.WeakKeyDictionary()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_forget_parent_loops)


class _Driver:
    """Runs one GMainContext from one asyncio loop."""

    def __init__(self, loop, context=None):
        self._loop = weakref.ref(loop)
        self.bridge = Psf.LoopBridge.new(context)
        self.context = self.bridge.get_context()
        self._watched = {}       # fd -> (read, write)
        self._timer = None
        self._scheduled = False
        self._closed = False
        _drivers.setdefault(loop, weakref.WeakSet()).add(self)
        self._arm()

    def wake(self):
        """Dispatches soon, from the loop."""
        loop = self._loop()
        if loop is None or self._closed or self._scheduled:
            return
        self._scheduled = True
        loop.call_soon(self._run)

    def _run(self):
        self._scheduled = False
        if self._closed:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.bridge.dispatch(None):
            # What ran may have queued work for another context this loop
            # runs (a waiter's callback, say). GLib wakes a context only
            # when another thread owns it, and this thread owns them all
            # here: so look at the others again.
            loop = self._loop()
            for peer in list(_drivers.get(loop, ())) if loop is not None else ():
                if peer is not self:
                    peer.wake()
        self._arm()

    def _on_timer(self):
        self._timer = None
        self.wake()

    def _arm(self):
        loop = self._loop()
        if loop is None or self._closed or loop.is_closed():
            return
        timeout = self.bridge.prepare()
        wanted = {}
        for i in range(self.bridge.get_n_fds()):
            fd = self.bridge.get_fd(i)
            events = int(self.bridge.get_events(i))
            read, write = wanted.get(fd, (False, False))
            wanted[fd] = (read or bool(events & _IN), write or bool(events & _OUT))
        self._unwatch({fd: rw for fd, rw in self._watched.items() if wanted.get(fd) != rw})
        for fd, (read, write) in wanted.items():
            if self._watched.get(fd) == (read, write):
                continue
            if read:
                loop.add_reader(fd, self.wake)
            if write:
                loop.add_writer(fd, self.wake)
            self._watched[fd] = (read, write)
        if timeout == 0:
            self.wake()
        elif timeout > 0:
            self._timer = loop.call_later(timeout / 1000.0, self._on_timer)

    def _unwatch(self, fds):
        loop = self._loop()
        for fd, (read, write) in fds.items():
            if loop is not None and not loop.is_closed():
                if read:
                    loop.remove_reader(fd)
                if write:
                    loop.remove_writer(fd)
            self._watched.pop(fd, None)

    def close(self):
        self._closed = True
        loop = self._loop()
        if loop is not None and loop in _drivers:
            _drivers[loop].discard(self)
        self._unwatch(dict(self._watched))
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _home(loop):
    driver = _homes.get(loop)
    if driver is None:
        driver = _homes[loop] = _Driver(loop)
    return driver


def context(loop=None):
    """The GLib.MainContext that `loop` (default: the running loop) drives.

    Push it as the thread-default context (or use
    Psf.LoopBridge.start_task()) to start tasks, or attach other GLib
    sources, that the loop then runs.
    """
    if loop is None:
        loop = asyncio.get_running_loop()
    return _home(loop).context


def start(task):
    """Starts `task` in the running loop's context (see context()).

    Task.start() calls this by itself inside a running loop.
    """
    driver = _home(asyncio.get_running_loop())
    started = driver.bridge.start_task(task)
    driver.wake()
    return started


class _ContextUser:
    """Drives the context of a task started elsewhere while a wait needs
    it, if no other thread runs it (then its own loop does)."""

    def __init__(self, loop, context):
        self.driver = None
        if context is None or context == _home(loop).context:
            return
        if not context.acquire():
            return
        context.release()
        self.driver = _Driver(loop, context)

    def release(self):
        if self.driver is not None:
            self.driver.close()
            self.driver = None


async def wait(task, *, check=False, cancellable=None):
    """Waits in the running loop for `task` to exit.

    Returns the returncode; with check=True returns None, or raises the
    GLib.Error of Psf.Task.wait_check_finish() when the task failed.
    Cancelling `cancellable` (a Gio.Cancellable) makes the wait raise
    GLib.Error G_IO_ERROR_CANCELLED; cancelling the awaiting asyncio task
    raises CancelledError. Either way only the wait is given up: the task
    runs on (cancel it with task.cancel()).
    """
    loop = asyncio.get_running_loop()
    home = _home(loop)
    future = loop.create_future()
    ours = Gio.Cancellable()
    link = 0
    if cancellable is not None:
        link = GObject.Object.connect(cancellable, 'cancelled', lambda c: ours.cancel())
        if cancellable.is_cancelled():
            ours.cancel()

    def on_done(source, result, unused=None):
        try:
            if check:
                Psf.Task.wait_check_finish(source, result)
                value = None
            else:
                value = Psf.Task.wait_finish(source, result)
        except GLib.Error as error:
            if not future.done():
                future.set_exception(error)
        else:
            if not future.done():
                future.set_result(value)

    begin = Psf.Task.wait_check_async if check else Psf.Task.wait_async
    # The waiter's callback runs in the context that is the thread-default
    # one now: the loop's. A task running in another context wakes it.
    home.context.push_thread_default()
    try:
        begin(task, ours, on_done)
    finally:
        home.context.pop_thread_default()
    other = _ContextUser(loop, Psf.Task.get_context(task))
    home.wake()
    try:
        return await future
    except asyncio.CancelledError:
        ours.cancel()
        # The waiter leaves the task's list at once; its callback comes from
        # the loop's context, run here so that nothing is left behind.
        for _ in range(100):
            if future.done():
                break
            home.bridge.dispatch(None)
        raise
    finally:
        other.release()
        if link:
            GObject.Object.disconnect(cancellable, link)


async def run(task, *, check=False):
    """Starts `task` and waits for it; the await is cancelled (Ctrl-C under
    asyncio.run()), the task is cancelled too, and its exit awaited before
    CancelledError goes on."""
    if Psf.Task.get_state(task) == Psf.TaskState.NEW:
        start(task)
    try:
        return await wait(task, check=check)
    except asyncio.CancelledError:
        Psf.Task.cancel(task)
        await asyncio.shield(wait(task))
        raise
