#!/usr/bin/python3
# check-child-symbols.py ARCHIVE ALLOW-LIST: plugin/child (a static library)
# calls nothing from outside itself but the names in ALLOW-LIST. The child
# code runs between fork() and _exit() in threaded hosts: a malloc(), a
# printf() or any GLib call there can deadlock the child, so a new outside
# call fails this test until it is added to the list with a reason.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import re
import subprocess
import sys

archive, allow_path = sys.argv[1], sys.argv[2]

allowed = set()
for line in open(allow_path, encoding='utf-8'):
    line = line.split('#', 1)[0].strip()
    if line:
        allowed.add(line)


def symbols(flag):
    out = subprocess.run(['nm', flag, '--format=posix', archive],
                         check=True, capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        fields = line.split()
        # "name type [value size]"; member headers end with ':'
        if len(fields) >= 2 and not fields[0].endswith(':') and not fields[0].endswith(']:'):
            names.add(fields[0].split('@')[0])
    return names


defined = symbols('--defined-only')
undefined = symbols('--undefined-only') - defined

# Instrumentation of sanitizer and fuzzing builds is not the code's own.
INSTRUMENTATION = re.compile(r'^__(asan|ubsan|sanitizer|sancov|lsan|msan|tsan)_')

bad = []
for name in sorted(undefined):
    if INSTRUMENTATION.match(name):
        continue
    base = name
    m = re.match(r'^__(\w+)_chk$', name)     # _FORTIFY_SOURCE variants
    if m:
        base = m.group(1)
    if base not in allowed:
        bad.append(name)

print('1..1')
if bad:
    print(f'not ok 1 - plugin/child calls outside its allow-list: {", ".join(bad)}')
    sys.exit(1)
print(f'ok 1 - plugin/child calls only allowed functions ({len(undefined)} names)')
