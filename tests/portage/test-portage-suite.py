#!/usr/bin/python3
# test-portage-suite.py: Portage's own tests, with Portage's SyncfsProcess and with psf's
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   test-portage-suite.py [--portage-source DIR] [PYTEST NODE ID...]
#
# Runs Portage's emerge tests that merge packages (and so reach
# dblink._post_merge_sync) twice, with pytest, from a scratch copy of
# Portage's source:
#
#   1. as they are: Portage's SyncfsProcess;
#   2. with psf.portage.SyncfsProcess in its place, in every process the
#      tests start (psf-sitecustomize.py, see there).
#
# In both runs a recording subclass logs every start and exit. The test
# holds that each run started the class it should (psf's GObject class
# PsfSyncfsProcess in the second) at least once, that every start has its
# exit and every exit returncode 0, that both runs made the same number of
# syncs, and that the tests passed and failed alike in both.
#
# The Portage source comes from --portage-source (meson option
# portage_source) or $PSF_PORTAGE_SOURCE; without one the test is skipped,
# and so it is without pytest or when not run as root (Portage's merges
# are tested as root). Node ids are relative to the source's top; the
# default is the smallest set that merges: one emerge of the baseline
# test, which reaches _post_merge_sync twice. $PSF_PORTAGE_TESTS (node ids
# separated by ";", since ids may hold spaces) replaces it, e.g.
# "lib/portage/tests/emerge".
#
# The copy is needed because the tests write beside themselves; it also
# turns the files that stand for symbolic links (a link exported as a file
# holding its target, as `git archive` does where links cannot be made)
# back into links: Portage's bin/ calls helpers through them.

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

PYTHON = '/usr/bin/python3'
DEFAULT_TESTS = [
    'lib/portage/tests/emerge/test_baseline.py::'
    'test_portage_baseline[xpak-emerge -1 dev-libs/A -v dev-libs/B]',
]

tap_n = 0
tap_failed = 0


def ok(good, description, diagnostics=()):
    global tap_n, tap_failed
    tap_n += 1
    if not good:
        tap_failed += 1
    print('%s %d - %s' % ('ok' if good else 'not ok', tap_n, description))
    for line in diagnostics:
        print('# ' + line)
    sys.stdout.flush()


def skip_all(reason):
    print('1..0 # SKIP ' + reason)
    sys.exit(0)


def link_stand_ins(top):
    """Turns files that hold the target of a link back into links: small,
    not executable, one line without a newline that names an existing
    path relative to the file."""
    restored = 0
    for root, _dirs, files in os.walk(top):
        for name in files:
            path = os.path.join(root, name)
            st = os.lstat(path)
            if not (0 < st.st_size <= 255) or st.st_mode & 0o111:
                continue
            with open(path, 'rb') as f:
                target = f.read()
            if b'\n' in target or b'\0' in target:
                continue
            if not os.path.exists(os.path.join(root, os.fsdecode(target))):
                continue
            os.unlink(path)
            os.symlink(target, path)
            restored += 1
    return restored


def copy_portage(source, scratch):
    top = os.path.join(scratch, 'portage')
    shutil.copytree(source, top, symlinks=True)
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, os.lstat(path).st_mode | 0o200)
    return top, link_stand_ins(top)


def tool_dir(scratch):
    """gtar and getuto, which the binary-package tests call, where the
    machine has none: GNU tar under its Gentoo name, and a getuto that
    does nothing (it sets up a keyring for fetching binary packages)."""
    bindir = os.path.join(scratch, 'bin')
    os.mkdir(bindir)
    for name, target in (('gtar', shutil.which('tar')), ('getuto', shutil.which('true'))):
        if shutil.which(name) is None and target is not None:
            os.symlink(target, os.path.join(bindir, name))
    return bindir


def outcomes(junit):
    """node name -> passed/failed/skipped from pytest's JUnit XML."""
    result = {}
    for case in ET.parse(junit).getroot().iter('testcase'):
        name = case.get('classname', '') + '::' + case.get('name', '')
        if case.find('failure') is not None or case.find('error') is not None:
            result[name] = 'failed'
        elif case.find('skipped') is not None:
            result[name] = 'skipped'
        else:
            result[name] = 'passed'
    return result


def run(mode, top, scratch, bindir, tests):
    site = os.path.join(scratch, 'site-' + mode)
    os.mkdir(site)
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             'psf-sitecustomize.py'),
                os.path.join(site, 'sitecustomize.py'))
    log = os.path.join(scratch, mode + '.log')
    config = {
        'mode': mode,
        'log': log,
        'child': os.environ['PSF_CHILD_PATH'],
        'typelib_dir': os.environ['PSF_TEST_TYPELIB_DIR'],
        'library_dir': os.environ['PSF_TEST_LIBRARY_DIR'],
    }
    with open(os.path.join(site, 'psf-portage.json'), 'w', encoding='utf-8') as f:
        json.dump(config, f)

    env = dict(os.environ)
    env['PATH'] = bindir + os.pathsep + env.get('PATH', '/usr/bin:/bin')
    env['PYTHONPATH'] = os.pathsep.join([site, os.environ['PSF_TEST_PYTHON_DIR']])
    env['PYTHONDONTWRITEBYTECODE'] = '1'
    for name in ('GI_TYPELIB_PATH', 'LD_LIBRARY_PATH', 'G_DEBUG'):
        env.pop(name, None)
    junit = os.path.join(scratch, mode + '.xml')
    argv = [PYTHON, '-m', 'pytest', '-p', 'no:cacheprovider', '-q',
            '--basetemp=' + os.path.join(scratch, 'pytest-' + mode),
            '--junitxml=' + junit] + tests
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=top, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - start
    output = proc.stdout.decode('utf-8', 'replace').splitlines()
    records = []
    if os.path.exists(log):
        with open(log, encoding='utf-8') as f:
            records = [json.loads(line) for line in f]
    results = outcomes(junit) if os.path.exists(junit) else {}
    return results, records, seconds, output


def check_calls(label, records, wanted_class, gtype):
    starts = [r for r in records if r['event'] == 'start']
    exits = [r for r in records if r['event'] == 'exit']
    classes = sorted({r['class'] for r in records})
    ok(len(starts) > 0 and classes == [wanted_class],
       '%s: %s started %d times' % (label, wanted_class, len(starts)),
       ['classes seen: %s' % ', '.join(classes or ['none'])])
    started = sorted((r['process'], r['pid']) for r in starts)
    ended = sorted((r['process'], r['pid']) for r in exits)
    ok(started == ended and all(r['pid'] for r in starts),
       '%s: every start has its exit (%d exits)' % (label, len(exits)),
       ['started %s, exited %s' % (started, ended)] if started != ended else [])
    bad = [r for r in exits if r['returncode'] != 0]
    ok(exits and not bad, '%s: every exit has returncode 0' % label,
       ['%r' % r for r in bad])
    if gtype is not None:
        gtypes = sorted({r.get('gtype') for r in starts}, key=str)
        reported = [r for r in exits if r.get('results')]
        ok(gtypes == [gtype] and len(reported) == len(exits),
           '%s: each ran as %s and reported its paths' % (label, gtype),
           ['GObject classes: %s' % gtypes] + ['results: %s' % r.get('results') for r in exits])
    return len(starts)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--portage-source', default='')
    parser.add_argument('tests', nargs='*')
    args = parser.parse_args()

    source = args.portage_source or os.environ.get('PSF_PORTAGE_SOURCE', '')
    if not source:
        skip_all('no Portage source: configure with -Dportage_source=DIR '
                 'or set PSF_PORTAGE_SOURCE')
    if not os.path.isfile(os.path.join(source, 'lib', 'portage', '__init__.py')):
        skip_all('%s is not a Portage source tree (no lib/portage)' % source)
    if subprocess.run([PYTHON, '-c', 'import pytest'], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode != 0:
        skip_all('pytest is not installed for %s (Debian: python3-pytest)' % PYTHON)
    if os.geteuid() != 0:
        skip_all("Portage's merge tests are run as root")
    from_env = [t.strip() for t in os.environ.get('PSF_PORTAGE_TESTS', '').split(';')]
    tests = args.tests or [t for t in from_env if t] or DEFAULT_TESTS

    print('1..10')
    scratch = tempfile.mkdtemp(prefix='psf-portage-')
    try:
        top, links = copy_portage(source, scratch)
        print('# Portage from %s, %d links restored in the copy' % (source, links))
        bindir = tool_dir(scratch)
        runs = {}
        for mode in ('portage', 'psf'):
            runs[mode] = run(mode, top, scratch, bindir, tests)
            results, records, seconds, output = runs[mode]
            passed = sum(1 for v in results.values() if v == 'passed')
            print('# %s run: %d tests, %d passed, %.0f s' % (mode, len(results), passed, seconds))
            if not results or any(v == 'failed' for v in results.values()):
                for line in output[-40:]:
                    print('#   ' + line)

        base, base_records = runs['portage'][0], runs['portage'][1]
        with_psf, psf_records = runs['psf'][0], runs['psf'][1]
        ok(any(v == 'passed' for v in base.values()),
           "Portage's tests ran and passed as they are",
           ['%s: %s' % kv for kv in sorted(base.items())])
        n_base = check_calls('as they are', base_records,
                             'portage.dbapi._SyncfsProcess.SyncfsProcess', None)
        n_psf = check_calls('with psf', psf_records, 'psf.portage.SyncfsProcess',
                            'PsfSyncfsProcess')
        ok(n_base == n_psf, 'both runs synced as often (%d, %d)' % (n_base, n_psf))
        ok(base == with_psf, 'the same tests pass and fail with psf',
           ['%s: %s -> %s' % (k, base.get(k), with_psf.get(k))
            for k in sorted(set(base) | set(with_psf)) if base.get(k) != with_psf.get(k)])
        print('# total %.0f s' % (runs['portage'][2] + runs['psf'][2]))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if tap_failed else 0


if __name__ == '__main__':
    sys.exit(main())
