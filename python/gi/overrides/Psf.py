# Psf.py: PyGObject overrides that make psf read like Python
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Loaded by PyGObject for `from gi.repository import Psf` from any
# gi/overrides directory on sys.path. Everything of the C API stays as it
# is (get_returncode(), props.*, wait_async() with a callback, ...); what is
# added or changed follows Python's subprocess and asyncio:
#
#   task.returncode        None until the exit, then the C returncode
#   task.pid               None before start(), then the child's pid
#   task.poll()            None while running, else the returncode (never reaps)
#   task.wait()            the returncode; Ctrl-C raises KeyboardInterrupt at
#                          once and leaves the task running and usable
#   await task, await task.wait_async(), await task.wait_check_async()
#                          in a running asyncio loop (see psf.aio)
#   task.start()           inside a running asyncio loop, the task is tied to
#                          that loop (unless a context was pushed)
#   started/exited (and SyncfsProcess's path-done) handlers are let go
#                          once the task has exited, so a handler that
#                          closes over its task makes no cycle
#   SyncfsProcess(paths=...) and set_paths() take str, bytes, os.PathLike
#   SyncfsResult           repr/str, .path, .status, .errno, .device (major,
#                          minor), .device_text "254:0"

import os
import select
import signal
import socket
import sys
import threading

from ..module import get_introspection_module
from ..overrides import override
from gi.repository import GLib

Psf = get_introspection_module('Psf')

__all__ = []

_ONCE_SIGNALS = ('started', 'exited')
# Emitted any number of times, but never after the exit.
_UNTIL_EXIT_SIGNALS = ('path-done',)


def _running_asyncio_loop():
    """The asyncio loop running in this thread and process, or None."""
    asyncio = sys.modules.get('asyncio')
    if asyncio is None:
        return None
    return asyncio._get_running_loop()


class _OnceHandler:
    """A started/exited handler that lets go of the callable once called.

    Each of those signals is emitted at most once, so after the exit the
    handler can never run again; dropping the callable then breaks the
    cycle task -> closure -> task that a handler closing over its task
    would otherwise keep until the cyclic GC runs (and with it the task's
    file descriptors). The handler id stays valid for disconnect().
    """

    __slots__ = ('func', 'args')

    def __init__(self, func, args):
        self.func = func
        self.args = args

    def release(self):
        self.func = None
        self.args = ()

    def __call__(self, *signal_args):
        func, args = self.func, self.args
        if func is None:
            return None
        try:
            return func(*(signal_args + args))
        finally:
            self.release()


class _UntilExitHandler(_OnceHandler):
    """A handler of a signal that comes any number of times while the task
    runs, never after: it keeps the callable until the exit (see
    _OnceHandler)."""

    __slots__ = ()

    def __call__(self, *signal_args):
        func, args = self.func, self.args
        if func is None:
            return None
        return func(*(signal_args + args))


def _release_until_exit_handlers(task, *unused):
    for handler in task.__dict__.pop('_psf_until_exit_handlers', ()):
        handler.release()


def _fs_path(path):
    path = os.fspath(path)
    if not isinstance(path, (str, bytes)):
        raise TypeError('a path must be str, bytes or os.PathLike, not %s'
                        % type(path).__name__)
    return path


def _fs_paths(paths):
    if paths is None:
        return None
    if isinstance(paths, (str, bytes)) or hasattr(paths, '__fspath__'):
        raise TypeError('paths must be a list of paths, not a single path')
    return [_fs_path(p) for p in paths]


class Task(Psf.Task):

    @property
    def returncode(self):
        """The returncode, or None while the task has not exited."""
        rc = Psf.Task.get_returncode(self)
        return None if rc == Psf.RETURNCODE_NONE else rc

    def poll(self):
        """The returncode if the exit was observed, else None.

        Like subprocess.Popen.poll(), but it never reaps: the exit is seen
        once the task's main context has run.
        """
        done, rc = Psf.Task.poll(self)
        return rc if done else None

    def start(self):
        """Starts the task; see Psf.Task.start().

        Inside a running asyncio loop, when no main context was pushed as
        the thread-default one, the task is started in a context that the
        loop drives (psf.aio), so its signals and waiters run in the loop.
        """
        loop = _running_asyncio_loop()
        if loop is not None and GLib.MainContext.get_thread_default() is None:
            from psf import aio
            return aio.start(self)
        return Psf.Task.start(self)

    def wait(self):
        """Blocks until the task has exited and returns the returncode.

        In the main thread the wait can be interrupted by a signal: a
        Python signal handler runs at once (Ctrl-C raises KeyboardInterrupt)
        and the task stays as it was, to be waited for again or cancelled.
        Errors as Psf.Task.wait().
        """
        if (Psf.Task.get_state(self) != Psf.TaskState.RUNNING
                or threading.current_thread() is not threading.main_thread()):
            return Psf.Task.wait(self)
        context = Psf.Task.get_context(self)
        if GLib.main_depth() > 0 and context.is_owner():
            return Psf.Task.wait(self)
        if not context.acquire():
            return Psf.Task.wait(self)
        try:
            _wait_interruptibly(self, context)
        finally:
            context.release()
        return Psf.Task.get_returncode(self)

    def wait_async(self, cancellable=None, callback=None, *user_data):
        """With a callback: Psf.Task.wait_async(). Without: an awaitable
        for a running asyncio loop that gives the returncode."""
        if callback is None:
            from psf import aio
            return aio.wait(self, cancellable=cancellable)
        return Psf.Task.wait_async(self, cancellable, callback, *user_data)

    def wait_check_async(self, cancellable=None, callback=None, *user_data):
        """With a callback: Psf.Task.wait_check_async(). Without: an
        awaitable that gives None or raises the task's GLib.Error."""
        if callback is None:
            from psf import aio
            return aio.wait(self, check=True, cancellable=cancellable)
        return Psf.Task.wait_check_async(self, cancellable, callback, *user_data)

    def __await__(self):
        from psf import aio
        return aio.wait(self).__await__()

    def _connect_once(self, connect, detailed_signal, handler, args):
        name = detailed_signal.split('::', 1)[0].replace('_', '-')
        if name not in _ONCE_SIGNALS + _UNTIL_EXIT_SIGNALS or not callable(handler):
            return connect(self, detailed_signal, handler, *args)
        if name in _ONCE_SIGNALS:
            once = _OnceHandler(handler, args)
        else:
            once = _UntilExitHandler(handler, args)
        if Psf.Task.get_state(self) == Psf.TaskState.EXITED:
            # None of them comes after the exit: nothing to hold on to.
            once.release()
        elif name != 'exited':
            # A task cancelled before start() never emits ::started, and
            # ::path-done may come many times: their handlers are let go at
            # the exit.
            handlers = self.__dict__.get('_psf_until_exit_handlers')
            if handlers is None:
                handlers = self.__dict__['_psf_until_exit_handlers'] = []
                Psf.Task.connect(self, 'exited', _release_until_exit_handlers)
            handlers.append(once)
        return connect(self, detailed_signal, once)

    def connect(self, detailed_signal, handler, *args):
        return self._connect_once(Psf.Task.connect, detailed_signal, handler, args)

    def connect_after(self, detailed_signal, handler, *args):
        return self._connect_once(Psf.Task.connect_after, detailed_signal, handler, args)

    def __repr__(self):
        state = Psf.Task.get_state(self).value_nick
        extra = ''
        if isinstance(self, Psf.Subprocess) and Psf.Subprocess.get_pid(self) > 0:
            extra += ' pid=%d' % Psf.Subprocess.get_pid(self)
        if self.returncode is not None:
            extra += ' returncode=%d' % self.returncode
        module = type(self).__module__
        if module.startswith('gi.'):
            module = 'Psf'
        return '<%s.%s %s%s at 0x%x>' % (module, type(self).__name__, state, extra, id(self))


Task = override(Task)
__all__.append('Task')


def _wait_interruptibly(task, context):
    """Iterates @context until @task has exited, in poll() calls that a
    signal interrupts: Python runs its handler as soon as poll() returns,
    and an exception it raises (KeyboardInterrupt) leaves this loop with
    nothing of the task changed."""
    # The bridge holds the context from prepare() to dispatch(); dropped in
    # the finally below even when a signal handler raised in between.
    bridge = Psf.LoopBridge.new(context)
    wake_r, wake_w = socket.socketpair()
    try:
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        # A signal delivered to another thread only sets a flag; the wakeup
        # fd makes this thread's poll() return so the handler runs here.
        old_wakeup = signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
        try:
            while Psf.Task.get_state(task) != Psf.TaskState.EXITED:
                timeout = bridge.prepare()
                fds = [(bridge.get_fd(i), int(bridge.get_events(i)))
                       for i in range(bridge.get_n_fds())]
                poller = select.poll()
                wanted = {}
                for fd, events in fds:
                    wanted[fd] = wanted.get(fd, 0) | events
                for fd, events in wanted.items():
                    poller.register(fd, events)
                poller.register(wake_r.fileno(), select.POLLIN)
                seen = dict(poller.poll(timeout))
                if wake_r.fileno() in seen:
                    try:
                        while wake_r.recv(64):
                            pass
                    except BlockingIOError:
                        pass
                bridge.dispatch([seen.get(fd, 0) for fd, _ in fds])
        finally:
            # Python cannot tell how the previous one was set: asyncio's
            # (the usual one) had the default.
            signal.set_wakeup_fd(old_wakeup)
    finally:
        bridge = None
        wake_r.close()
        wake_w.close()


class Subprocess(Psf.Subprocess):

    @property
    def pid(self):
        """The child's pid, or None before start()."""
        pid = Psf.Subprocess.get_pid(self)
        return pid if pid > 0 else None


Subprocess = override(Subprocess)
__all__.append('Subprocess')


class SyncfsProcess(Psf.SyncfsProcess):

    def __init__(self, paths=None, **kwargs):
        super().__init__(**kwargs)
        if paths is not None:
            self.set_paths(paths)

    @classmethod
    def new(cls, paths=None):
        return cls(paths=paths)

    def set_paths(self, paths):
        """Sets the paths: a list of str, bytes or os.PathLike; a name that
        is not UTF-8 works as bytes or as the str os.fsdecode() gives."""
        Psf.SyncfsProcess.set_paths(self, _fs_paths(paths))

    @property
    def paths(self):
        """The paths as str (os.fsdecode() of the bytes)."""
        return list(Psf.SyncfsProcess.get_paths(self) or [])

    @property
    def results(self):
        """The per-path results (Psf.SyncfsProcess.get_results())."""
        return list(Psf.SyncfsProcess.get_results(self) or [])


SyncfsProcess = override(SyncfsProcess)
__all__.append('SyncfsProcess')


class SyncfsResult(Psf.SyncfsResult):

    @property
    def path(self):
        """The path, as str (os.fsdecode() of its bytes)."""
        return Psf.SyncfsResult.get_path(self)

    @property
    def path_bytes(self):
        """The path as the bytes of the file name."""
        return os.fsencode(Psf.SyncfsResult.get_path(self))

    @property
    def status(self):
        return Psf.SyncfsResult.get_status(self)

    @property
    def errno(self):
        """The errno recorded for the path, 0 for none."""
        return Psf.SyncfsResult.get_errno(self)

    @property
    def device(self):
        """The filesystem's device as (major, minor), or None when the path
        could not be looked at."""
        dev = Psf.SyncfsResult.get_device(self)
        return (os.major(dev), os.minor(dev)) if dev != 0 else None

    @property
    def device_text(self):
        """The device as "major:minor" (as in /proc/self/mountinfo)."""
        dev = Psf.SyncfsResult.get_device(self)
        return '%d:%d' % (os.major(dev), os.minor(dev))

    def __str__(self):
        return Psf.SyncfsResult.to_string(self)

    def __repr__(self):
        text = '<Psf.SyncfsResult %r %s device=%r' % (
            self.path, self.status.value_nick.upper(), self.device)
        if self.errno:
            text += ' errno=%d (%s)' % (self.errno, os.strerror(self.errno))
        return text + '>'


SyncfsResult = override(SyncfsResult)
__all__.append('SyncfsResult')
