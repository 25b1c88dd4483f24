#!/usr/bin/python3
# test-readme.py: run the code blocks of a README section verbatim
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   test-readme.py README.md python /usr/bin/python3
#   test-readme.py README.md js /usr/bin/gjs
#
# Takes every ```python (or ```js) block under the "## Python" (or
# "## JavaScript") heading of the README, writes it to a file as it is and
# runs it in an empty temporary directory: it must exit 0, print something
# and write nothing on stderr. Prints TAP, one result per block, so the
# documentation cannot rot.

import os
import re
import shutil
import subprocess
import sys
import tempfile

LANGS = {
    # lang: (section heading, fence info string, file suffix, argv prefix)
    'python': ('Python', 'python', '.py', []),
    'js': ('JavaScript', 'js', '.js', ['-m']),
}
TIMEOUT_S = 60


def section(text, heading):
    """The lines of the level-2 section `heading`, up to the next one."""
    lines = text.splitlines()
    out = None
    for line in lines:
        if re.match(r'^## ', line):
            if out is not None:
                break
            if line[3:].strip() == heading:
                out = []
            continue
        if out is not None:
            out.append(line)
    return out


def blocks(lines, info):
    """(line number in the section, code) of every ```info block."""
    found = []
    code = None
    fence = None
    for i, line in enumerate(lines):
        if code is None:
            m = re.match(r'^(\s*)(```+)\s*(\S*)\s*$', line)
            if m and m.group(3) == info:
                code, fence, start = [], m.group(2), i
        elif line.strip() == fence:
            found.append((start, '\n'.join(code) + '\n'))
            code = None
        else:
            code.append(line)
    return found


def main():
    readme, lang, interpreter = sys.argv[1:4]
    heading, info, suffix, prefix = LANGS[lang]

    if lang == 'python':
        probe = subprocess.run([interpreter, '-c', 'import gi'], capture_output=True)
        if probe.returncode != 0:
            print('1..0 # SKIP %s has no PyGObject (gi)' % interpreter)
            return 0
    elif shutil.which(interpreter) is None:
        print('1..0 # SKIP %s is not installed' % interpreter)
        return 0

    with open(readme, encoding='utf-8') as f:
        lines = section(f.read(), heading)
    if lines is None:
        print('1..1\nnot ok 1 README.md has no "## %s" section' % heading)
        return 1
    snippets = blocks(lines, info)
    if not snippets:
        print('1..1\nnot ok 1 no ```%s block under "## %s"' % (info, heading))
        return 1

    failed = 0
    print('1..%d' % len(snippets))
    for n, (line, code) in enumerate(snippets, 1):
        name = '%s snippet %d (line %d of the section)' % (heading, n, line + 1)
        workdir = tempfile.mkdtemp(prefix='psf-readme-')
        try:
            path = os.path.join(workdir, 'snippet%d%s' % (n, suffix))
            with open(path, 'w', encoding='utf-8') as f:
                f.write(code)
            try:
                proc = subprocess.run([interpreter] + prefix + [path], cwd=workdir,
                                      capture_output=True, text=True, timeout=TIMEOUT_S)
                problems = []
                if proc.returncode != 0:
                    problems.append('exit status %d' % proc.returncode)
                if not proc.stdout.strip():
                    problems.append('printed nothing')
                if proc.stderr.strip():
                    problems.append('wrote on stderr')
            except subprocess.TimeoutExpired as e:
                proc = e
                problems = ['still running after %d s' % TIMEOUT_S]
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

        if problems:
            failed += 1
            print('not ok %d %s: %s' % (n, name, ', '.join(problems)))
        else:
            print('ok %d %s' % (n, name))
        for stream in ('stdout', 'stderr'):
            out = getattr(proc, stream, None) or ''
            if isinstance(out, bytes):
                out = out.decode(errors='replace')
            for text in out.splitlines():
                print('# %s: %s' % (stream, text))
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
