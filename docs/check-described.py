#!/usr/bin/python3
# check-described.py DOCS-DIR: every page of the built API reference
# describes what it shows (gi-docgen writes "No description available"
# where a symbol, member, property, signal or virtual method has no doc).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import sys

docs = sys.argv[1]
pages = sorted(p for p in os.listdir(docs) if p.endswith('.html'))
print(f'1..{max(len(pages), 1)}')
if not pages:
    print(f'not ok 1 - no pages in {docs}: is the reference built?')
    sys.exit(1)
failed = 0
for i, page in enumerate(pages, 1):
    text = open(os.path.join(docs, page), encoding='utf-8').read()
    missing = text.count('No description available')
    if missing:
        failed += 1
        print(f'not ok {i} - {page}: {missing} item(s) without a description')
    else:
        print(f'ok {i} - {page}')
sys.exit(1 if failed else 0)
