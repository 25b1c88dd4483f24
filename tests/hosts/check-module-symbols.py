#!/usr/bin/python3
# check-module-symbols.py MODULE [SYMBOL]: a loadable module exports SYMBOL
# (default peas_register_types, the libpeas module's entry point) and
# nothing else of its own (the linker's own markers aside). Everything
# else is built with hidden visibility.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import subprocess
import sys

LINKER_SYMBOLS = {'_init', '_fini', '__bss_start', '_edata', '_end', '__end__',
                  '_DYNAMIC', '_GLOBAL_OFFSET_TABLE_', '__data_start', '__dso_handle'}

module = sys.argv[1]
entry = sys.argv[2] if len(sys.argv) > 2 else 'peas_register_types'
out = subprocess.run(['nm', '-D', '--defined-only', module],
                     check=True, capture_output=True, text=True).stdout
exported = set()
for line in out.splitlines():
    fields = line.split()
    if len(fields) != 3:
        continue
    _value, kind, name = fields
    name = name.split('@')[0]
    if name in LINKER_SYMBOLS:
        continue
    exported.add(name)

print(f'{module} exports: {", ".join(sorted(exported)) or "nothing"}')
if exported != {entry}:
    extra = sorted(exported - {entry})
    if extra:
        print(f'FAIL: exported beyond {entry}: {", ".join(extra)}')
    if entry not in exported:
        print(f'FAIL: {entry} is not exported')
    sys.exit(1)
print(f'ok: {entry} is the only exported symbol')
