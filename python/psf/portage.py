# psf.portage: psf's SyncfsProcess for Portage
#
# SPDX-License-Identifier: LGPL-2.1-or-later

"""A drop-in for Portage's portage.dbapi._SyncfsProcess.SyncfsProcess.

Portage flushes the filesystems it merged into with a SyncfsProcess: a
fork of the whole emerge process that looks libc up through ctypes and
calls syncfs() per path. psf.portage.SyncfsProcess takes the same
arguments and keeps the same contract for Portage's callers, but the work
is a Psf.SyncfsProcess: a small child made by psf. The task gets a GLib
main context of its own, which Portage's event loop runs (its fds with
add_reader(), its timeouts with call_later(): psf.aio's driver);
wait() with the loop idle and no listener, which is how
dblink._post_merge_sync waits, waits for the psf task directly.

Switching is one line in dblink._post_merge_sync (portage/dbapi/vartree.py):

    from psf.portage import SyncfsProcess

The class is a Portage AsynchronousTask, so start and exit listeners,
async_wait(), wait() (asyncio.InvalidStateError inside the running loop),
poll(), cancel() and returncode behave exactly as Portage's own tasks do.
What follows Portage on purpose, oddities included:

  - cancel() before start() only marks the task cancelled: a later start()
    still runs the child, and a second cancel() does nothing.
  - The spawn keywords of ForkProcess (env, uid, gid, groups, umask,
    pre_exec, unshare_*, fd_pipes, logfile, ...) are accepted and ignored,
    and so is target.
  - A cancelled child ends with -SIGTERM; there is no SIGKILL after a delay.
  - Input Portage's child would fail on (paths=None, an element that is no
    path, a NUL byte, args or kwargs for the child function) gives
    returncode 1, so the caller falls back to os.sync().

Where the outcome differs, it is psf's design: one syncfs() per
filesystem instead of per path, a FIFO or device node is never opened (its
directory's filesystem is synced), and a child that cannot be created is
not an exception from start() but returncode 1 with a warning on stderr:
_post_merge_sync then falls back to os.sync() instead of failing the merge.
"""

import os
import sys
import threading

import gi
gi.require_version('Psf', '1')
from gi.repository import GLib, Psf  # noqa: E402

from _emerge.AsynchronousTask import AsynchronousTask  # noqa: E402

from . import aio  # noqa: E402

__all__ = ['SyncfsProcess']

# The returncode of a task that could not run: what Portage's child
# returns when syncfs() is missing or failed.
FAILED_RETURNCODE = 1

# The public keywords of Portage's SyncfsProcess besides those of
# AsynchronousTask (background, cancelled, returncode, scheduler).
_FORK_KEYWORDS = (
    'args', 'close_fds', 'create_pipe', 'env', 'fd_pipes', 'gid', 'groups',
    'kwargs', 'log_filter_file', 'logfile', 'opt_name', 'path_lookup',
    'pre_exec', 'target', 'uid', 'umask', 'unshare_ipc', 'unshare_mount',
    'unshare_net', 'unshare_pid',
)

# Per thread, the bridges of contexts that no task uses any more, to start
# the next task in: a context costs an eventfd and some allocations, which
# is a fair part of a sync. Never shared by two running tasks (each has its
# own watch on its context's fds), never used across fork().
_spare = threading.local()


def _take_bridge():
    if getattr(_spare, 'pid', None) == os.getpid() and _spare.bridges:
        return _spare.bridges.pop()
    return Psf.LoopBridge.new(None)


def _give_back(bridge):
    if getattr(_spare, 'pid', None) != os.getpid():
        _spare.pid = os.getpid()
        _spare.bridges = []
    if len(_spare.bridges) < 4:
        _spare.bridges.append(bridge)


def _asyncio_loop(scheduler):
    """The asyncio loop behind a Portage scheduler: an AsyncioEventLoop or
    a SchedulerInterface (both have _loop), or an asyncio loop itself."""
    loop = getattr(scheduler, '_loop', None)
    return scheduler if loop is None else loop


class SyncfsProcess(AsynchronousTask):
    """Syncs the filesystems that hold `paths` in a psf child; see the
    module's documentation."""

    __slots__ = ('paths',) + _FORK_KEYWORDS + (
        '_psf', '_pid', '_bridge', '_watch', '_watching', '_listened')

    @property
    def pid(self):
        """The child's pid, None before start(); kept after the exit."""
        return self._pid

    @property
    def results(self):
        """psf's per-path results (Psf.SyncfsResult) once the task has
        exited, else an empty list. Not in Portage."""
        if self._psf is None or self.returncode is None:
            return []
        return self._psf.results

    def isAlive(self):
        return self._pid is not None and self.returncode is None

    def _start(self):
        # Without a scheduler (an AttributeError here) nothing is started.
        loop = _asyncio_loop(self.scheduler)
        loop.add_reader
        try:
            task = self._make_task()
            bridge = _take_bridge()
            bridge.start_task(task)
        except (GLib.Error, TypeError, ValueError) as error:
            self._fail(error)
            return
        self._psf = task
        self._pid = task.pid
        self._bridge = bridge
        # The task's context is its own while it runs; the loop runs it
        # (psf.aio's driver) from its next iteration, so a caller that
        # waits with the loop idle never needs that watch at all.
        self._watching = loop.call_soon(self._watch_context)

    def _watch_context(self):
        self._watching = None
        if self.returncode is None:
            self._watch = aio._Driver(_asyncio_loop(self.scheduler),
                                      self._bridge.get_context())

    def _unwatch(self):
        if self._watching is not None:
            self._watching.cancel()
            self._watching = None
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def _make_task(self):
        if self.paths is None:
            raise TypeError('paths is None')
        if self.args or self.kwargs:
            raise TypeError('the syncfs child takes no args or kwargs')
        # As Portage: SIGTERM only, never SIGKILL after a delay.
        task = Psf.SyncfsProcess(paths=self.paths, cancel_timeout=0)
        task.connect('exited', self._psf_exited)
        return task

    def _fail(self, error):
        message = error.message if isinstance(error, GLib.Error) else str(error)
        sys.stderr.write('!!! psf.portage.SyncfsProcess: %s\n' % message)
        self.returncode = FAILED_RETURNCODE
        self._async_wait()

    def _psf_exited(self, task, returncode):
        self._unwatch()
        _give_back(self._bridge)
        self._bridge = None
        self.returncode = returncode
        self._async_wait()

    def addStartListener(self, f):
        self._listened = True
        super().addStartListener(f)

    def addExitListener(self, f):
        self._listened = True
        super().addExitListener(f)

    def wait(self):
        if (self.returncode is None and self._bridge is not None
                and not self._listened and not self.scheduler.is_running()):
            # A caller that blocks and listens to nothing, as
            # dblink._post_merge_sync: there is nothing for the loop to
            # run, so wait for the psf task itself, in its own context.
            # With listeners the loop runs, as in Portage, so that they
            # are called in the same order and have run when wait() returns.
            self._unwatch()
            try:
                self._psf.wait()
            except BaseException:
                # Ctrl-C: the task runs on, watched by the loop again.
                if self.returncode is None:
                    self._watch_context()
                raise
        return super().wait()

    def _cancel(self):
        # Before start(), as in Portage, there is nothing to stop yet (and
        # start() will not look at `cancelled`); after the exit neither.
        if self._psf is not None and self.returncode is None:
            self._psf.cancel()

    def _async_wait(self):
        # The returncode is set: schedule the start and exit listeners.
        self._wait_hook()
