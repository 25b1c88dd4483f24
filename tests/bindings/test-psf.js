// test-psf.js: psf from gjs through GObject Introspection (gjs 1.74)
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Run as an ES module (`gjs -m test-psf.js`) by `meson test --suite
// bindings`, with GI_TYPELIB_PATH and LD_LIBRARY_PATH pointing at the build
// tree, PSF_CHILD_PATH at the helper and LD_PRELOAD of the fault shim
// (tests/faults/fault-shim.c). Prints TAP.
//
// Two groups: the blocking ones (wait()) run first, before the first
// `await`. After it the module runs inside gjs's main loop, where a blocking
// wait() on a running task is refused (PSF_ERROR_INVALID_STATE) by design;
// the async group awaits the promisified wait_async()/wait_check_async().

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import GObject from 'gi://GObject';
import Psf from 'gi://Psf?version=1';
import System from 'system';

Gio._promisify(Psf.Task.prototype, 'wait_async', 'wait_finish');
Gio._promisify(Psf.Task.prototype, 'wait_check_async', 'wait_check_finish');

const SIGTERM = 15;
const EIO = 5;
const ENOENT = 2;
const AWAIT_LIMIT_MS = 30000;

const syncTests = [];
const asyncTests = [];
const test = (name, fn) => syncTests.push([name, fn]);
const asyncTest = (name, fn) => asyncTests.push([name, fn]);

class Skip extends Error {}

function assert(cond, message = 'assertion failed') {
    if (!cond)
        throw new Error(message);
}

function assertEq(actual, expected, what = '') {
    const a = JSON.stringify(actual), e = JSON.stringify(expected);
    if (a !== e)
        throw new Error(`${what}: expected ${e}, got ${a}`);
}

function assertError(e, domain, code, ...fragments) {
    assert(e instanceof GLib.Error, `expected a GLib.Error, got ${e}`);
    assert(e.matches(domain, code),
        `expected ${GLib.quark_to_string(domain)}/${code}, got ` +
        `${GLib.quark_to_string(e.domain)}/${e.code}: ${e.message}`);
    for (const f of fragments)
        assert(e.message.includes(f), `"${f}" not in "${e.message}"`);
}

function caught(fn) {
    try {
        fn();
    } catch (e) {
        return e;
    }
    throw new Error('did not throw');
}

async function rejection(promise) {
    try {
        await promise;
    } catch (e) {
        return e;
    }
    throw new Error('did not reject');
}

function timeoutAfter(ms, promise) {
    let id = 0;
    const limit = new Promise((_resolve, reject) => {
        id = GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
            id = 0;
            reject(new Error(`not settled after ${ms} ms`));
            return GLib.SOURCE_REMOVE;
        });
    });
    return Promise.race([promise, limit]).finally(() => {
        if (id)
            GLib.source_remove(id);
    });
}

function later(ms, fn) {
    GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
        fn();
        return GLib.SOURCE_REMOVE;
    });
}

function iterateDefault() {
    const ctx = GLib.MainContext.default();
    while (ctx.pending())
        ctx.iteration(false);
}

function run(argv) {
    const [, , , status] = GLib.spawn_sync(null, argv, null,
        GLib.SpawnFlags.SEARCH_PATH, null);
    assert(status === 0, `${argv.join(' ')} failed`);
}

// A temporary directory with a file, a subdirectory, a symlink and a FIFO.
function makeTree() {
    const path = GLib.dir_make_tmp('psf-gjs-XXXXXX');
    const tree = {
        path,
        file: `${path}/file`,
        subdir: `${path}/sub`,
        link: `${path}/link`,
        fifo: `${path}/fifo`,
        missing: `${path}/missing`,
    };
    GLib.file_set_contents(tree.file, 'data\n');
    GLib.mkdir_with_parents(tree.subdir, 0o755);
    Gio.File.new_for_path(tree.link).make_symbolic_link('file', null);
    run(['mkfifo', tree.fifo]);
    return tree;
}

function removeTree(tree) {
    run(['rm', '-rf', '--', tree.path]);
}

function deviceOf(path) {
    return Gio.File.new_for_path(path)
        .query_info('unix::device', Gio.FileQueryInfoFlags.NONE, null)
        .get_attribute_uint32('unix::device');
}

function myPid() {
    return new Gio.Credentials().get_unix_pid();
}

function zombieChildren() {
    const me = myPid();
    const zombies = [];
    const dir = Gio.File.new_for_path('/proc').enumerate_children(
        'standard::name', Gio.FileQueryInfoFlags.NONE, null);
    let info;
    while ((info = dir.next_file(null)) !== null) {
        const name = info.get_name();
        if (!/^\d+$/.test(name))
            continue;
        let stat;
        try {
            stat = new TextDecoder().decode(GLib.file_get_contents(`/proc/${name}/stat`)[1]);
        } catch (e) {
            continue;
        }
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (fields[0] === 'Z' && Number(fields[1]) === me)
            zombies.push(Number(name));
    }
    return zombies;
}

// --- the API as gjs sees it -------------------------------------------------

test('constants_and_enums', () => {
    assertEq(Psf.RETURNCODE_NONE, -(2 ** 31), 'RETURNCODE_NONE');
    assertEq(Psf.RETURNCODE_CANCELLED, -2, 'RETURNCODE_CANCELLED');
    assertEq(Psf.Error.quark(), GLib.quark_from_string('psf-error-quark'), 'quark');
    assertEq([Psf.Error.FAILED, Psf.Error.INVALID_STATE, Psf.Error.TIMED_OUT,
        Psf.Error.CANCELLED, Psf.Error.SPAWN, Psf.Error.INVALID_ARGUMENT],
    [0, 1, 2, 3, 4, 5], 'Psf.Error');
    assertEq([Psf.SyncfsStatus.SYNCED, Psf.SyncfsStatus.DUPLICATE,
        Psf.SyncfsStatus.SKIPPED, Psf.SyncfsStatus.FAILED], [0, 1, 2, 3], 'SyncfsStatus');
    assertEq([Psf.TaskState.NEW, Psf.TaskState.RUNNING, Psf.TaskState.EXITED],
        [0, 1, 2], 'TaskState');
    assertEq(Psf.get_major_version(), Psf.MAJOR_VERSION, 'major version');
    assert(GObject.type_is_a(Psf.SyncfsProcess.$gtype, Psf.Task.$gtype));
    assert(GObject.type_is_a(Psf.Hook.$gtype, GObject.TYPE_INTERFACE));
});

test('properties', () => {
    const p = new Psf.SpawnProcess({argv: ['true', 'x y'], env: ['A=1'], cwd: '/',
        path_lookup: true});
    assertEq(p.argv, ['true', 'x y'], 'argv');
    assertEq(p.get_argv(), ['true', 'x y'], 'get_argv');
    assertEq(p.env, ['A=1'], 'env');
    assertEq(p.cwd, '/', 'cwd');
    assertEq(p.pathLookup, true, 'path-lookup');
    p.close_fds = false;
    assertEq(p.get_close_fds(), false, 'close-fds');
    assertEq(p.state, Psf.TaskState.NEW, 'state');
    assertEq(p.returncode, Psf.RETURNCODE_NONE, 'returncode');
    assertEq(p.cancelled, false, 'cancelled');
    assertEq(p.pid, 0, 'pid');
    assertEq(p.cancel_timeout, 1000, 'cancel-timeout');
    assertEq(p.timeout, 0, 'timeout');
    assertEq(p.timed_out, false, 'timed-out');
    assertEq(p.cancellable, null, 'cancellable');
    assertEq(p.is_alive(), false, 'is_alive');
    assertEq(p.poll(), [false, Psf.RETURNCODE_NONE], 'poll');

    const s = new Psf.SyncfsProcess({paths: ['/', 'rel']});
    assertEq(s.paths, ['/', 'rel'], 'paths');
    assertEq(s.start_method, Psf.StartMethod.FORKSERVER, 'start-method');
    assertEq(s.sync_fallback, false, 'sync-fallback');
    assertEq(Psf.SyncfsProcess.new(['/a']).paths, ['/a'], 'SyncfsProcess.new');
});

test('spawn_options', () => {
    const tree = makeTree();
    try {
        const log = `${tree.path}/log`;
        const p = new Psf.SpawnProcess({
            argv: ['sh', '-c', 'echo "$PSF_X in $PWD as $0"; echo err >&2'],
            env: ['PSF_X=hello', 'PATH=/usr/bin:/bin'], cwd: tree.subdir,
            opt_name: 'psf-test-name', logfile: log, background: true,
        });
        assertEq(p.logfile, log, 'logfile');
        p.start();
        assertEq(p.wait(), 0, 'wait');
        assertEq(new TextDecoder().decode(GLib.file_get_contents(log)[1]),
            `hello in ${tree.subdir} as psf-test-name\nerr\n`, 'log');
    } finally {
        removeTree(tree);
    }
});

test('wait_before_start_is_invalid_state', () => {
    const p = new Psf.SpawnProcess({argv: ['true']});
    assertError(caught(() => p.wait()), Psf.Error.quark(), Psf.Error.INVALID_STATE);
});

test('start_failure_is_spawn_error', () => {
    const p = new Psf.SpawnProcess({argv: ['/nonexistent/psf-no-such-program']});
    assertError(caught(() => p.start()), Psf.Error.quark(), Psf.Error.SPAWN);
    assertEq(p.state, Psf.TaskState.NEW, 'state');
});

test('non_utf8_name_through_bytes', () => {
    const tree = GLib.dir_make_tmp('psf-bytes-XXXXXX');
    const encoder = new TextEncoder();
    const name = new Uint8Array([...encoder.encode(`${tree}/caf`), 0xe9]);
    const p = new Psf.SyncfsProcess();
    try {
        p.set_paths_bytes(new Uint8Array([...encoder.encode(tree), 0, ...name]));
        p.start();
        assertEq(p.wait(), 0, 'returncode');
        const results = p.get_results();
        assertEq(results.length, 2, 'results');
        assertEq(results[0].get_status(), Psf.SyncfsStatus.SYNCED, 'tree status');
        // The name that is not UTF-8 comes back byte for byte.
        assertEq(Array.from(results[1].get_path_bytes().toArray()).join(','),
            Array.from(name).join(','), 'path bytes');
        assertEq(results[1].get_status(), Psf.SyncfsStatus.SKIPPED, 'missing name status');
    } finally {
        GLib.rmdir(tree);
    }
});

function checkSyncResults(tree, p, paths) {
    const results = p.get_results();
    assertEq(results.map(r => r.get_path()), paths, 'result paths');
    const dev = deviceOf(tree.path);
    const [first, ...same] = results.slice(0, 5);
    assertEq(first.get_status(), Psf.SyncfsStatus.SYNCED, first.to_string());
    assertEq(first.get_errno(), 0, 'errno');
    assertEq(first.get_device(), dev, 'device');
    assert(first.to_string().includes(tree.path), first.to_string());
    for (const r of same) {
        assertEq(r.get_status(), Psf.SyncfsStatus.DUPLICATE, r.to_string());
        assertEq(r.get_device(), dev, 'device');
    }
    const gone = results[5];
    assertEq(gone.get_status(), Psf.SyncfsStatus.SKIPPED, gone.to_string());
    assertEq(gone.get_errno(), ENOENT, 'errno of a missing path');
}

for (const method of ['SPAWN', 'FORK']) {
    test(`sync_temp_dir_${method.toLowerCase()}`, () => {
        const tree = makeTree();
        try {
            const paths = [tree.path, tree.file, tree.subdir, tree.link, tree.fifo, tree.missing];
            const p = new Psf.SyncfsProcess({paths, start_method: Psf.StartMethod[method]});
            p.start();
            assertEq(p.state, Psf.TaskState.RUNNING, 'state');
            assert(p.pid > 0, 'pid');
            assertEq(p.wait(), 0, 'wait');
            assertEq(p.returncode, 0, 'returncode');
            assertEq(p.state, Psf.TaskState.EXITED, 'state');
            assert(p.pid > 0, 'pid stays set after the exit');
            assertEq(p.poll(), [true, 0], 'poll');
            checkSyncResults(tree, p, paths);
        } finally {
            removeTree(tree);
        }
    });
}

test('started_exited_order', () => {
    const tree = makeTree();
    try {
        const p = new Psf.SyncfsProcess({paths: [tree.path]});
        const events = [];
        p.connect('started', t => events.push(['started', t.pid > 0, t.returncode]));
        p.connect('exited', (t, rc) => events.push(['exited', rc, t.returncode, t.state]));
        p.start();
        assertEq(events, [], 'signals inside start()');
        assertEq(p.wait(), 0, 'wait');
        assertEq(events, [['started', true, Psf.RETURNCODE_NONE],
            ['exited', 0, 0, Psf.TaskState.EXITED]], 'events');
    } finally {
        removeTree(tree);
    }
});

test('sync_wait_and_poll', () => {
    const p = new Psf.SpawnProcess({argv: ['sh', '-c', 'exit 3']});
    p.start();
    assertEq(p.is_alive(), true, 'is_alive');
    assertEq(p.poll(), [false, Psf.RETURNCODE_NONE], 'poll before the loop ran');
    assertEq(p.wait(), 3, 'wait');
    assertEq(p.poll(), [true, 3], 'poll');
});

test('cancel_running_sleep_sync', () => {
    const p = new Psf.SpawnProcess({argv: ['sleep', '30']});
    p.start();
    later(50, () => p.cancel());
    assertEq(p.wait(), -SIGTERM, 'returncode');
    assertEq(p.cancelled, true, 'cancelled');
});

test('cancel_before_start', () => {
    const p = new Psf.SpawnProcess({argv: ['sleep', '30']});
    const events = [];
    p.connect('started', () => events.push('started'));
    p.connect('exited', (t, rc) => events.push(rc));
    p.cancel();
    p.start();
    assertEq(p.pid, 0, 'pid');
    assertEq(p.wait(), Psf.RETURNCODE_CANCELLED, 'returncode');
    iterateDefault();
    assertEq(events, [Psf.RETURNCODE_CANCELLED], 'events');
});

// --- the async group ----------------------------------------------------------

asyncTest('async_wait', async () => {
    const tree = makeTree();
    try {
        const p = new Psf.SyncfsProcess({paths: [tree.path, tree.file]});
        const order = [];
        p.connect('exited', () => order.push('exited'));
        const waiting = p.wait_async(null).then(rc => {
            order.push('wait');
            return rc;
        });
        p.start();
        assertEq(await timeoutAfter(AWAIT_LIMIT_MS, waiting), 0, 'rc');
        assertEq(order, ['exited', 'wait'], 'order');
        assertEq(p.get_results().map(r => r.get_status()),
            [Psf.SyncfsStatus.SYNCED, Psf.SyncfsStatus.DUPLICATE], 'statuses');
        assertEq(await p.wait_check_async(null), true, 'wait_check after the exit');
    } finally {
        removeTree(tree);
    }
});

asyncTest('wait_inside_loop_is_invalid_state', async () => {
    const p = new Psf.SpawnProcess({argv: ['sleep', '30']});
    p.start();
    await new Promise(resolve => later(10, resolve));
    assertError(caught(() => p.wait()), Psf.Error.quark(), Psf.Error.INVALID_STATE);
    p.cancel();
    assertEq(await timeoutAfter(AWAIT_LIMIT_MS, p.wait_async(null)), -SIGTERM, 'rc');
});

asyncTest('cancelled_wait_leaves_child_alone', async () => {
    const p = new Psf.SpawnProcess({argv: ['sleep', '30']});
    p.start();
    const cancellable = new Gio.Cancellable();
    const waiting = p.wait_async(cancellable);
    later(50, () => cancellable.cancel());
    const e = await timeoutAfter(AWAIT_LIMIT_MS, rejection(waiting));
    assertError(e, Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED);
    assertEq(p.is_alive(), true, 'is_alive');
    assertEq(p.cancelled, false, 'cancelled');
    assertEq(p.returncode, Psf.RETURNCODE_NONE, 'returncode');
    const stat = new TextDecoder().decode(GLib.file_get_contents(`/proc/${p.pid}/stat`)[1]);
    assert(stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z', 'the child is a zombie');
    p.cancel();
    assertEq(await timeoutAfter(AWAIT_LIMIT_MS, p.wait_async(null)), -SIGTERM, 'rc');
});

asyncTest('cancel_running_sleep', async () => {
    const p = new Psf.SpawnProcess({argv: ['sleep', '30']});
    p.start();
    const checking = rejection(p.wait_check_async(null));
    later(50, () => p.cancel());
    const e = await timeoutAfter(AWAIT_LIMIT_MS, checking);
    assertError(e, Psf.Error.quark(), Psf.Error.CANCELLED);
    assertEq(p.returncode, -SIGTERM, 'returncode');
    assertEq(p.cancelled, true, 'cancelled');
    assertEq(p.timed_out, false, 'timed-out');
});

asyncTest('timed_out', async () => {
    const p = new Psf.SpawnProcess({argv: ['sleep', '30'], timeout: 100});
    p.start();
    const e = await timeoutAfter(AWAIT_LIMIT_MS, rejection(p.wait_check_async(null)));
    assertError(e, Psf.Error.quark(), Psf.Error.TIMED_OUT);
    assertEq(p.timed_out, true, 'timed-out');
    assertEq(p.returncode, -SIGTERM, 'returncode');
});

asyncTest('nonzero_exit_is_failed', async () => {
    const p = new Psf.SpawnProcess({argv: ['sh', '-c', 'exit 4']});
    p.start();
    const e = await timeoutAfter(AWAIT_LIMIT_MS, rejection(p.wait_check_async(null)));
    assertError(e, Psf.Error.quark(), Psf.Error.FAILED);
    assertEq(p.returncode, 4, 'returncode');
});

function shimPath() {
    const shim = GLib.getenv('PSF_TEST_FAULT_SHIM');
    if (!shim)
        throw new Skip('PSF_TEST_FAULT_SHIM is not set (run through meson test)');
    const maps = new TextDecoder().decode(GLib.file_get_contents('/proc/self/maps')[1]);
    if (!maps.includes(GLib.path_get_basename(shim)))
        throw new Skip('the fault shim is not preloaded');
    return shim;
}

for (const method of ['SPAWN', 'FORK']) {
    asyncTest(`failing_syncfs_${method.toLowerCase()}`, async () => {
        const shim = shimPath();
        const tree = makeTree();
        try {
            const paths = [tree.path, tree.missing];
            let p;
            if (method === 'SPAWN') {
                // A fresh helper image: the shim and the errno go through the
                // task's own environment.
                const env = GLib.get_environ().filter(v => !v.startsWith('LD_PRELOAD='));
                env.push(`LD_PRELOAD=${shim}`, 'PSF_SHIM_SYNCFS_ERRNO=EIO');
                p = new Psf.SyncfsProcess({paths, start_method: Psf.StartMethod.SPAWN, env});
                p.start();
            } else {
                // A fork of gjs, which has the shim preloaded already.
                p = new Psf.SyncfsProcess({paths, start_method: Psf.StartMethod.FORK});
                GLib.setenv('PSF_SHIM_SYNCFS_ERRNO', 'EIO', true);
                try {
                    p.start();
                } finally {
                    GLib.unsetenv('PSF_SHIM_SYNCFS_ERRNO');
                }
            }
            const e = await timeoutAfter(AWAIT_LIMIT_MS, rejection(p.wait_check_async(null)));
            assertError(e, Psf.Error.quark(), Psf.Error.FAILED, tree.path, 'Input/output error');
            assertEq(p.returncode, 1, 'returncode');
            const [failed, skipped] = p.get_results();
            assertEq(failed.get_status(), Psf.SyncfsStatus.FAILED, failed.to_string());
            assertEq(failed.get_errno(), EIO, 'errno');
            assertEq(skipped.get_status(), Psf.SyncfsStatus.SKIPPED, skipped.to_string());
            assertEq(await p.wait_async(null), 1, 'wait_async gives the returncode');
        } finally {
            removeTree(tree);
        }
    });
}

const CountingSpawn = GObject.registerClass({
    GTypeName: 'PsfTestGjsCountingSpawn',
    Properties: {
        label: GObject.ParamSpec.string('label', 'Label', 'A label',
            GObject.ParamFlags.READWRITE, ''),
    },
}, class CountingSpawn extends Psf.SpawnProcess {
    constructor(code, params = {}) {
        super({argv: ['sh', '-c', `exit ${code}`], ...params});
        this.seen = [];
    }

    // Class closures of the signals: they run after the connected handlers.
    vfunc_started() {
        this.seen.push(['vfunc_started', this.pid > 0]);
    }

    vfunc_exited(returncode) {
        this.seen.push(['vfunc_exited', returncode]);
    }
});

asyncTest('gjs_subclass_of_spawn_process', async () => {
    const p = new CountingSpawn(5, {label: 'five'});
    assert(p instanceof Psf.SpawnProcess && p instanceof Psf.Task, 'instanceof');
    assertEq(GObject.type_name(p.constructor.$gtype), 'PsfTestGjsCountingSpawn', 'type name');
    assertEq(p.label, 'five', 'label');
    p.connect('exited', (t, rc) => t.seen.push(['handler', rc]));
    p.start();
    assertEq(await timeoutAfter(AWAIT_LIMIT_MS, p.wait_async(null)), 5, 'rc');
    assertEq(p.seen, [['vfunc_started', true], ['handler', 5], ['vfunc_exited', 5]], 'seen');
});

asyncTest('fork_child_run_is_not_overridable', async () => {
    assert(!('vfunc_run' in Psf.ForkProcess.prototype), 'vfunc_run is exposed');
    assert(!('new_with_func' in Psf.ForkProcess), 'new_with_func must be (skip)');
    assert(!('ForkFunc' in Psf), 'PsfForkFunc must be (skip)');
    let e = null;
    try {
        GObject.registerClass({GTypeName: 'PsfTestGjsChildRoutine'},
            class extends Psf.ForkProcess {
                vfunc_run(_reportFd) {
                    return 0;
                }
            });
    } catch (err) {
        e = err;
    }
    assert(e !== null, 'a class overriding vfunc_run was registered');
    assert(String(e).includes('run'), `unclear error: ${e}`);

    // Without an override, a plain subclass has nothing to run: refused.
    const Plain = GObject.registerClass({GTypeName: 'PsfTestGjsPlainFork'},
        class extends Psf.ForkProcess {});
    for (const method of [Psf.StartMethod.FORK, Psf.StartMethod.SPAWN]) {
        const p = new Plain({start_method: method});
        assertError(caught(() => p.start()), Psf.Error.quark(), Psf.Error.INVALID_ARGUMENT,
            'PsfTestGjsPlainFork');
        assertEq(p.state, Psf.TaskState.NEW, 'state');
    }
});

// --- main ----------------------------------------------------------------------

let n = 0;
let failed = 0;

function report(name, error) {
    n++;
    if (error === null) {
        print(`ok ${n} ${name}`);
    } else if (error instanceof Skip) {
        print(`ok ${n} ${name} # SKIP ${error.message}`);
    } else {
        failed++;
        print(`not ok ${n} ${name}`);
        for (const line of `${error}\n${error.stack ?? ''}`.split('\n'))
            print(`# ${line}`);
    }
}

print(`1..${syncTests.length + asyncTests.length + 1}`);
for (const [name, fn] of syncTests) {
    try {
        fn();
        report(name, null);
    } catch (e) {
        report(name, e);
    }
}
for (const [name, fn] of asyncTests) {
    try {
        // eslint-disable-next-line no-await-in-loop
        await fn();
        report(name, null);
    } catch (e) {
        report(name, e);
    }
}

iterateDefault();
const zombies = zombieChildren();
report('no_zombies', zombies.length ? new Error(`zombie children: ${zombies}`) : null);

System.exit(failed ? 1 : 0);
