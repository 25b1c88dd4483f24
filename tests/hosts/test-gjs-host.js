// test-gjs-host.js: a gjs host loads the psf-syncfs plugin through
// Peas.Engine.new() and runs its Psf.Hook (gjs 1.74, libpeas 1.34)
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Run as an ES module (`gjs -m`) by `meson test --suite plugin-hosts`, with
// the build tree in the environment: PSF_PLUGIN_PATH (module + .plugin),
// GI_TYPELIB_PATH, LD_LIBRARY_PATH, PSF_CHILD_PATH and G_TEST_SRCDIR (this
// folder, for the fixtures). Prints TAP. Warnings (libpeas's, psf's,
// GLib's) are caught with log handlers and asserted where expected; any
// other one fails the test that caused it.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import GObject from 'gi://GObject';
import Peas from 'gi://Peas?version=1.0';
import Psf from 'gi://Psf?version=1';
import System from 'system';

// The extension's own type (PsfSyncfsPlugin) is not introspected: gjs 1.74
// gives such an object the methods of its interfaces, but only those of the
// first interface it resolves a name from (Psf.Hook or Peas.Activatable,
// whichever is used first), and Gio._promisify() on Psf.Hook.prototype
// cannot reach them either. Calling through the interface's prototype
// always works: runHook() is the promise that _promisify would give.
// A failed run rejects with the error, which carries the per-path results
// of the same run as e.results (Psf.Hook.get_results(): an exception has
// no return value of its own).
const {
    run_async: hookRunAsync, run_finish: hookRunFinish, get_results: hookGetResults,
} = Psf.Hook.prototype;

function runHook(hook, paths, cancellable = null) {
    return new Promise((resolve, reject) => {
        hookRunAsync.call(hook, paths, cancellable, (source, result) => {
            try {
                resolve(hookRunFinish.call(source, result));
            } catch (e) {
                e.results = hookGetResults.call(source, result);
                reject(e);
            }
        });
    });
}

const PLUGIN_DIR = GLib.getenv('PSF_PLUGIN_PATH');
const SRCDIR = GLib.getenv('G_TEST_SRCDIR');
const ENOENT = 2;
const EIO = 5;
const PLUGIN_ABI = '2';

const tests = [];
const test = (name, fn) => tests.push([name, fn]);

// G_DEBUG=fatal-warnings would abort on the warnings libpeas is expected to
// give, so they are caught here instead, with those of the other domains
// this host goes through (which no test expects).
const warnings = [];
for (const logDomain of ['libpeas', 'Psf', 'Psf-Plugin', 'GLib', 'GLib-GObject', 'GLib-GIO']) {
    GLib.log_set_handler(logDomain, GLib.LogLevelFlags.LEVEL_WARNING | GLib.LogLevelFlags.LEVEL_CRITICAL,
        (domain, level, message) => warnings.push(domain === 'libpeas' ? message : `${domain}: ${message}`));
}
const takeWarnings = () => warnings.splice(0, warnings.length);

function assert(cond, message = 'assertion failed') {
    if (!cond)
        throw new Error(message);
}

function assertEqual(actual, expected, what) {
    if (actual !== expected)
        throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

function writeFile(path, text) {
    GLib.mkdir_with_parents(GLib.path_get_dirname(path), 0o755);
    GLib.file_set_contents(path, text);
}

function removeTree(path) {
    const file = Gio.File.new_for_path(path);
    const type = file.query_file_type(Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
    if (type === Gio.FileType.DIRECTORY) {
        const children = file.enumerate_children('standard::name', Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
        let info;
        while ((info = children.next_file(null)) !== null)
            removeTree(GLib.build_filenamev([path, info.get_name()]));
        children.close(null);
    }
    file.delete(null);
}

// A temporary merged tree: two files, a folder, a path that is not there.
async function withTree(fn) {
    const root = GLib.dir_make_tmp('psf-gjs-host-XXXXXX');
    try {
        writeFile(`${root}/usr/bin/tool`, '#!/bin/sh\n');
        writeFile(`${root}/usr/README`, 'psf\n');
        const paths = ['usr/bin/tool', 'usr/README', 'usr/bin', 'missing'].map(p => `${root}/${p}`);
        await fn(root, paths);
    } finally {
        removeTree(root);
    }
}

// libpeas remembers a module that failed by its .plugin's path, process
// wide: each test takes its own copy of a fixture.
function copyFixture(root, name) {
    const folder = `${root}/plugins/${name}`;
    const [, contents] = GLib.file_get_contents(`${SRCDIR}/fixtures/${name}/psf-${name}.plugin`);
    writeFile(`${folder}/psf-${name}.plugin`, new TextDecoder().decode(contents));
    return folder;
}

function newEngine(...dirs) {
    const engine = Peas.Engine.new();
    for (const dir of dirs)
        engine.add_search_path(dir, null);
    engine.rescan_plugins();
    return engine;
}

// The host side: refuse a psf plugin built for another plugin ABI, load the
// others, create their Psf.Hook.
function createHook(engine, info) {
    const abi = info.get_external_data('Psf-ABI');
    if (abi !== PLUGIN_ABI) {
        throw new Error(`plugin ${info.get_module_name()} is built for psf plugin ABI ${abi}, ` +
                        `this host speaks ABI ${PLUGIN_ABI}: not loaded`);
    }
    if (!engine.load_plugin(info))
        throw new Error(`plugin ${info.get_module_name()} could not be loaded`);
    if (!engine.provides_extension(info, Psf.Hook.$gtype))
        throw new Error(`plugin ${info.get_module_name()} does not provide Psf.Hook`);
    return engine.create_extension(info, Psf.Hook.$gtype, [], []);
}

test('load-and-run', async () => {
    const engine = newEngine(PLUGIN_DIR);
    const info = engine.get_plugin_info('psf-syncfs');
    assert(info !== null, `psf-syncfs not found in ${PLUGIN_DIR}`);
    assertEqual(info.get_module_dir(), PLUGIN_DIR, 'module dir');
    assertEqual(info.get_external_data('Psf-ABI'), '2', 'X-Psf-ABI');
    assertEqual(info.get_name(), 'Filesystem sync', 'name');

    const hook = createHook(engine, info);
    assert(hook instanceof Psf.Hook, 'the extension is a Psf.Hook');
    assert(hook instanceof Peas.Activatable, 'the extension is a Peas.Activatable');

    await withTree(async (root, paths) => {
        const results = await runHook(hook, paths);
        assertEqual(results.length, paths.length, 'one result per path');
        results.forEach((r, i) => assertEqual(r.get_path(), paths[i], `path ${i}`));
        assertEqual(results[0].get_status(), Psf.SyncfsStatus.SYNCED, 'status 0');
        assertEqual(results[1].get_status(), Psf.SyncfsStatus.DUPLICATE, 'status 1');
        assertEqual(results[2].get_status(), Psf.SyncfsStatus.DUPLICATE, 'status 2');
        assertEqual(results[3].get_status(), Psf.SyncfsStatus.SKIPPED, 'status 3');
        assertEqual(results[3].get_errno(), ENOENT, 'errno 3');
        assertEqual(results[1].get_device(), results[0].get_device(), 'one device');
    });

    assert(engine.unload_plugin(info), 'unloaded');
    assert(!info.is_loaded(), 'not loaded after unload');
});

test('activatable', () => {
    const engine = newEngine(PLUGIN_DIR);
    const info = engine.get_plugin_info('psf-syncfs');
    assert(engine.load_plugin(info), 'loaded');
    // A generic host creates the Peas.Activatable of each plugin with its
    // own object and activates it; the plugin goes along and does nothing.
    const hostObject = new GObject.Object();
    const extension = engine.create_extension(info, Peas.Activatable.$gtype, ['object'], [hostObject]);
    assert(extension instanceof Peas.Activatable, 'a Peas.Activatable');
    assert(extension.object === hostObject, 'the extension has the host object');
    const {activate, update_state: updateState, deactivate} = Peas.Activatable.prototype;
    activate.call(extension);
    updateState.call(extension);
    deactivate.call(extension);
});

test('properties', async () => {
    const engine = newEngine(PLUGIN_DIR);
    const hook = createHook(engine, engine.get_plugin_info('psf-syncfs'));
    assertEqual(hook.timeout, 0, 'default timeout');
    assertEqual(hook.sync_fallback, false, 'default sync-fallback');
    hook.timeout = 60000;
    hook.syncFallback = true;
    assertEqual(hook.timeout, 60000, 'timeout');
    assertEqual(hook.sync_fallback, true, 'sync-fallback');

    await withTree(async root => {
        const results = await runHook(hook, [root]);
        assertEqual(results[0].get_status(), Psf.SyncfsStatus.SYNCED, 'synced');
    });
});

test('cancelled', async () => {
    const engine = newEngine(PLUGIN_DIR);
    const hook = createHook(engine, engine.get_plugin_info('psf-syncfs'));
    const cancellable = new Gio.Cancellable();
    cancellable.cancel();
    await withTree(async root => {
        try {
            await runHook(hook, [root], cancellable);
        } catch (e) {
            assert(e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED), `cancelled: ${e}`);
            return;
        }
        throw new Error('a cancelled run succeeded');
    });
});

// The shim this suite preloads makes every syncfs() of psf's child fail
// while PSF_SHIM_SYNCFS_ERRNO is set (read at each call, inherited).
test('failed-keeps-results', async () => {
    if (GLib.getenv('PSF_TEST_FAULT_SHIM') === null)
        return 'SKIP the fault shim is not preloaded';
    const engine = newEngine(PLUGIN_DIR);
    const hook = createHook(engine, engine.get_plugin_info('psf-syncfs'));
    await withTree(async (root, paths) => {
        GLib.setenv('PSF_SHIM_SYNCFS_ERRNO', 'EIO', true);
        let error = null;
        try {
            await runHook(hook, paths);
        } catch (e) {
            error = e;
        } finally {
            GLib.unsetenv('PSF_SHIM_SYNCFS_ERRNO');
        }
        assert(error !== null, 'a failed sync succeeded');
        assert(error.matches(Psf.Error, Psf.Error.FAILED), `PSF_ERROR_FAILED: ${error}`);
        assert(error.message.includes(paths[0]), error.message);
        const results = error.results;
        assertEqual(results.length, paths.length, 'one result per path');
        results.forEach((r, i) => assertEqual(r.get_path(), paths[i], `path ${i}`));
        // The paths on the failed filesystem carry its errno.
        for (let i = 0; i < 3; i++) {
            assertEqual(results[i].get_status(), Psf.SyncfsStatus.FAILED, `status ${i}`);
            assertEqual(results[i].get_errno(), EIO, `errno ${i}`);
        }
        assertEqual(results[3].get_status(), Psf.SyncfsStatus.SKIPPED, 'status 3');
        assertEqual(results[3].get_errno(), ENOENT, 'errno 3');
    });
});

test('wrong-abi', async () => {
    await withTree(async root => {
        const engine = newEngine(copyFixture(root, 'wrong-abi'));
        const info = engine.get_plugin_info('psf-wrong-abi');
        try {
            createHook(engine, info);
        } catch (e) {
            assert(e.message.includes('is built for psf plugin ABI 1, this host speaks ABI 2'), e.message);
            assert(!info.is_loaded(), 'not loaded');
            return;
        }
        throw new Error('a plugin with X-Psf-ABI=1 was not refused');
    });
});

test('missing-module', async () => {
    await withTree(async root => {
        const engine = newEngine(copyFixture(root, 'missing-module'));
        const info = engine.get_plugin_info('psf-missing-module');
        assertEqual(info.get_external_data('Psf-ABI'), '2', 'X-Psf-ABI');
        assert(!engine.load_plugin(info), 'a plugin without its module loaded');
        const seen = takeWarnings();
        assertEqual(seen.length, 2, `libpeas warnings ${JSON.stringify(seen)}`);
        assert(seen[0].startsWith("Failed to load module 'psf-missing-module': "), seen[0]);
        assert(seen[0].includes('libpsf-missing-module.so: cannot open shared object file'), seen[0]);
        assertEqual(seen[1], "Error loading plugin 'psf-missing-module'", 'second warning');
        assert(!info.is_loaded(), 'not loaded');
    });
});

test('missing-dir', async () => {
    await withTree(async root => {
        const missing = `${root}/no-such-plugins`;
        assert(!GLib.file_test(missing, GLib.FileTest.IS_DIR), 'the folder is missing');
        // libpeas takes such a folder without a word and finds nothing.
        const engine = newEngine(missing);
        const psfPlugins = engine.get_plugin_list().filter(i => i.get_external_data('Psf-ABI') !== null);
        assertEqual(psfPlugins.length, 0, 'psf plugins in a missing folder');
    });
});

let failed = 0;
let number = 0;
for (const [name, fn] of tests) {
    number++;
    takeWarnings();
    try {
        // eslint-disable-next-line no-await-in-loop
        const outcome = await fn();
        const unexpected = takeWarnings();
        if (unexpected.length > 0)
            throw new Error(`unexpected warnings: ${JSON.stringify(unexpected)}`);
        const skip = typeof outcome === 'string' && outcome.startsWith('SKIP') ? ` # ${outcome}` : '';
        print(`ok ${number} /psf/plugin-host/gjs/${name}${skip}`);
    } catch (e) {
        failed++;
        print(`not ok ${number} /psf/plugin-host/gjs/${name}`);
        for (const line of `${e}\n${e.stack ?? ''}`.split('\n'))
            print(`# ${line}`);
    }
}
print(`1..${tests.length}`);
System.exit(failed > 0 ? 1 : 0);
