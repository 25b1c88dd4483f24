#!/usr/bin/python3
# check-launch-includes.py SRCDIR: plugin/launch/ is the start methods
# behind one description (PsfLaunch) and returns what it started; the
# process types watch it. So no file there includes a process type's
# header (psf-task*, psf-subprocess*, psf-spawn-process*,
# psf-fork-process*, psf-syncfs-process*), directly or through psf.h.
# One TAP result per file.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import re
import sys

srcdir = sys.argv[1]
launch = os.path.join(srcdir, 'plugin', 'launch')
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
FORBIDDEN = re.compile(r'''^(?:.*/)?(
      psf\.h
    | psf-task[^/]*\.h
    | psf-subprocess[^/]*\.h
    | psf-spawn-process[^/]*\.h
    | psf-fork-process[^/]*\.h
    | psf-syncfs-process[^/]*\.h
)$''', re.X)

names = sorted(n for n in os.listdir(launch) if n.endswith(('.c', '.h')))
if not names:
    print('1..0 # SKIP no source in plugin/launch')
    sys.exit(0)

print(f'1..{len(names)}')
failed = 0
for i, name in enumerate(names, 1):
    with open(os.path.join(launch, name), encoding='utf-8') as f:
        text = f.read()
    bad = [h for h in INCLUDE.findall(text) if FORBIDDEN.match(h)]
    if bad:
        failed += 1
        print(f'not ok {i} - plugin/launch/{name} includes {", ".join(bad)}')
    else:
        print(f'ok {i} - plugin/launch/{name}')
sys.exit(1 if failed else 0)
