#!/usr/bin/python3
# test-psf.py: psf from Python through GObject Introspection (PyGObject 3.42)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run by `meson test --suite bindings` with /usr/bin/python3 (Debian's, the
# one with `gi`), GI_TYPELIB_PATH and LD_LIBRARY_PATH pointing at the build
# tree, PSF_CHILD_PATH at the helper, and LD_PRELOAD of the fault shim
# (tests/faults/fault-shim.c: syncfs() fails with PSF_SHIM_SYNCFS_ERRNO when set,
# else it is the real one). Prints TAP. PyGObject 3.42 has no asyncio
# integration: the asynchronous cases run a GLib.MainLoop with callbacks.

import errno
import os
import shutil
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from psftap import Skip, require_gi, run, test  # noqa: E402

require_gi(GLib='2.0', Gio='2.0', GObject='2.0', Psf='1')
from gi.repository import GLib, Gio, GObject, Psf  # noqa: E402

LOOP_TIMEOUT_S = 30


class Raised:
    """An exception that ended a main loop, to re-raise outside it."""

    def __init__(self, exc):
        self.exc = exc


def run_loop(start, timeout_s=LOOP_TIMEOUT_S):
    """Runs a fresh GLib.MainLoop; start(done) sets things up and calls
    done(value) from a callback. Returns the value (an expected GLib.Error
    is a value too); an exception in start() or a guarded callback, or the
    time limit, is raised."""
    loop = GLib.MainLoop()
    box = {}

    def done(value):
        box.setdefault('value', value)
        loop.quit()

    def expired():
        box.setdefault('value', Raised(AssertionError('main loop timed out after %d s' % timeout_s)))
        loop.quit()
        return GLib.SOURCE_REMOVE

    def begin():
        try:
            start(done)
        except BaseException as e:  # noqa: B902
            done(Raised(e))
        return GLib.SOURCE_REMOVE

    timer = GLib.timeout_add_seconds(timeout_s, expired)
    GLib.idle_add(begin)
    loop.run()
    if GLib.MainContext.default().find_source_by_id(timer) is not None:
        GLib.source_remove(timer)
    value = box['value']
    if isinstance(value, Raised):
        raise value.exc
    return value


def guarded(done, func):
    """Wraps a callback so an exception in it ends the loop as a failure."""
    def wrapper(*args):
        try:
            return func(*args)
        except BaseException as e:  # noqa: B902
            done(Raised(e))
    return wrapper


def assert_error(e, domain, code, *fragments):
    assert isinstance(e, GLib.Error), 'expected a GLib.Error, got %r' % (e,)
    assert e.matches(domain, code), \
        'expected %s/%d, got %s/%d: %s' % (GLib.quark_to_string(domain), code,
                                            e.domain, e.code, e.message)
    for fragment in fragments:
        assert fragment in e.message, '%r not in %r' % (fragment, e.message)


def zombie_children():
    """Our children that are zombies, read from /proc (never reaps)."""
    me = os.getpid()
    zombies = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(')') + 2:].split()
        if fields[0] == 'Z' and int(fields[1]) == me:
            zombies.append(int(entry))
    return zombies


class TempTree:
    """A temporary directory with a file, a subdirectory, a symlink and a
    FIFO in it."""

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix='psf-py-')
        self.file = os.path.join(self.path, 'file')
        self.subdir = os.path.join(self.path, 'sub')
        self.link = os.path.join(self.path, 'link')
        self.fifo = os.path.join(self.path, 'fifo')
        self.missing = os.path.join(self.path, 'missing')
        with open(self.file, 'w') as f:
            f.write('data\n')
        os.mkdir(self.subdir)
        os.symlink('file', self.link)
        os.mkfifo(self.fifo)
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


# --- the API as Python sees it ------------------------------------------------

@test
def constants_and_enums():
    assert Psf.RETURNCODE_NONE == -2**31, Psf.RETURNCODE_NONE
    assert Psf.RETURNCODE_CANCELLED == -2
    assert Psf.Error.quark() == GLib.quark_from_string('psf-error-quark')
    assert [int(c) for c in (Psf.Error.FAILED, Psf.Error.INVALID_STATE, Psf.Error.TIMED_OUT,
                             Psf.Error.CANCELLED, Psf.Error.SPAWN,
                             Psf.Error.INVALID_ARGUMENT)] == list(range(6))
    assert [int(s) for s in (Psf.SyncfsStatus.SYNCED, Psf.SyncfsStatus.DUPLICATE,
                             Psf.SyncfsStatus.SKIPPED, Psf.SyncfsStatus.FAILED)] == list(range(4))
    assert Psf.TaskState.NEW < Psf.TaskState.RUNNING < Psf.TaskState.EXITED
    assert Psf.StartMethod.FORK != Psf.StartMethod.SPAWN
    assert Psf.get_major_version() == Psf.MAJOR_VERSION == 1
    assert isinstance(Psf.VERSION_S, str)
    assert issubclass(Psf.SyncfsProcess, Psf.ForkProcess)
    assert issubclass(Psf.ForkProcess, Psf.SpawnProcess)
    assert issubclass(Psf.SpawnProcess, Psf.Subprocess)
    assert issubclass(Psf.Subprocess, Psf.Task)
    assert Psf.Task.__gtype__.is_abstract()
    assert Psf.Hook.__gtype__.is_interface()


@test
def properties():
    p = Psf.SpawnProcess(argv=['true', 'x y'], env=['A=1'], cwd='/', path_lookup=True)
    assert list(p.props.argv) == ['true', 'x y']
    assert list(p.get_argv()) == ['true', 'x y']
    assert list(p.props.env) == ['A=1']
    assert p.props.cwd == '/'
    assert p.props.path_lookup is True
    p.props.close_fds = False
    assert p.get_close_fds() is False
    assert p.props.state == Psf.TaskState.NEW
    assert p.props.returncode == Psf.RETURNCODE_NONE
    assert p.props.cancelled is False
    assert p.props.pid == 0
    assert p.props.cancel_timeout == 1000
    assert p.props.timeout == 0
    assert p.props.timed_out is False
    assert p.props.cancellable is None
    assert p.is_alive() is False
    assert p.poll() == (False, Psf.RETURNCODE_NONE)
    p.set_timeout(250)
    assert p.props.timeout == 250

    s = Psf.SyncfsProcess(paths=['/', 'rel'])
    assert list(s.props.paths) == ['/', 'rel']
    assert s.props.start_method == Psf.StartMethod.FORKSERVER
    assert s.props.sync_fallback is False
    assert s.get_report() is None
    s.set_paths(['/tmp'])
    assert list(s.get_paths()) == ['/tmp']
    assert list(Psf.SyncfsProcess.new(['/a']).props.paths) == ['/a']
    assert list(Psf.SpawnProcess.new(['true']).props.argv) == ['true']


@test
def spawn_options():
    import gzip
    with TempTree() as tree:
        log = os.path.join(tree.path, 'log')
        p = Psf.SpawnProcess(argv=['sh', '-c', 'echo "$PSF_X in $PWD as $0"; echo err >&2'],
                             env=['PSF_X=hello', 'PATH=/usr/bin:/bin'], cwd=tree.subdir,
                             opt_name='psf-test-name', logfile=log, background=True)
        assert p.props.logfile == log and p.props.opt_name == 'psf-test-name'
        p.start()
        assert p.wait() == 0
        with open(log) as f:
            assert f.read() == 'hello in %s as psf-test-name\nerr\n' % tree.subdir

        p = Psf.SpawnProcess(argv=['echo', 'compressed'], path_lookup=True,
                             logfile=log + '.gz', background=True)
        p.start()
        assert p.wait() == 0
        with gzip.open(log + '.gz') as f:
            assert f.read() == b'compressed\n'

        if os.geteuid() == 0:
            p = Psf.SpawnProcess(argv=['id', '-G'], path_lookup=True,
                                 logfile=log + '.ids', background=True)
            p.set_groups([0, 5])
            assert p.props.groups.unpack() == [0, 5]
            p.start()
            assert p.wait() == 0
            with open(log + '.ids') as f:
                assert f.read().split() == ['0', '5']


@test
def wait_before_start_is_invalid_state():
    p = Psf.SpawnProcess(argv=['true'])
    try:
        p.wait()
    except GLib.Error as e:
        assert_error(e, Psf.Error.quark(), Psf.Error.INVALID_STATE)
    else:
        raise AssertionError('wait() before start() did not raise')


@test
def start_failure_is_spawn_error():
    p = Psf.SpawnProcess(argv=['/nonexistent/psf-no-such-program'])
    try:
        p.start()
    except GLib.Error as e:
        assert_error(e, Psf.Error.quark(), Psf.Error.SPAWN)
    else:
        raise AssertionError('start() of a missing program did not raise')
    assert p.props.state == Psf.TaskState.NEW


# --- syncfs over a temporary tree --------------------------------------------

def check_sync_results(tree, p, paths):
    results = p.get_results()
    assert len(results) == len(paths), results
    by_path = {r.get_path(): r for r in results}
    assert [r.get_path() for r in results] == paths
    dev = os.stat(tree.path).st_dev

    first = by_path[tree.path]
    assert first.get_status() == Psf.SyncfsStatus.SYNCED, first.to_string()
    assert first.get_errno() == 0
    assert first.get_device() == dev, (first.get_device(), dev)
    assert tree.path in first.to_string()

    # Same filesystem: synced once, for the first path.
    for path in (tree.file, tree.subdir, tree.link, tree.fifo):
        r = by_path[path]
        assert r.get_status() == Psf.SyncfsStatus.DUPLICATE, r.to_string()
        assert r.get_errno() == 0
        assert r.get_device() == dev

    gone = by_path[tree.missing]
    assert gone.get_status() == Psf.SyncfsStatus.SKIPPED, gone.to_string()
    assert gone.get_errno() == errno.ENOENT, gone.get_errno()


for _method in ('SPAWN', 'FORK'):
    def _make(method_name):
        def sync_temp_dir():
            method = getattr(Psf.StartMethod, method_name)
            with TempTree() as tree:
                paths = [tree.path, tree.file, tree.subdir, tree.link, tree.fifo, tree.missing]
                p = Psf.SyncfsProcess(paths=paths, start_method=method)
                assert p.props.start_method == method
                p.start()
                assert p.props.state == Psf.TaskState.RUNNING
                assert p.props.pid > 0
                assert len(p.get_results()) == 0, 'results before the exit'
                rc = p.wait()
                assert rc == 0, rc
                assert p.props.returncode == 0
                assert p.props.state == Psf.TaskState.EXITED
                assert p.props.pid > 0, 'pid must stay set after the exit'
                assert p.poll() == (True, 0)
                assert p.is_alive() is False
                check_sync_results(tree, p, paths)
        sync_temp_dir.__name__ = 'sync_temp_dir_' + method_name.lower()
        return sync_temp_dir
    test(_make(_method))


@test
def relative_paths_resolved_at_start():
    with TempTree() as tree:
        old = os.getcwd()
        os.chdir(tree.path)
        try:
            p = Psf.SyncfsProcess(paths=['file', 'missing'])
            p.start()
        finally:
            os.chdir(old)
        assert p.wait() == 0
        statuses = [r.get_status() for r in p.get_results()]
        assert statuses == [Psf.SyncfsStatus.SYNCED, Psf.SyncfsStatus.SKIPPED], statuses
        assert [r.get_path() for r in p.get_results()] == ['file', 'missing']


# --- signals and waits --------------------------------------------------------

@test
def started_exited_order():
    with TempTree() as tree:
        p = Psf.SyncfsProcess(paths=[tree.path])
        events = []

        def on_started(task):
            events.append(('started', task.props.pid, task.props.returncode))

        def on_exited(task, rc):
            events.append(('exited', rc, task.props.returncode, task.props.state))

        p.connect('started', on_started)
        p.connect('exited', on_exited)
        p.start()
        assert events == [], 'signals must not be emitted inside start()'
        rc = p.wait()
        assert rc == 0
        assert [e[0] for e in events] == ['started', 'exited'], events
        assert events[0][1] > 0 and events[0][2] == Psf.RETURNCODE_NONE, events
        assert events[1][1:] == (0, 0, Psf.TaskState.EXITED), events


@test
def async_wait():
    with TempTree() as tree:
        p = Psf.SyncfsProcess(paths=[tree.path, tree.file])
        order = []

        def start(done):
            def on_exited(task, rc):
                order.append('exited')

            def on_wait(task, res):
                order.append('wait')
                rc = task.wait_finish(res)
                assert task.wait_check_finish is not None
                done(rc)

            p.connect('exited', guarded(done, on_exited))
            p.wait_async(None, guarded(done, on_wait))   # a waiter made before start()
            p.start()

        rc = run_loop(start)
        assert rc == 0, rc
        assert order == ['exited', 'wait'], order
        assert [r.get_status() for r in p.get_results()] == \
            [Psf.SyncfsStatus.SYNCED, Psf.SyncfsStatus.DUPLICATE]

        # After the exit: resolves on the next iteration, never inside the call.
        def start_again(done):
            called = []

            def on_wait(task, res):
                called.append(True)
                ok = task.wait_check_finish(res)
                done(ok)

            p.wait_check_async(None, guarded(done, on_wait))
            assert called == [], 'wait_check_async completed synchronously'

        assert run_loop(start_again) is True


@test
def many_waiters():
    p = Psf.SpawnProcess(argv=['sh', '-c', 'exit 7'])
    p.start()

    def start(done):
        rcs = []

        def on_wait(task, res):
            rcs.append(task.wait_finish(res))
            if len(rcs) == 3:
                done(rcs)

        for _ in range(3):
            p.wait_async(None, guarded(done, on_wait))

    assert run_loop(start) == [7, 7, 7]


@test
def sync_wait_and_poll():
    p = Psf.SpawnProcess(argv=['sh', '-c', 'exit 3'])
    p.start()
    assert p.is_alive() is True
    done, rc = p.poll()
    # poll() never reaps: the exit is seen only once the context ran.
    assert (done, rc) in ((False, Psf.RETURNCODE_NONE),), (done, rc)
    assert p.wait() == 3
    assert p.poll() == (True, 3)
    assert p.wait() == 3, 'wait() on an exited task returns at once'


@test
def wait_inside_loop_is_invalid_state():
    p = Psf.SpawnProcess(argv=['sleep', '30'])
    p.start()

    def start(done):
        try:
            p.wait()
        except GLib.Error as e:
            done(e)
        else:
            done(AssertionError('wait() inside the running loop did not raise'))

    err = run_loop(start)
    assert_error(err, Psf.Error.quark(), Psf.Error.INVALID_STATE)
    p.cancel()
    assert p.wait() == -signal.SIGTERM


@test
def cancelled_wait_leaves_child_alone():
    p = Psf.SpawnProcess(argv=['sleep', '30'])
    p.start()
    pid = p.props.pid
    cancellable = Gio.Cancellable()

    def start(done):
        def on_wait(task, res):
            try:
                task.wait_finish(res)
            except GLib.Error as e:
                done(e)
            else:
                done(AssertionError('the cancelled wait returned a returncode'))

        p.wait_async(cancellable, guarded(done, on_wait))
        GLib.timeout_add(50, lambda: (cancellable.cancel(), GLib.SOURCE_REMOVE)[1])

    err = run_loop(start)
    assert_error(err, Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)
    assert p.is_alive() is True
    assert p.props.cancelled is False
    assert p.props.returncode == Psf.RETURNCODE_NONE
    os.kill(pid, 0)   # still there
    with open('/proc/%d/stat' % pid) as f:
        assert f.read().split(') ')[1][0] != 'Z'

    # A wait with an already-cancelled cancellable fails the same way.
    def start_cancelled(done):
        p.wait_async(cancellable, guarded(done, lambda t, r: done(_catch(t.wait_finish, r))))

    assert_error(run_loop(start_cancelled), Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)
    p.cancel()
    assert p.wait() == -signal.SIGTERM


def _catch(func, *args):
    try:
        return func(*args)
    except GLib.Error as e:
        return e


@test
def cancel_running_sleep():
    p = Psf.SpawnProcess(argv=['sleep', '30'])
    p.start()

    def start(done):
        def on_wait(task, res):
            done(_catch(task.wait_check_finish, res))

        p.wait_check_async(None, guarded(done, on_wait))
        GLib.timeout_add(50, lambda: (p.cancel(), GLib.SOURCE_REMOVE)[1])

    err = run_loop(start)
    assert_error(err, Psf.Error.quark(), Psf.Error.CANCELLED)
    assert p.props.returncode == -signal.SIGTERM == -15, p.props.returncode
    assert p.props.cancelled is True
    assert p.props.timed_out is False
    p.cancel()   # idempotent, after the exit too
    assert p.props.returncode == -15


@test
def cancellable_property_cancels():
    c = Gio.Cancellable()
    p = Psf.SpawnProcess(argv=['sleep', '30'], cancellable=c)
    assert p.props.cancellable is c
    p.start()
    GLib.timeout_add(50, lambda: (c.cancel(), GLib.SOURCE_REMOVE)[1])
    assert p.wait() == -15
    assert p.props.cancelled is True


@test
def cancel_before_start():
    p = Psf.SpawnProcess(argv=['sleep', '30'])
    events = []
    p.connect('started', lambda t: events.append('started'))
    p.connect('exited', lambda t, rc: events.append(('exited', rc)))
    p.cancel()
    assert p.props.cancelled is True
    p.start()
    assert p.props.pid == 0, 'nothing may be started'
    assert p.wait() == Psf.RETURNCODE_CANCELLED
    ctx = GLib.MainContext.default()
    while ctx.pending():
        ctx.iteration(False)
    assert events == [('exited', Psf.RETURNCODE_CANCELLED)], events


@test
def timed_out():
    p = Psf.SpawnProcess(argv=['sleep', '30'], timeout=100)
    p.start()

    def start(done):
        p.wait_check_async(None, guarded(done, lambda t, r: done(_catch(t.wait_check_finish, r))))

    err = run_loop(start)
    assert_error(err, Psf.Error.quark(), Psf.Error.TIMED_OUT)
    assert p.props.timed_out is True
    assert p.props.returncode == -15, p.props.returncode


@test
def nonzero_exit_is_failed():
    p = Psf.SpawnProcess(argv=['sh', '-c', 'exit 4'])
    p.start()

    def start(done):
        p.wait_check_async(None, guarded(done, lambda t, r: done(_catch(t.wait_check_finish, r))))

    err = run_loop(start)
    assert_error(err, Psf.Error.quark(), Psf.Error.FAILED)
    assert p.props.returncode == 4


# --- a failing syncfs, through the LD_PRELOAD shim ---------------------------

def shim_loaded():
    shim = os.environ.get('PSF_TEST_FAULT_SHIM', '')
    if not shim:
        raise Skip('PSF_TEST_FAULT_SHIM is not set (run through meson test)')
    with open('/proc/self/maps') as f:
        if os.path.basename(shim) not in f.read():
            raise Skip('the fault shim is not preloaded')
    return shim


def failing_sync(method_name):
    shim = shim_loaded()
    method = getattr(Psf.StartMethod, method_name)
    with TempTree() as tree:
        paths = [tree.path, tree.missing]
        if method == Psf.StartMethod.SPAWN:
            # The helper is a fresh image: give it the shim and the errno
            # through its environment, the task's own option.
            env = ['%s=%s' % kv for kv in os.environ.items() if kv[0] != 'LD_PRELOAD']
            env += ['LD_PRELOAD=' + shim, 'PSF_SHIM_SYNCFS_ERRNO=EIO']
            p = Psf.SyncfsProcess(paths=paths, start_method=method, env=env)
            p.start()
        else:
            # A fork of this process: the shim is preloaded here already and
            # reads the environment at each call.
            p = Psf.SyncfsProcess(paths=paths, start_method=method)
            os.environ['PSF_SHIM_SYNCFS_ERRNO'] = 'EIO'
            try:
                p.start()
            finally:
                del os.environ['PSF_SHIM_SYNCFS_ERRNO']

        def start(done):
            p.wait_check_async(None, guarded(done, lambda t, r: done(_catch(t.wait_check_finish, r))))

        err = run_loop(start)
        assert_error(err, Psf.Error.quark(), Psf.Error.FAILED, tree.path, 'Input/output error')
        assert p.props.returncode == 1, p.props.returncode
        results = p.get_results()
        assert results[0].get_status() == Psf.SyncfsStatus.FAILED, results[0].to_string()
        assert results[0].get_errno() == errno.EIO
        assert results[1].get_status() == Psf.SyncfsStatus.SKIPPED
        assert results[1].get_errno() == errno.ENOENT

        # The same task's plain wait gives the returncode, not an error.
        assert p.wait() == 1


@test
def failing_syncfs_spawn():
    failing_sync('SPAWN')


@test
def failing_syncfs_fork():
    failing_sync('FORK')


# --- subclasses ----------------------------------------------------------------

class CountingSpawn(Psf.SpawnProcess):
    """A Python subclass of Psf.SpawnProcess: parent-side overrides only."""
    __gtype_name__ = 'PsfTestCountingSpawn'

    label = GObject.Property(type=str, default='')

    def __init__(self, code, **kwargs):
        super().__init__(argv=['sh', '-c', 'exit %d' % code], **kwargs)
        self.seen = []

    # The class closures of the signals: run after the connected handlers
    # (G_SIGNAL_RUN_LAST). PsfTask has no default handler to chain up to.
    def do_started(self):
        self.seen.append(('do_started', self.props.pid > 0))

    def do_exited(self, returncode):
        self.seen.append(('do_exited', returncode))


@test
def python_subclass_of_spawn_process():
    p = CountingSpawn(5, label='five')
    assert isinstance(p, Psf.SpawnProcess) and isinstance(p, Psf.Task)
    assert GObject.type_name(p.__gtype__) == 'PsfTestCountingSpawn'
    assert p.props.label == 'five'
    p.connect('exited', lambda t, rc: t.seen.append(('handler', rc)))
    p.start()

    def start(done):
        p.wait_async(None, guarded(done, lambda t, r: done(t.wait_finish(r))))

    assert run_loop(start) == 5
    assert p.seen == [('do_started', True), ('handler', 5), ('do_exited', 5)], p.seen


class NotAChildRoutine(Psf.ForkProcess):
    """Tries to give the fork child a Python `run`: never hooked up."""
    __gtype_name__ = 'PsfTestNotAChildRoutine'

    def __init__(self, marker, **kwargs):
        super().__init__(**kwargs)
        self.marker = marker

    def do_run(self, report_fd):
        with open(self.marker, 'w') as f:
            f.write('ran in the child\n')
        os._exit(0)


@test
def fork_child_run_is_not_overridable():
    # The vfunc is (skip): not in the typelib, nothing to hook up.
    vfuncs = [v.get_name() for v in Psf.ForkProcess.__info__.get_vfuncs()]
    assert 'run' not in vfuncs, vfuncs
    assert 'prepare' in vfuncs and 'report' in vfuncs, vfuncs
    assert not hasattr(Psf.ForkProcess, 'do_run')
    assert not hasattr(Psf.ForkProcess, 'new_with_func'), 'new_with_func must be (skip)'
    assert not hasattr(Psf, 'ForkFunc'), 'PsfForkFunc must be (skip)'

    with TempTree() as tree:
        marker = os.path.join(tree.path, 'marker')
        for method in (Psf.StartMethod.FORK, Psf.StartMethod.SPAWN):
            p = NotAChildRoutine(marker, start_method=method)
            try:
                p.start()
            except GLib.Error as e:
                assert_error(e, Psf.Error.quark(), Psf.Error.INVALID_ARGUMENT,
                             'PsfTestNotAChildRoutine')
            else:
                p.wait()
                raise AssertionError('a Python run() was started with %s' % method)
            assert p.props.state == Psf.TaskState.NEW
            assert p.props.pid == 0
            assert not os.path.exists(marker), 'the Python run() ran'


# --- main ----------------------------------------------------------------------

# Registered last, so it runs after every other case.
@test
def no_zombies():
    """Every child was reaped by psf, though nobody called waitpid() here."""
    ctx = GLib.MainContext.default()
    while ctx.pending():
        ctx.iteration(False)
    zombies = zombie_children()
    assert not zombies, 'zombie children: %r' % zombies


if __name__ == '__main__':
    run()
