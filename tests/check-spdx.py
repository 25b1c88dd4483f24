#!/usr/bin/python3
# check-spdx.py SRCDIR: every source, build and data file of psf carries an
# SPDX-License-Identifier line (the licence meson.build declares, or
# another one it names), so a distribution can check the licences file by
# file. Prose, translations, generated corpora and tiny test data are
# exempt (see EXEMPT).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import re
import subprocess
import sys

srcdir = sys.argv[1]
EXEMPT = re.compile(r'''(
      \.md$ | \.po$ | \.pot$ | (^|/)LINGUAS$ | (^|/)POTFILES$ | (^|/)\.gitignore$
    | ^COPYING$ | ^NEWS$
    | ^tests/fuzz/corpus/            # inputs of the fuzzers, byte for byte
    | ^tests/builder/project/hello\.txt$   # one line a test installs
)''', re.X)


def files():
    if os.path.isdir(os.path.join(srcdir, '.git')):
        out = subprocess.run(['git', '-C', srcdir, 'ls-files', '-z'],
                             capture_output=True, check=True).stdout
        return [f.decode() for f in out.split(b'\0') if f]
    found = []
    for top, dirs, names in os.walk(srcdir):
        dirs[:] = [d for d in dirs if not d.startswith(('_build', 'build', '.'))
                   or d == 'build-aux']
        for name in names:
            found.append(os.path.relpath(os.path.join(top, name), srcdir))
    return found


paths = sorted(f for f in files() if not EXEMPT.search(f)
               and os.path.isfile(os.path.join(srcdir, f)))
print(f'1..{len(paths)}')
failed = 0
for i, path in enumerate(paths, 1):
    with open(os.path.join(srcdir, path), 'rb') as f:
        head = f.read(4096)
    if b'SPDX-License-Identifier:' in head:
        print(f'ok {i} - {path}')
    else:
        failed += 1
        print(f'not ok {i} - {path} has no SPDX-License-Identifier line near its top')
sys.exit(1 if failed else 0)
