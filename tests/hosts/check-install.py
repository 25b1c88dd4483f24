#!/usr/bin/python3
# check-install.py BUILDDIR [ORCHESTRATOR]: `meson install --destdir` into
# a temporary folder, then check that libpsf-syncfs.so and psf-syncfs.plugin
# sit side by side in the folder the installed psf-1.pc names as
# pluginsdir. With ORCHESTRATOR (orchestrator.py) and an installed typelib,
# also run it on the installed tree alone: installed library, helper,
# typelib and plugin, nothing from the build tree.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from psfinstall import staged_install  # noqa: E402

builddir = sys.argv[1]
orchestrator = sys.argv[2] if len(sys.argv) > 2 else None


def fail(message):
    print(f'FAIL: {message}')
    sys.exit(1)


with staged_install(builddir) as destdir:
    pcs = []
    for root, _dirs, files in os.walk(destdir):
        pcs += [os.path.join(root, f) for f in files if f == 'psf-1.pc']
    if len(pcs) != 1:
        fail(f'expected one installed psf-1.pc, found {pcs}')
    pc = pcs[0]

    # The .pc names folders under its prefix: point the prefix into the
    # destdir and let pkg-config expand pluginsdir.
    prefix = subprocess.run(['pkg-config', '--variable=prefix', pc],
                            check=True, capture_output=True, text=True).stdout.strip()
    staged_prefix = destdir + prefix
    pluginsdir = subprocess.run(['pkg-config', f'--define-variable=prefix={staged_prefix}',
                                 '--variable=pluginsdir', pc],
                                check=True, capture_output=True, text=True).stdout.strip()
    print(f'installed {pc}\n  prefix={prefix}\n  pluginsdir={pluginsdir}')
    if not pluginsdir.startswith(staged_prefix + os.sep):
        fail(f'pluginsdir {pluginsdir} is not under the prefix {staged_prefix}')
    if not os.path.isdir(pluginsdir):
        fail(f'pluginsdir {pluginsdir} was not installed')

    module = os.path.join(pluginsdir, 'libpsf-syncfs.so')
    plugin = os.path.join(pluginsdir, 'psf-syncfs.plugin')
    for path in (module, plugin):
        if not os.path.isfile(path):
            fail(f'{path} is missing; pluginsdir holds {sorted(os.listdir(pluginsdir))}')

    with open(plugin, encoding='utf-8') as f:
        keys = dict(line.rstrip('\n').split('=', 1) for line in f if '=' in line)
    if keys.get('Module') != 'psf-syncfs' or keys.get('X-Psf-ABI') != '2':
        fail(f'{plugin} does not describe psf-syncfs with X-Psf-ABI=2: {keys}')

    print(f'ok: {os.path.basename(module)} and {os.path.basename(plugin)} side by side in pluginsdir')

    if orchestrator is None:
        sys.exit(0)
    libdir = subprocess.run(['pkg-config', f'--define-variable=prefix={staged_prefix}',
                             '--variable=libdir', pc],
                            check=True, capture_output=True, text=True).stdout.strip()
    helper = subprocess.run(['pkg-config', f'--define-variable=prefix={staged_prefix}',
                             '--variable=helper', pc],
                            check=True, capture_output=True, text=True).stdout.strip()
    typelib_dir = os.path.join(libdir, 'girepository-1.0')
    if not os.path.isfile(os.path.join(typelib_dir, 'Psf-1.typelib')):
        print('introspection not installed: the installed plugin is not run')
        sys.exit(0)
    env = {key: value for key, value in os.environ.items()
           if key not in ('PSF_PLUGIN_PATH', 'PSF_CHILD_PATH', 'LD_LIBRARY_PATH', 'GI_TYPELIB_PATH')}
    env.update(LD_LIBRARY_PATH=libdir, GI_TYPELIB_PATH=typelib_dir, PSF_CHILD_PATH=helper)
    run = subprocess.run(['/usr/bin/python3', orchestrator, '--plugin-path', pluginsdir],
                         env=env, capture_output=True, text=True, timeout=120)
    print(run.stdout + run.stderr)
    if run.returncode != 0 or 'psf-syncfs: 1 filesystem(s) synced' not in run.stdout:
        fail(f'the orchestrator did not run the installed plugin (exit {run.returncode})')
    print('ok: the installed plugin runs from the installed tree')

    # The installed command, with the installed library, helper and German
    # catalog (the library and the command bind their domain from
    # PSF_LOCALEDIR when the prefix is staged).
    bindir = os.path.join(staged_prefix, 'bin')
    localedir = os.path.join(staged_prefix, 'share', 'locale')
    cli = os.path.join(bindir, 'psf-syncfs')
    if os.path.isfile(cli):
        with tempfile.TemporaryDirectory(prefix='psf-install-run-') as work:
            cli_env = dict(env, PSF_LOCALEDIR=localedir, LC_ALL='C.UTF-8', LANGUAGE='C')
            run = subprocess.run([cli, '--json', work], env=cli_env,
                                 capture_output=True, text=True, timeout=60)
            if run.returncode != 0 or '"synced"' not in run.stdout:
                fail(f'the installed psf-syncfs did not sync {work} (exit {run.returncode}): '
                     f'{run.stdout}{run.stderr}')
            print('ok: the installed psf-syncfs syncs with the installed helper')

            if not os.path.isfile(os.path.join(localedir, 'de', 'LC_MESSAGES', 'psf-1.mo')):
                fail('the German catalog psf-1.mo was not installed')
            cli_env.update(LANGUAGE='de')
            run = subprocess.run([cli, '--help'], env=cli_env,
                                 capture_output=True, text=True, timeout=60)
            if run.returncode != 0 or 'PFAD' not in run.stdout.upper():
                fail(f'the installed psf-syncfs --help is not German: {run.stdout}')
            print('ok: the installed catalog gives German')

    # A Python import against the installed typelib alone.
    probe = ('import gi; gi.require_version("Psf", "1"); from gi.repository import Psf; '
             f'p = Psf.SyncfsProcess(paths=["{destdir}"]); p.start(); rc = p.wait(); '
             'r = p.get_results()[0]; '
             'print(rc, r.get_status().value_nick); assert rc == 0')
    run = subprocess.run(['/usr/bin/python3', '-c', probe], env=env,
                         capture_output=True, text=True, timeout=60)
    if run.returncode != 0 or run.stdout.strip() != '0 synced':
        fail(f'Python could not use the installed typelib: {run.stdout}{run.stderr}')
    print('ok: Python imports Psf from the installed typelib and syncs')
