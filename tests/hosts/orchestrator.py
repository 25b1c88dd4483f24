#!/usr/bin/python3
# orchestrator.py: a package manager's merge, with psf's post-merge hook
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# An example host that knows nothing of psf's process classes. It plays what
# a package manager does at merge time:
#
#   1. build an image of a small package in a temporary folder (Portage's
#      ${D}) and merge it into a staging root (${ROOT}), writing down every
#      path it merged;
#   2. load every plugin from a plugin path that says it is a psf plugin
#      (X-Psf-ABI in its .plugin) and provides Psf.Hook, refusing one built
#      for another plugin ABI;
#   3. run each hook over the merged paths, in a GLib main loop, and print
#      the per-path report.
#
#   /usr/bin/python3 orchestrator.py [--plugin-path DIR] [--root DIR]
#                                    [--timeout MS] [--sync-fallback]
#
# From a build tree: `meson devenv -C build /usr/bin/python3
# tests/hosts/orchestrator.py` (devenv sets PSF_PLUGIN_PATH,
# GI_TYPELIB_PATH, LD_LIBRARY_PATH and PSF_CHILD_PATH). Installed, the
# plugin path is `pkg-config --variable=pluginsdir psf-1`.
#
# Exit status: 0 when every hook ran, 1 when one failed, 2 when no hook
# could be loaded. Use Debian's /usr/bin/python3: it has `gi`.

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import gi

gi.require_version('GLib', '2.0')
gi.require_version('Peas', '1.0')
gi.require_version('Psf', '1')
from gi.repository import GLib, Peas, Psf  # noqa: E402

# The plugin ABI this host speaks; a .plugin says its own with X-Psf-ABI,
# which libpeas hands out as the external data "Psf-ABI".
PLUGIN_ABI = '2'


class Refusal(Exception):
    """A psf plugin this host will not use, and why."""


def default_plugin_path():
    path = os.environ.get('PSF_PLUGIN_PATH')
    if path:
        return path.split(os.pathsep)[0]
    try:
        return subprocess.run(['pkg-config', '--variable=pluginsdir', 'psf-1'],
                              check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def new_engine(plugin_dir):
    """A private PeasEngine that searches plugin_dir. libpeas says nothing
    about a folder that does not exist, so the host does."""
    if not os.path.isdir(plugin_dir):
        raise Refusal(f'plugin folder {plugin_dir} does not exist or is not a folder')
    engine = Peas.Engine.new()
    engine.add_search_path(plugin_dir, None)
    engine.rescan_plugins()
    return engine


def check_abi(info):
    abi = info.get_external_data('Psf-ABI')
    if abi is None:
        raise Refusal(f'plugin {info.get_module_name()} ({info.get_module_dir()}) '
                      'has no X-Psf-ABI key: not a psf plugin')
    if abi != PLUGIN_ABI:
        raise Refusal(f'plugin {info.get_module_name()} ({info.get_module_dir()}) '
                      f'is built for psf plugin ABI {abi}, this host speaks ABI '
                      f'{PLUGIN_ABI}: not loaded')


def create_hook(engine, info):
    check_abi(info)
    if not engine.load_plugin(info):
        raise Refusal(f'plugin {info.get_module_name()} ({info.get_module_dir()}) '
                      'could not be loaded (libpeas said why above)')
    if not engine.provides_extension(info, Psf.Hook):
        raise Refusal(f'plugin {info.get_module_name()} does not provide Psf.Hook')
    # Only properties of the interface itself can be passed here; the
    # plugin's own settings are set on the extension afterwards.
    hook = engine.create_extension(info, Psf.Hook, [], [])
    if hook is None:
        raise Refusal(f'plugin {info.get_module_name()} did not create its Psf.Hook')
    return hook


def load_hooks(engine):
    """Every psf plugin the engine knows: [(info, hook)], [refusal message].
    Plugins without X-Psf-ABI belong to someone else and are passed over."""
    hooks, refusals = [], []
    for info in engine.get_plugin_list():
        if info.get_external_data('Psf-ABI') is None:
            continue
        try:
            hooks.append((info, create_hook(engine, info)))
        except Refusal as refusal:
            refusals.append(str(refusal))
    return hooks, refusals


def run_hook(hook, paths, timeout_s=60):
    """Runs hook over paths in a main loop: (results, None) or
    (results, GLib.Error). The per-path results come in both cases, from
    Psf.Hook.get_results() when run_finish() raised (an exception carries
    no return value). PyGObject 3.42 has no asyncio: a callback quits."""
    loop = GLib.MainLoop()
    outcome = {}

    def done(source, result, _data):
        try:
            outcome['results'] = source.run_finish(result)
        except GLib.Error as error:
            outcome['error'] = error
            outcome['results'] = source.get_results(result)
        loop.quit()

    def too_long():
        outcome['timed_out'] = True
        loop.quit()
        return GLib.SOURCE_REMOVE

    hook.run_async(paths, None, done, None)
    limit = GLib.timeout_add_seconds(timeout_s, too_long)
    loop.run()
    if outcome.get('timed_out'):
        return None, GLib.Error(f'the hook did not finish in {timeout_s} s')
    GLib.source_remove(limit)
    return outcome.get('results'), outcome.get('error')


def describe(result):
    status = Psf.SyncfsStatus(result.get_status()).value_nick
    text = f'{status:<9} {result.get_path()}'
    if result.get_errno():
        text += f'  ({os.strerror(result.get_errno())})'
    elif result.get_device():
        dev = result.get_device()
        text += f'  (device {os.major(dev)}:{os.minor(dev)})'
    return text


# The package: what `make install DESTDIR=${D}` left in the image.
PACKAGE = {
    'usr/bin/hello': '#!/bin/sh\necho hello\n',
    'usr/share/doc/hello-1.0/README': 'hello, merged by orchestrator.py\n',
    'etc/hello.conf': 'greeting=hello\n',
    'var/db/pkg/app-misc/hello-1.0/CONTENTS': '',
}


def build_image(image):
    for relpath, contents in PACKAGE.items():
        path = os.path.join(image, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(contents)
    os.chmod(os.path.join(image, 'usr/bin/hello'), 0o755)


def merge(image, root):
    """Copies the image into root; returns the merged paths, files and the
    folders that hold them, in merge order (what Portage's CONTENTS has)."""
    merged = []
    for dirpath, dirnames, filenames in os.walk(image):
        dirnames.sort()
        rel = os.path.relpath(dirpath, image)
        target_dir = os.path.normpath(os.path.join(root, rel))
        os.makedirs(target_dir, exist_ok=True)
        if rel != '.':
            merged.append(target_dir)
        for name in sorted(filenames):
            target = os.path.join(target_dir, name)
            shutil.copy2(os.path.join(dirpath, name), target)
            merged.append(target)
    return merged


def main(argv=None):
    parser = argparse.ArgumentParser(description='Merge a small package and run the psf hooks.')
    parser.add_argument('--plugin-path', default=default_plugin_path(),
                        help='folder of psf plugins (default: $PSF_PLUGIN_PATH, '
                             'else pkg-config --variable=pluginsdir psf-1)')
    parser.add_argument('--root', help='staging root to merge into (default: a temporary folder)')
    parser.add_argument('--timeout', type=int, default=0, help='hook timeout in ms (0: none)')
    parser.add_argument('--sync-fallback', action='store_true',
                        help='let hooks call sync() where syncfs() does not exist')
    args = parser.parse_args(argv)

    if not args.plugin_path:
        print('orchestrator: no plugin path (set PSF_PLUGIN_PATH or install psf-1)', file=sys.stderr)
        return 2

    try:
        engine = new_engine(args.plugin_path)
    except Refusal as refusal:
        print(f'orchestrator: {refusal}', file=sys.stderr)
        return 2

    hooks, refusals = load_hooks(engine)
    for refusal in refusals:
        print(f'orchestrator: refused {refusal}', file=sys.stderr)
    if not hooks:
        print(f'orchestrator: no psf hook in {args.plugin_path}', file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix='psf-orchestrator-') as work:
        image = os.path.join(work, 'image')
        root = args.root or os.path.join(work, 'root')
        build_image(image)
        merged = merge(image, root)
        print(f'>>> merged {len(merged)} paths into {root}')

        status = 0
        for info, hook in hooks:
            hook.props.timeout = args.timeout
            hook.props.sync_fallback = args.sync_fallback
            print(f'>>> post-merge hook {info.get_module_name()} ({info.get_name()})')
            results, error = run_hook(hook, merged)
            for result in results or []:
                print(f'    {describe(result)}')
            if error is not None:
                print(f'!!! {info.get_module_name()} failed: {error.message}')
                status = 1
                continue
            synced = sum(1 for r in results if r.get_status() == Psf.SyncfsStatus.SYNCED)
            print(f'>>> {info.get_module_name()}: {synced} filesystem(s) synced for '
                  f'{len(results)} path(s)')

    for info, _hook in hooks:
        engine.unload_plugin(info)
    return status


if __name__ == '__main__':
    sys.exit(main())
