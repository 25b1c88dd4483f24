# psfinstall.py: the build tree installed into a temporary DESTDIR, for the
# tests that check an installed tree (tests/hosts/check-install.py,
# tests/cli/check-install.py)
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import contextlib
import subprocess
import sys
import tempfile


@contextlib.contextmanager
def staged_install(builddir):
    """`meson install --destdir` of builddir (built already) into a
    temporary folder; yields the folder. A failed install fails the test."""
    with tempfile.TemporaryDirectory(prefix='psf-install-') as destdir:
        install = subprocess.run(['meson', 'install', '-C', builddir, '--no-rebuild', '--quiet',
                                  '--destdir', destdir], capture_output=True, text=True)
        if install.returncode != 0:
            print(install.stdout + install.stderr)
            print(f'FAIL: meson install --destdir failed (exit {install.returncode}): '
                  'is the whole tree built?')
            sys.exit(1)
        yield destdir
