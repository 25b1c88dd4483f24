#!/usr/bin/python3
# check-install.py BUILDDIR PROGRAM MODULE LIBDIR: `meson install --destdir`
# into a temporary folder, then check that the psf-syncfs program (PROGRAM,
# its installed path) finds its module where it is installed (MODULE) under
# the same root, with nothing from the build tree: a run the program hands
# on (--json) loads that module, a run it serves itself (-q) loads none.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from psfinstall import staged_install  # noqa: E402

builddir, program, module, libdir = sys.argv[1:5]


def fail(message):
    print(f'FAIL: {message}')
    sys.exit(1)


def run_staged(argv, env, tmp):
    """Runs argv with LD_DEBUG=libs; returns (the process, what the
    dynamic linker loaded)."""
    log = os.path.join(tmp, 'ld-debug')
    proc = subprocess.run(argv, env=dict(env, LD_DEBUG='libs', LD_DEBUG_OUTPUT=log),
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    loaded = ''
    for name in os.listdir(tmp):
        if name.startswith('ld-debug.'):
            with open(os.path.join(tmp, name), encoding='utf-8', errors='replace') as f:
                loaded += f.read()
            os.unlink(os.path.join(tmp, name))
    return proc, loaded


with staged_install(builddir) as destdir:
    staged_program = destdir + program
    staged_module = destdir + module
    for path in (staged_program, staged_module):
        if not os.path.isfile(path):
            fail(f'{path} was not installed')
    if os.path.exists(os.path.join(os.path.dirname(staged_program), os.path.basename(module))):
        fail('the module was installed beside the program')
    print(f'installed {staged_program}\n  and {staged_module}')

    env = {key: value for key, value in os.environ.items()
           if not key.startswith(('PSF_', 'LD_'))}
    # The module's libpsf-1, from the staged tree.
    env['LD_LIBRARY_PATH'] = destdir + libdir
    env['LC_ALL'] = 'C.UTF-8'

    with tempfile.TemporaryDirectory(prefix='psf-install-run-') as tmp:
        proc, loaded = run_staged([staged_program, '--json', tmp], env, tmp)
        if proc.returncode != 0:
            fail(f'--json exited {proc.returncode}: {proc.stderr.decode()}')
        doc = json.loads(proc.stdout)
        if doc['results'][0]['status'] != 'synced':
            fail(f'--json: {doc}')
        if f'calling init: {staged_module}' not in loaded:
            fail(f'--json did not load {staged_module}:\n{loaded}')
        print(f'ok: --json ran the installed module {staged_module}')

        proc, loaded = run_staged([staged_program, '-q', tmp], env, tmp)
        if (proc.returncode, proc.stdout, proc.stderr) != (0, b'', b''):
            fail(f'-q: {proc}')
        if 'psf-syncfs-cli.so' in loaded or 'libglib' in loaded:
            fail(f'-q loaded the module or GLib:\n{loaded}')
        print('ok: -q ran without the module')
