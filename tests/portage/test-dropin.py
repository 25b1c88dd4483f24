#!/usr/bin/python3
# test-dropin.py: psf.portage.SyncfsProcess in Portage's own loop, beside Portage's class
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   test-dropin.py [--portage-source DIR]
#
# Portage's lib/ (from --portage-source or $PSF_PORTAGE_SOURCE; skipped
# without one) goes first on sys.path. Where a case says "as Portage", the
# same scenario runs with portage.dbapi._SyncfsProcess.SyncfsProcess and
# with psf.portage.SyncfsProcess, both on Portage's event loop, and what
# a caller can observe must be equal, and equal to what is written here.
# Cases that need an environment of their own from the start (a syncfs()
# that is slow or fails, a missing helper) run this script again in a
# fresh process with --case NAME; it exits 0 when the case holds.

import argparse
import atexit
import errno
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

TESTS = []
ISOLATED = {}


def case(func):
    TESTS.append(func)
    return func


def isolated(**env):
    """Runs the case in a fresh process with `env` added."""
    def wrap(func):
        ISOLATED[func.__name__] = (func, env)
        TESTS.append(func)
        return func
    return wrap


class Failed(Exception):
    pass


def check(good, what):
    if not good:
        raise Failed(what)


def equal(got, wanted, what):
    if got != wanted:
        raise Failed('%s: got %r, wanted %r' % (what, got, wanted))


# ---------------------------------------------------------------------------
# Set-up: Portage on sys.path, both classes, Portage's loop.

def load(source):
    global portage, asyncio, PortageSyncfs, PsfSyncfs, loop, vartree
    sys.path.insert(0, os.path.join(source, 'lib'))
    sys.dont_write_bytecode = True
    import portage  # noqa: F401
    from portage.util.futures import asyncio
    from portage.util._ctypes import load_libc
    from portage.dbapi import vartree
    from portage.dbapi._SyncfsProcess import SyncfsProcess as PortageSyncfs
    from psf.portage import SyncfsProcess as PsfSyncfs
    # As MergeProcess does before it forks.
    load_libc()
    loop = asyncio._safe_loop()


def run_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout

    async def poll():
        while not condition():
            if time.monotonic() > deadline:
                raise Failed('timed out after %.0f s' % timeout)
            await asyncio.sleep(0.005)
    loop.run_until_complete(poll())


def iterate(seconds=0.0):
    loop.run_until_complete(asyncio.sleep(seconds))


def both(scenario):
    """Runs scenario(cls) with Portage's class and psf's; returns psf's
    observations after checking that they equal Portage's."""
    theirs = scenario(PortageSyncfs)
    ours = scenario(PsfSyncfs)
    equal(ours, theirs, 'psf.portage against Portage')
    return ours


def scratch_dir():
    path = tempfile.mkdtemp(prefix='psf-dropin-')
    atexit.register(shutil.rmtree, path, True)
    return path


def fd_count():
    return len(os.listdir('/proc/self/fd'))


class Stderr:
    """Catches what this process and its children write to fd 2."""

    def __enter__(self):
        sys.stderr.flush()
        self.file = tempfile.TemporaryFile()
        self.saved = os.dup(2)
        os.dup2(self.file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        sys.stderr.flush()
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.file.seek(0)
        self.text = self.file.read().decode('utf-8', 'replace')
        self.file.close()


# ---------------------------------------------------------------------------
# Construction

@case
def keywords_are_portages():
    """the same keywords as Portage's SyncfsProcess; an unknown one is a TypeError"""
    def public(cls):
        names = set()
        for klass in cls.__mro__:
            names.update(n for n in getattr(klass, '__slots__', ()) if not n.startswith('_'))
        return sorted(names)
    equal(public(PsfSyncfs), public(PortageSyncfs), 'keywords')

    def unknown(cls):
        try:
            cls(paths=('/tmp',), scheduler=loop, bogus=1)
        except TypeError as error:
            return str(error)
        return None
    check(both(unknown) is not None, 'an unknown keyword was accepted')


@case
def new_task():
    """a new task: no pid, not alive, returncode and poll() None, not cancelled"""
    def scenario(cls):
        p = cls(paths=('/tmp',), scheduler=loop)
        return (p.pid, p.isAlive(), p.returncode, p.poll(), bool(p.cancelled))
    equal(both(scenario), (None, False, None, None, False), 'new task')


# ---------------------------------------------------------------------------
# Lifecycle

@case
def lifecycle():
    """start() returns at once with a child pid; wait() gives 0; the pid stays"""
    def scenario(cls):
        p = cls(paths=('/tmp',), scheduler=loop)
        p.start()
        pid = p.pid
        after_start = (pid is not None and pid > 0 and pid != os.getpid(),
                       p.isAlive(), p.returncode, p.poll())
        rc = p.wait()
        return after_start + (rc, p.returncode, p.isAlive(), p.poll(), p.pid == pid)
    equal(both(scenario), (True, True, None, None, 0, 0, False, 0, True), 'lifecycle')


@case
def paths_of_every_kind():
    """empty, missing, file, symlink, /proc and bytes paths give 0"""
    top = scratch_dir()
    regular = os.path.join(top, 'file')
    open(regular, 'w').close()
    link = os.path.join(top, 'link')
    os.symlink('/dev/shm', link)
    sets = [(), (os.path.join(top, 'missing'),), (regular,), (link,),
            ('/proc', '/proc/self'), (os.fsencode(top), '/tmp', '/tmp', '/tmp/')]

    def scenario(cls):
        out = []
        for paths in sets:
            p = cls(paths=paths, scheduler=loop)
            p.start()
            out.append(p.wait())
        return out
    equal(both(scenario), [0] * len(sets), 'returncodes')


@case
def non_utf8_paths():
    """a file name that is not UTF-8, as bytes and as str, is synced"""
    top = scratch_dir()
    name = os.path.join(os.fsencode(top), b'caf\xe9-\xff')
    os.mkdir(name)

    def scenario(cls):
        out = []
        for path in (name, os.fsdecode(name)):
            p = cls(paths=(path,), scheduler=loop)
            p.start()
            out.append(p.wait())
        return out
    equal(both(scenario), [0, 0], 'returncodes')
    p = PsfSyncfs(paths=(name,), scheduler=loop)
    p.start()
    p.wait()
    result = p.results[0]
    equal(result.path_bytes, name, 'the path psf synced')
    equal(result.status.value_nick, 'synced', 'its status')


@case
def bad_input_gives_1():
    """paths=None, a NUL byte, an int, args for the child: returncode 1, as Portage"""
    def scenario(cls):
        out = []
        for kwargs in ({'paths': None}, {'paths': (b'/tmp\0x',)}, {'paths': (1,)},
                       {'paths': ('/tmp',), 'args': ('x',)}):
            p = cls(scheduler=loop, **kwargs)
            # Portage's child prints a traceback, psf.portage a warning.
            with Stderr() as stderr:
                p.start()
                out.append((p.wait(), p.isAlive()))
            check(stderr.text, 'nothing was said about %r' % (kwargs,))
        return out
    equal(both(scenario), [(1, False)] * 4, 'returncodes')


@case
def spawn_keywords_ignored():
    """uid, gid, umask, env, pre_exec are accepted and ignored, as Portage"""
    top = scratch_dir()
    marker = os.path.join(top, 'pre_exec-ran')

    def scenario(cls):
        p = cls(paths=(top,), scheduler=loop, uid=65534, gid=65534, umask=0o777,
                env={}, pre_exec=lambda: open(marker, 'w').close(), unshare_net=True,
                target=lambda: 7)
        p.start()
        return (p.wait(), os.path.exists(marker))
    equal(both(scenario), (0, False), 'returncode, pre_exec ran')


# ---------------------------------------------------------------------------
# Listeners

@case
def listener_order():
    """start listeners later, with the pid; exit listeners FIFO around async_wait()"""
    def scenario(cls):
        events = []
        p = cls(paths=('/tmp',), scheduler=loop)
        p.addStartListener(lambda t: events.append(('start1', t.pid is not None, t.returncode)))
        p.addStartListener(lambda t: events.append(('start2', t.isAlive())))
        p.addExitListener(lambda t: events.append(('L1', t.returncode)))
        waiter = p.async_wait()
        waiter.add_done_callback(lambda f: events.append(('future', f.result())))
        p.addExitListener(lambda t: events.append(('L2', t.returncode)))
        dup = lambda t: events.append(('dup', t.returncode))  # noqa: E731
        p.addExitListener(dup)
        p.addExitListener(dup)
        p.start()
        during_start = list(events)
        run_until(waiter.done)
        iterate()
        return during_start, events
    during_start, events = both(scenario)
    equal(during_start, [], 'listeners called inside start()')
    equal(events, [('start1', True, None), ('start2', True), ('L1', 0), ('L2', 0),
                   ('dup', 0), ('future', 0)], 'listener calls')


@case
def wait_runs_listeners():
    """when wait() returns, the start and exit listeners added before it have run"""
    def scenario(cls):
        calls = []
        p = cls(paths=('/tmp',), scheduler=loop)
        p.addStartListener(lambda t: calls.append(('start', t.returncode)))
        p.addExitListener(lambda t: calls.append(('exit', t.returncode)))
        p.start()
        rc = p.wait()
        return rc, calls
    equal(both(scenario), (0, [('start', None), ('exit', 0)]), 'returncode, calls')


@case
def listeners_after_exit():
    """listeners added after the exit run on the next iteration, again when re-added"""
    def scenario(cls):
        calls = []
        p = cls(paths=('/tmp',), scheduler=loop)
        p.start()
        p.wait()
        listener = lambda t: calls.append(('exit', t.returncode))  # noqa: E731
        p.addExitListener(listener)
        p.addStartListener(lambda t: calls.append(('start', t.returncode)))
        synchronous = list(calls)
        iterate()
        p.addExitListener(listener)
        iterate()
        return synchronous, calls
    synchronous, calls = both(scenario)
    equal(synchronous, [], 'calls inside add*Listener()')
    equal(calls, [('exit', 0), ('start', 0), ('exit', 0)], 'calls')


@case
def remove_listeners():
    """a removed exit listener is not called; one removed by another neither"""
    def scenario(cls):
        calls = []
        p = cls(paths=('/tmp',), scheduler=loop)
        a = lambda t: calls.append('A')  # noqa: E731
        c = lambda t: calls.append('C')  # noqa: E731
        gone = lambda t: calls.append('gone')  # noqa: E731
        r = lambda t: (calls.append('R'), t.removeExitListener(c))  # noqa: E731
        b = lambda t: calls.append('B')  # noqa: E731
        for f in (a, r, b, c, gone):
            p.addExitListener(f)
        p.removeExitListener(gone)
        p.removeExitListener(lambda t: None)
        p.start()
        p.wait()
        iterate()
        return calls
    equal(both(scenario), ['A', 'R', 'B'], 'calls')


# ---------------------------------------------------------------------------
# wait, async_wait, poll

@case
def wait_in_running_loop():
    """wait() inside the running loop: InvalidStateError, then the returncode once done"""
    def scenario(cls):
        p = cls(paths=('/tmp',), scheduler=loop)
        out = []

        async def inside():
            p.start()
            try:
                p.wait()
                out.append('returned')
            except asyncio.InvalidStateError:
                out.append('InvalidStateError')
            await p.async_wait()
            out.append(p.wait())
        loop.run_until_complete(inside())
        return out
    equal(both(scenario), ['InvalidStateError', 0], 'wait() in the loop')


@case
def async_wait_before_and_after():
    """async_wait() before start() and after the exit; a cancelled one detaches"""
    def scenario(cls):
        p = cls(paths=('/tmp',), scheduler=loop)
        early = p.async_wait()
        dropped = p.async_wait()
        dropped.cancel()
        iterate()
        p.start()
        run_until(early.done)
        late = p.async_wait()
        late_done_at_once = late.done()
        run_until(late.done)
        return (early.result(), dropped.cancelled(), late_done_at_once, late.result())
    equal(both(scenario), (0, True, False, 0), 'async_wait')


@case
def poll_never_reaps():
    """poll() stays None until the loop has seen the exit, as Portage"""
    def scenario(cls):
        p = cls(paths=('/tmp',), scheduler=loop)
        p.start()
        time.sleep(0.3)   # the child is done by now; nothing iterated
        before = (p.poll(), p.isAlive(), p.returncode)
        p.wait()
        return before + (p.poll(),)
    equal(both(scenario), (None, True, None, 0), 'poll')


# ---------------------------------------------------------------------------
# Cancellation

@case
def cancel_after_exit():
    """cancel() after the exit: cancelled, returncode kept"""
    def scenario(cls):
        p = cls(paths=('/tmp',), scheduler=loop)
        p.start()
        p.wait()
        p.cancel()
        iterate()
        return (bool(p.cancelled), p.returncode, p.poll())
    equal(both(scenario), (True, 0, 0), 'after cancel')


@case
def cancel_before_start():
    """cancel() before start(): marked only; start() still runs the child (Portage's quirk)"""
    def scenario(cls):
        p = cls(paths=('/tmp',), scheduler=loop)
        p.cancel()
        marked = (bool(p.cancelled), p.returncode, p.isAlive())
        p.start()
        return marked + (p.pid is not None, p.wait())
    equal(both(scenario), (True, None, False, True, 0), 'cancel before start')


@isolated(PSF_SHIM_SYNCFS_DELAY_MS='3000')
def cancel_running():
    """cancel() while syncfs() runs: returns at once, then -SIGTERM, listeners once"""
    events = []
    p = PsfSyncfs(paths=('/tmp',), scheduler=loop)
    p.addStartListener(lambda t: events.append('start'))
    p.addExitListener(lambda t: events.append(('exit', t.returncode)))
    p.start()
    iterate(0.2)
    check(p.isAlive(), 'the child ended before cancel()')
    t0 = time.monotonic()
    p.cancel()
    p.cancel()
    spent = time.monotonic() - t0
    check(spent < 0.1, 'cancel() took %.3f s' % spent)
    equal(p.returncode, None, 'returncode right after cancel()')
    rc = p.wait()
    iterate()
    equal((rc, bool(p.cancelled)), (-15, True), 'returncode, cancelled')
    equal(events, ['start', ('exit', -15)], 'listener calls')


@isolated(PSF_SHIM_SYNCFS_DELAY_MS='700')
def cancel_before_start_uncancellable():
    """after cancel() before start(), a second cancel() stops nothing (Portage's quirk)"""
    p = PsfSyncfs(paths=('/tmp',), scheduler=loop)
    p.cancel()
    p.start()
    iterate(0.1)
    p.cancel()
    iterate(0.3)
    check(p.isAlive(), 'the child was stopped')
    equal(p.wait(), 0, 'returncode')


# ---------------------------------------------------------------------------
# Failures and vartree's fallback

class _Settings:
    features = frozenset(['merge-sync'])


class _Dblink:
    """What dblink._post_merge_sync reads of its dblink."""

    def __init__(self, paths):
        self._device_path_map = {i: p for i, p in enumerate(paths)}
        self._device_path_map[len(paths)] = False
        self.settings = _Settings()
        self._scheduler = None


def post_merge_sync(paths, cls):
    """Runs Portage's dblink._post_merge_sync with `cls` switched in (what
    the one-line change does) and os.sync() counted; returns the
    returncodes the class had and the number of os.sync() calls."""
    from portage.dbapi import _SyncfsProcess
    syncs = []
    made = []

    class Counted(cls):
        __slots__ = ()

        def start(self):
            made.append(self)
            super().start()

    class Os:
        def __getattr__(self, name):
            return getattr(os, name)

        @staticmethod
        def sync():
            syncs.append(1)

    saved = (_SyncfsProcess.SyncfsProcess, vartree.os)
    _SyncfsProcess.SyncfsProcess = Counted
    vartree.os = Os()
    try:
        vartree.dblink._post_merge_sync(_Dblink(paths))
    finally:
        _SyncfsProcess.SyncfsProcess, vartree.os = saved
    return [p.returncode for p in made], len(syncs)


@case
def post_merge_sync_switched():
    """dblink._post_merge_sync with psf: returncode 0 and no os.sync()"""
    equal(post_merge_sync(['/tmp', scratch_dir()], PsfSyncfs), ([0], 0), 'returncodes, os.sync()')
    equal(post_merge_sync(['/tmp'], PortageSyncfs), ([0], 0), "with Portage's class")


@isolated(PSF_CHILD_PATH='/nonexistent/psf-child')
def failed_start_falls_back():
    """a child that cannot be made: returncode 1, a warning, os.sync() in _post_merge_sync"""
    p = PsfSyncfs(paths=('/tmp',), scheduler=loop)
    exits = []
    p.addExitListener(lambda t: exits.append(t.returncode))
    with Stderr() as stderr:
        p.start()
    check('/nonexistent/psf-child' in stderr.text, 'the warning %r names no helper' % stderr.text)
    equal((p.returncode, p.isAlive(), p.pid), (1, False, None), 'after a failed start()')
    iterate()
    equal(exits, [1], 'exit listener calls')
    equal(post_merge_sync(['/tmp'], PsfSyncfs), ([1], 1), 'returncodes, os.sync()')


@isolated(PSF_SHIM_SYNCFS_ERRNO='EIO')
def failed_syncfs_falls_back():
    """syncfs() fails with EIO: returncode 1, the error in the results, os.sync()"""
    p = PsfSyncfs(paths=('/tmp',), scheduler=loop)
    p.start()
    equal(p.wait(), 1, 'returncode')
    result = p.results[0]
    equal((result.status.value_nick, result.errno), ('failed', errno.EIO), 'result')
    equal(post_merge_sync(['/tmp'], PsfSyncfs), ([1], 1), 'returncodes, os.sync()')


# ---------------------------------------------------------------------------
# Forks and fds

@case
def merge_process_child():
    """in a child forked the way MergeProcess forks, after psf ran in the parent"""
    from portage.util._async.ForkProcess import ForkProcess

    p = PsfSyncfs(paths=('/tmp',), scheduler=loop)
    p.start()
    equal(p.wait(), 0, "the parent's returncode")

    def merge():
        made, syncs = post_merge_sync(['/tmp', '/proc'], PsfSyncfs)
        return 0 if (made, syncs) == ([0], 0) else 3

    child = ForkProcess(target=merge, scheduler=loop, background=True)
    child.start()
    equal(child.wait(), 0, "the forked child's exit status (3: psf failed there)")
    p = PsfSyncfs(paths=('/tmp',), scheduler=loop)
    p.start()
    equal(p.wait(), 0, 'the returncode in the parent after the fork')


@case
def no_fd_left():
    """20 finished tasks, kept or dropped, blocked on or awaited, hold no fd"""
    p = PsfSyncfs(paths=('/tmp',), scheduler=loop)
    p.start()
    p.wait()
    del p
    iterate()
    before = fd_count()
    kept = []
    for i in range(20):
        p = PsfSyncfs(paths=('/tmp',), scheduler=loop)
        if i % 2:
            p.addExitListener(lambda t: None)
        p.start()
        p.wait()
        kept.append(p)
    iterate()
    equal(fd_count(), before, 'open fds with the tasks kept')
    equal([p.returncode for p in kept], [0] * 20, 'returncodes')
    del kept, p
    iterate()
    equal(fd_count(), before, 'open fds')


# ---------------------------------------------------------------------------

def run_case(func):
    try:
        func()
    except Failed as failure:
        return str(failure)
    except Exception:
        return traceback.format_exc()
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--portage-source', default='')
    parser.add_argument('--case', default='')
    args = parser.parse_args()
    source = args.portage_source or os.environ.get('PSF_PORTAGE_SOURCE', '')

    if args.case:
        load(source)
        failure = run_case(ISOLATED[args.case][0])
        if failure:
            print(failure)
        return 1 if failure else 0

    if not source:
        print('1..0 # SKIP no Portage source: configure with -Dportage_source=DIR '
              'or set PSF_PORTAGE_SOURCE')
        return 0
    if not os.path.isfile(os.path.join(source, 'lib', 'portage', '__init__.py')):
        print('1..0 # SKIP %s is not a Portage source tree (no lib/portage)' % source)
        return 0
    load(source)

    print('1..%d' % len(TESTS))
    failed = 0
    for n, func in enumerate(TESTS, 1):
        name = func.__name__
        if name in ISOLATED:
            env = dict(os.environ)
            env.update(ISOLATED[name][1])
            if 'PSF_SHIM_SYNCFS_DELAY_MS' in env or 'PSF_SHIM_SYNCFS_ERRNO' in env:
                shim = os.environ.get('PSF_TEST_FAULT_SHIM')
                if not shim:
                    print('ok %d - %s # SKIP the fault shim was not built' % (n, name))
                    continue
                env['LD_PRELOAD'] = shim
            proc = subprocess.run([sys.executable, os.path.abspath(__file__),
                                   '--portage-source', source, '--case', name],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            failure = None
            if proc.returncode != 0:
                failure = proc.stdout.decode('utf-8', 'replace') or 'exit status %d' % proc.returncode
        else:
            failure = run_case(func)
        doc = func.__doc__.strip()
        if failure:
            failed += 1
            print('not ok %d - %s: %s' % (n, name, doc))
            for line in failure.splitlines():
                print('# ' + line)
        else:
            print('ok %d - %s: %s' % (n, name, doc))
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
