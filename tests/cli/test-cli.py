#!/usr/bin/python3
# test-cli.py: the psf-syncfs command, its options, exit statuses, JSON
# schema, translations and man page. TAP output.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Environment (set by tests/cli/meson.build):
#   PSF_TEST_CLI      the psf-syncfs binary
#   PSF_TEST_SHIM     the LD_PRELOAD syncfs() shim (optional: the tests
#                     that need it are skipped without it)
#   PSF_TEST_MAN      the man page source
#   PSF_TEST_VERSION  the project version
#   PSF_TEST_SRCDIR   the source tree (for the po/ checks)
#   PSF_CHILD_PATH, PSF_LOCALEDIR, LD_LIBRARY_PATH  the build tree

import errno
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback

CLI = os.environ['PSF_TEST_CLI']
SHIM = os.environ.get('PSF_TEST_SHIM', '')
MAN = os.environ.get('PSF_TEST_MAN', '')
VERSION = os.environ.get('PSF_TEST_VERSION', '')
SRCDIR = os.environ.get('PSF_TEST_SRCDIR', '')

STATUSES = {'synced', 'duplicate', 'skipped', 'failed'}
TOP_KEYS = {'version', 'exit_status', 'returncode', 'timed_out', 'start_method',
            'elapsed_us', 'error', 'results'}
RESULT_KEYS = {'path', 'status', 'errno', 'error', 'device'}


class Skip(Exception):
    pass


def base_env(**extra):
    env = dict(os.environ)
    # English unless a test asks for another language.
    env.pop('LANGUAGE', None)
    env.pop('LANG', None)
    env['LC_ALL'] = 'C.UTF-8'
    for key in list(env):
        if key.startswith('PSF_SHIM_'):
            del env[key]
    env.pop('LD_PRELOAD', None)
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def shim_env(**extra):
    if not SHIM:
        raise Skip('no syncfs shim built')
    env = base_env(**extra)
    env['LD_PRELOAD'] = SHIM
    # A sanitizer build must not refuse a preload that comes before it.
    env['ASAN_OPTIONS'] = env.get('ASAN_OPTIONS', '') + ':verify_asan_link_order=0'
    return env


def run(args, env=None, cwd=None, timeout=60):
    return subprocess.run([CLI] + list(args), env=env or base_env(), cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def text(data):
    return data.decode('utf-8')


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def expect_status(proc, status):
    check(proc.returncode == status,
          'exit status %d, expected %d\nstdout: %s\nstderr: %s'
          % (proc.returncode, status, text(proc.stdout), text(proc.stderr)))


def device_of(path):
    st = os.stat(path)
    return '%d:%d' % (os.major(st.st_dev), os.minor(st.st_dev))


_methods = None


def start_methods():
    """(the start methods, the default one), as --help names them: the
    library decides which exist and which is the default."""
    global _methods
    if _methods is None:
        out = text(run(['--help']).stdout)
        match = re.search(r'How to create the child process: ([a-z, ]+) \(default: ([a-z]+)\)', out)
        check(match, 'no start methods in --help:\n' + out)
        _methods = (match.group(1).split(', '), match.group(2))
    return _methods


def parse_json(proc):
    """Parses stdout with a real JSON parser and checks it against the
    documented schema, version 1."""
    doc = json.loads(proc.stdout.decode('utf-8'))
    check(isinstance(doc, dict), 'not an object: %r' % doc)
    check(set(doc) == TOP_KEYS, 'members %r, expected %r' % (sorted(doc), sorted(TOP_KEYS)))
    check(doc['version'] == 1 and type(doc['version']) is int, 'version %r' % doc['version'])
    check(doc['exit_status'] in (0, 1), 'exit_status %r' % doc['exit_status'])
    check(doc['exit_status'] == proc.returncode,
          'exit_status %r but exited %d' % (doc['exit_status'], proc.returncode))
    check(doc['returncode'] is None or type(doc['returncode']) is int,
          'returncode %r' % doc['returncode'])
    check(type(doc['timed_out']) is bool, 'timed_out %r' % doc['timed_out'])
    check(doc['start_method'] in start_methods()[0], 'start_method %r' % doc['start_method'])
    check(type(doc['elapsed_us']) is int and doc['elapsed_us'] >= 0,
          'elapsed_us %r' % doc['elapsed_us'])
    check(doc['error'] is None or isinstance(doc['error'], str), 'error %r' % doc['error'])
    check((doc['error'] is None) == (doc['exit_status'] == 0),
          'error %r with exit_status %r' % (doc['error'], doc['exit_status']))
    check(isinstance(doc['results'], list), 'results %r' % doc['results'])
    for result in doc['results']:
        check(isinstance(result, dict) and set(result) == RESULT_KEYS,
              'result members %r' % result)
        check(isinstance(result['path'], str), 'path %r' % result)
        check(result['status'] in STATUSES, 'status %r' % result)
        check(type(result['errno']) is int and result['errno'] >= 0, 'errno %r' % result)
        if result['errno'] == 0:
            check(result['error'] is None, 'error without errno %r' % result)
        else:
            check(isinstance(result['error'], str) and result['error'] != '',
                  'errno without error %r' % result)
        check(result['device'] is None
              or (isinstance(result['device'], str)
                  and re.fullmatch(r'[0-9]+:[0-9]+', result['device'])),
              'device %r' % result)
    return doc


def distinct_filesystems(tmp, n):
    """n paths on distinct filesystems, the first being tmp."""
    paths, devices = [], set()
    for path in [tmp, '/proc', '/sys', '/dev', '/dev/shm', '/run']:
        try:
            dev = os.stat(path).st_dev
        except OSError:
            continue
        if dev not in devices:
            devices.add(dev)
            paths.append(path)
    if len(paths) < n:
        raise Skip('fewer than %d distinct filesystems' % n)
    return paths[:n]


# ---------------------------------------------------------------- the tests

TESTS = []


def test(func):
    TESTS.append(func)
    return func


@test
def version_option(tmp):
    """--version prints the version and exits 0"""
    for option in ('--version', '-V'):
        proc = run([option])
        expect_status(proc, 0)
        check(text(proc.stdout) == 'psf-syncfs (psf) %s\n' % VERSION, text(proc.stdout))
        check(proc.stderr == b'', text(proc.stderr))


@test
def help_option(tmp):
    """--help lists every option and the exit statuses"""
    proc = run(['--help'])
    expect_status(proc, 0)
    out = text(proc.stdout)
    check('psf-syncfs [OPTION…] [PATH…]' in out, out)
    for option in ('--json', '--timeout=MS', '--sync-fallback', '--start-method=METHOD',
                   '--quiet', '--version', '--help'):
        check(option in out, 'no %s in --help:\n%s' % (option, out))
    check('Exit status:' in out, out)
    for status in ('0', '1', '2'):
        check(re.search(r'^  %s  \S' % status, out, re.M), 'exit status %s not described' % status)
    check('psf-syncfs(1)' in out, out)


@test
def no_path_syncs_cwd(tmp):
    """without a PATH the filesystem of the current directory is synced"""
    proc = run([], cwd=tmp)
    expect_status(proc, 0)
    lines = text(proc.stdout).splitlines()
    check(lines[0].split() == ['PATH', 'FILESYSTEM', 'STATUS', 'ERROR'], lines)
    check(len(lines) == 3, lines)
    check(lines[1].split()[0] == '.' and 'synced' in lines[1].split(), lines)
    check(device_of(tmp) in lines[1], lines)
    check(re.fullmatch(r'Total time: [0-9.]+ ms \(1 filesystem synced\)', lines[2]), lines)
    doc = parse_json(run(['--json'], cwd=tmp))
    check([r['path'] for r in doc['results']] == ['.'], doc)
    check(doc['results'][0]['status'] == 'synced', doc)
    check(doc['results'][0]['device'] == device_of(tmp), doc)


@test
def table_statuses(tmp):
    """the table shows synced, duplicate and skipped paths; exit 0"""
    path = os.path.join(tmp, 'file')
    open(path, 'w').close()
    missing = os.path.join(tmp, 'missing')
    proc = run([tmp, path, missing])
    expect_status(proc, 0)
    check(proc.stderr == b'', text(proc.stderr))
    lines = text(proc.stdout).splitlines()
    check(len(lines) == 5, lines)
    check(lines[1].startswith(tmp + ' ') and ' synced' in lines[1], lines)
    check(lines[2].startswith(path + ' ') and ' duplicate' in lines[2], lines)
    check(lines[3].startswith(missing + ' ') and ' skipped ' in lines[3]
          and lines[3].endswith(os.strerror(errno.ENOENT)), lines)
    # The columns line up under their headings.
    column = lines[0].index('STATUS')
    for line in lines[1:4]:
        check(line[column:].split()[0] in STATUSES, 'column of %r' % line)
    check('(1 filesystem synced)' in lines[4], lines)


@test
def json_schema(tmp):
    """--json output parses and matches the documented schema"""
    path = os.path.join(tmp, 'file')
    open(path, 'w').close()
    missing = os.path.join(tmp, 'missing')
    proc = run(['--json', tmp, path, missing])
    expect_status(proc, 0)
    check(proc.stderr == b'', text(proc.stderr))
    doc = parse_json(proc)
    check(doc['exit_status'] == 0 and doc['returncode'] == 0 and doc['error'] is None, doc)
    check(doc['timed_out'] is False and doc['start_method'] == start_methods()[1], doc)
    check([r['path'] for r in doc['results']] == [tmp, path, missing], doc)
    synced, duplicate, skipped = doc['results']
    check(synced['status'] == 'synced' and synced['errno'] == 0, synced)
    check(synced['device'] == device_of(tmp), synced)
    check(duplicate['status'] == 'duplicate' and duplicate['device'] == synced['device'], duplicate)
    check(skipped['status'] == 'skipped' and skipped['errno'] == errno.ENOENT, skipped)
    check(skipped['error'] == os.strerror(errno.ENOENT) and skipped['device'] is None, skipped)


@test
def json_non_utf8_path(tmp):
    """--json stays valid UTF-8 JSON for a path that is not UTF-8"""
    path = os.path.join(tmp.encode(), b'caf\xe9')
    open(path, 'w').close()
    proc = subprocess.run([CLI.encode(), b'--json', path], env=base_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    expect_status(proc, 0)
    doc = parse_json(proc)
    check(doc['results'][0]['path'] == tmp + '/caf\ufffd', doc)
    check(doc['results'][0]['status'] == 'synced', doc)


@test
def fifo_does_not_hang(tmp):
    """a FIFO is synced through its directory and does not hang"""
    fifo = os.path.join(tmp, 'fifo')
    os.mkfifo(fifo)
    check(stat.S_ISFIFO(os.stat(fifo).st_mode), 'no fifo')
    doc = parse_json(run(['--json', fifo], timeout=20))
    check(doc['exit_status'] == 0 and doc['results'][0]['status'] == 'synced', doc)
    check(doc['results'][0]['device'] == device_of(tmp), doc)


@test
def quiet_option(tmp):
    """--quiet prints nothing on success and only the error on failure"""
    for option in ('--quiet', '-q'):
        proc = run([option, tmp])
        expect_status(proc, 0)
        check(proc.stdout == b'' and proc.stderr == b'', (proc.stdout, proc.stderr))
    proc = run(['--quiet', tmp], env=shim_env(PSF_SHIM_SYNCFS_ERRNO='EIO'))
    expect_status(proc, 1)
    check(proc.stdout == b'', text(proc.stdout))
    check(text(proc.stderr) == 'psf-syncfs: syncfs(%s): %s\n' % (tmp, os.strerror(errno.EIO)),
          text(proc.stderr))


@test
def start_method_option(tmp):
    """--start-method picks each start method the library has"""
    methods, default = start_methods()
    check({'fork', 'spawn'} <= set(methods) and default in methods, (methods, default))
    for method in methods:
        for args in (['--start-method=' + method], ['-m', method]):
            proc = run(['--json'] + args + [tmp])
            expect_status(proc, 0)
            doc = parse_json(proc)
            check(doc['start_method'] == method, doc)
            check(doc['results'][0]['status'] == 'synced', doc)
    proc = run(['--start-method=thread', tmp])
    expect_status(proc, 2)
    check('Invalid value “thread” for --start-method: expected one of %s' % ', '.join(methods)
          in text(proc.stderr), text(proc.stderr))


@test
def fork_works_without_helper(tmp):
    """--start-method=fork does not need the psf-child helper"""
    env = base_env(PSF_CHILD_PATH='/nonexistent/psf-child')
    doc = parse_json(run(['--json', '--start-method=fork', tmp], env=env))
    check(doc['exit_status'] == 0 and doc['results'][0]['status'] == 'synced', doc)


@test
def timeout_option_values(tmp):
    """--timeout takes milliseconds; 0 is no timeout; a bad value exits 2"""
    for args in (['--timeout=0'], ['--timeout=60000'], ['-t', '60000']):
        doc = parse_json(run(['--json'] + args + [tmp]))
        check(doc['exit_status'] == 0 and doc['timed_out'] is False, doc)
    for value in ('abc', '-1', '1.5', '', '99999999999'):
        proc = run(['--timeout=' + value, tmp])
        expect_status(proc, 2)
        check('Invalid value “%s” for --timeout' % value in text(proc.stderr), text(proc.stderr))
        check(proc.stdout == b'', text(proc.stdout))


@test
def timeout_expires(tmp):
    """--timeout cancels a slow sync: exit 1, timed_out, killed child"""
    env = shim_env(PSF_SHIM_SYNCFS_DELAY_MS='10000')
    begin = time.monotonic()
    proc = run(['--json', '--timeout=200', tmp], env=env)
    elapsed = time.monotonic() - begin
    expect_status(proc, 1)
    check(elapsed < 5, 'took %.1f s' % elapsed)
    doc = parse_json(proc)
    check(doc['timed_out'] is True, doc)
    check(doc['returncode'] in (-signal.SIGTERM, -signal.SIGKILL), doc)
    check('timed out after 200 ms' in doc['error'], doc)
    check(doc['results'][0]['status'] == 'skipped' and doc['results'][0]['errno'] == 0, doc)
    check('timed out after 200 ms' in text(proc.stderr), text(proc.stderr))
    proc = run(['--timeout=200', tmp], env=env)
    expect_status(proc, 1)
    check('not reached' in text(proc.stdout), text(proc.stdout))


@test
def sync_failure_exits_1(tmp):
    """a failing syncfs() (EIO) exits 1 and names the path and the error"""
    env = shim_env(PSF_SHIM_SYNCFS_ERRNO='EIO')
    proc = run([tmp], env=env)
    expect_status(proc, 1)
    lines = text(proc.stdout).splitlines()
    check(lines[1].startswith(tmp + ' ') and ' failed ' in lines[1]
          and lines[1].endswith(os.strerror(errno.EIO)), lines)
    check('(0 filesystems synced)' in lines[2], lines)
    check(text(proc.stderr) == 'psf-syncfs: syncfs(%s): %s\n' % (tmp, os.strerror(errno.EIO)),
          text(proc.stderr))
    for method in start_methods()[0]:
        proc = run(['--json', '--start-method=' + method, tmp], env=env)
        expect_status(proc, 1)
        doc = parse_json(proc)
        check(doc['returncode'] == 1 and doc['exit_status'] == 1, doc)
        check(doc['error'] == 'syncfs(%s): %s' % (tmp, os.strerror(errno.EIO)), doc)
        result = doc['results'][0]
        check(result['status'] == 'failed' and result['errno'] == errno.EIO, result)
        check(result['error'] == os.strerror(errno.EIO) and result['device'] == device_of(tmp),
              result)


@test
def every_filesystem_is_tried(tmp):
    """with two failing filesystems both are reported, in one message"""
    paths = distinct_filesystems(tmp, 2)
    proc = run(['--json'] + paths, env=shim_env(PSF_SHIM_SYNCFS_ERRNO='EIO'))
    expect_status(proc, 1)
    doc = parse_json(proc)
    check([r['status'] for r in doc['results']] == ['failed', 'failed'], doc)
    check(doc['error'].endswith('(and 1 more path failed)'), doc)


@test
def sync_fallback_option(tmp):
    """ENOSYS fails without --sync-fallback and is flushed by sync() with it"""
    env = shim_env(PSF_SHIM_SYNCFS_ERRNO='ENOSYS')
    proc = run(['--json', tmp], env=env)
    expect_status(proc, 1)
    doc = parse_json(proc)
    check(doc['results'][0]['status'] == 'failed'
          and doc['results'][0]['errno'] == errno.ENOSYS, doc)
    for option in ('--sync-fallback', '-s'):
        proc = run(['--json', option, tmp], env=env)
        expect_status(proc, 0)
        doc = parse_json(proc)
        check(doc['returncode'] == 0, doc)
        check(doc['results'][0]['status'] == 'synced'
              and doc['results'][0]['errno'] == errno.ENOSYS, doc)
    proc = run(['--sync-fallback', tmp], env=env)
    expect_status(proc, 0)
    check('flushed with sync(): no syncfs()' in text(proc.stdout), text(proc.stdout))
    # sync() never hides a syncfs() that failed for another reason.
    proc = run(['--sync-fallback', tmp], env=shim_env(PSF_SHIM_SYNCFS_ERRNO='EIO'))
    expect_status(proc, 1)


@test
def helper_missing_exits_1(tmp):
    """a child that cannot be started exits 1 with the library's error"""
    env = base_env(PSF_CHILD_PATH='/nonexistent/psf-child')
    proc = run([tmp], env=env)
    expect_status(proc, 1)
    check(proc.stdout == b'', text(proc.stdout))
    check(text(proc.stderr) == 'psf-syncfs: Cannot run the helper /nonexistent/psf-child: %s\n'
          % os.strerror(errno.ENOENT), text(proc.stderr))
    proc = run(['--json', tmp], env=env)
    expect_status(proc, 1)
    doc = parse_json(proc)
    check(doc['returncode'] is None and doc['results'] == [], doc)
    check('/nonexistent/psf-child' in doc['error'], doc)


@test
def interrupted_exits_1(tmp):
    """SIGTERM cancels the child and exits 1"""
    env = shim_env(PSF_SHIM_SYNCFS_DELAY_MS='10000')
    proc = subprocess.Popen([CLI, '--json', tmp], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    begin = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    check(time.monotonic() - begin < 5, 'slow to stop')
    check(proc.returncode == 1, 'exit status %d: %s' % (proc.returncode, err))
    doc = json.loads(out)
    check(doc['exit_status'] == 1 and doc['returncode'] in (-signal.SIGTERM, -signal.SIGKILL), doc)
    check(doc['timed_out'] is False and doc['error'] == 'The task was cancelled', doc)


@test
def bad_usage_exits_2(tmp):
    """an unknown option or --json with --quiet exits 2 with a hint"""
    for args, message in ((['--bogus'], 'Unknown option --bogus'),
                          (['-Z'], 'Unknown option -Z'),
                          (['--json', '--quiet'], '--json and --quiet cannot be used together')):
        proc = run(args + [tmp])
        expect_status(proc, 2)
        check(proc.stdout == b'', text(proc.stdout))
        err = text(proc.stderr)
        check(err.startswith('psf-syncfs: ') and message in err, err)
        check(err.endswith('Try “psf-syncfs --help” for more information.\n'), err)


@test
def double_dash_ends_options(tmp):
    """after -- an argument that begins with a dash is a PATH"""
    os.mkdir(os.path.join(tmp, '-x'))
    proc = run(['--json', '--', '-x'], cwd=tmp)
    expect_status(proc, 0)
    doc = parse_json(proc)
    check(doc['results'][0]['path'] == '-x' and doc['results'][0]['status'] == 'synced', doc)


@test
def german_help(tmp):
    """LANGUAGE=de gives a German --help"""
    proc = run(['--help'], env=base_env(LANGUAGE='de'))
    expect_status(proc, 0)
    out = text(proc.stdout)
    for german in ('[PFAD…]', 'Exit-Status:', 'Nur Fehler ausgeben',
                   'Die Ergebnisse als ein JSON-Objekt ausgeben',
                   '--start-method=METHODE', 'falscher Aufruf'):
        check(german in out, 'no %r in\n%s' % (german, out))
    check('Print nothing but errors' not in out, out)


@test
def german_errors(tmp):
    """LANGUAGE=de gives German errors from the command and the library"""
    env = base_env(LANGUAGE='de')
    proc = run(['--timeout=x', tmp], env=env)
    expect_status(proc, 2)
    err = text(proc.stderr)
    check('Ungültiger Wert „x“ für --timeout' in err, err)
    check('„psf-syncfs --help“ liefert weitere Informationen.' in err, err)
    env['PSF_CHILD_PATH'] = '/nonexistent/psf-child'
    proc = run([tmp], env=env)
    expect_status(proc, 1)
    check('Das Hilfsprogramm /nonexistent/psf-child kann nicht ausgeführt werden'
          in text(proc.stderr), text(proc.stderr))


@test
def german_table_and_plurals(tmp):
    """LANGUAGE=de translates the table, its statuses and the plural forms"""
    proc = run([tmp, tmp], env=base_env(LANGUAGE='de'))
    expect_status(proc, 0)
    lines = text(proc.stdout).splitlines()
    check(lines[0].split() == ['PFAD', 'DATEISYSTEM', 'STATUS', 'FEHLER'], lines)
    check('synchronisiert' in lines[1] and 'doppelt' in lines[2], lines)
    check('(1 Dateisystem synchronisiert)' in lines[3], lines)
    paths = distinct_filesystems(tmp, 3)
    proc = run(paths, env=shim_env(LANGUAGE='de', PSF_SHIM_SYNCFS_ERRNO='EIO'))
    expect_status(proc, 1)
    check('(0 Dateisysteme synchronisiert)' in text(proc.stdout), text(proc.stdout))
    check('fehlgeschlagen' in text(proc.stdout), text(proc.stdout))
    check(text(proc.stderr).rstrip().endswith('(und 2 weitere Pfade sind fehlgeschlagen)'),
          text(proc.stderr))
    proc = run(paths[:2], env=shim_env(LANGUAGE='de', PSF_SHIM_SYNCFS_ERRNO='EIO'))
    check(text(proc.stderr).rstrip().endswith('(und 1 weiterer Pfad ist fehlgeschlagen)'),
          text(proc.stderr))


@test
def json_is_not_translated(tmp):
    """the JSON member names and statuses are the same in every language"""
    doc = parse_json(run(['--json', tmp, os.path.join(tmp, 'missing')],
                         env=base_env(LANGUAGE='de')))
    check([r['status'] for r in doc['results']] == ['synced', 'skipped'], doc)


@test
def man_page(tmp):
    """the man page formats without warnings and documents every option"""
    if not MAN:
        raise Skip('no man page given')
    page = open(MAN, encoding='utf-8').read()
    check(re.search(r'^\.TH PSF-SYNCFS 1 "[0-9-]+" "psf %s"' % re.escape(VERSION), page, re.M),
          'the .TH line does not name psf %s' % VERSION)
    help_text = text(run(['--help']).stdout)
    for option in re.findall(r'^\s+(?:-\w, )?(--[a-z-]+)', help_text, re.M):
        check(option.replace('-', r'\-') in page, '%s is not in the man page' % option)
    for key in TOP_KEYS | RESULT_KEYS:
        check('.B %s\n' % key in page, 'JSON member %s is not in the man page' % key)
    check(re.search(r'^\.SH EXIT STATUS', page, re.M), 'no EXIT STATUS section')
    for method in start_methods()[0]:
        check(re.search(r'^\.B %s$' % method, page, re.M),
              'start method %s is not in the man page' % method)
    groff = shutil.which('groff')
    if groff is None:
        raise Skip('groff is not installed')
    proc = subprocess.run([groff, '-man', '-ww', '-z', MAN],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=base_env(), timeout=60)
    check(proc.returncode == 0 and proc.stderr == b'', text(proc.stderr))


def potfiles():
    with open(os.path.join(SRCDIR, 'po', 'POTFILES'), encoding='utf-8') as f:
        return [l.strip() for l in f if l.strip() and not l.startswith('#')]


@test
def potfiles_cover_every_message(tmp):
    """po/POTFILES lists every source file with messages for people"""
    if not SRCDIR:
        raise Skip('no source tree given')
    listed = set(potfiles())
    for name in listed:
        check(os.path.isfile(os.path.join(SRCDIR, name)), 'POTFILES lists missing %s' % name)
    marker = re.compile(r'(?<![A-Za-z0-9_])(_|N_|C_|NC_|g_dngettext)\s*\(')
    for top in ('plugin',):
        for folder, _dirs, files in os.walk(os.path.join(SRCDIR, top)):
            for name in files:
                if not name.endswith('.c'):
                    continue
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, SRCDIR)
                with open(path, encoding='utf-8') as f:
                    if marker.search(f.read()):
                        check(rel in listed, '%s has messages but is not in po/POTFILES' % rel)


@test
def german_translation_complete(tmp):
    """po/de.po translates every message of the current sources"""
    if not SRCDIR:
        raise Skip('no source tree given')
    tools = [shutil.which(t) for t in ('xgettext', 'msgmerge', 'msgfmt')]
    if None in tools:
        raise Skip('gettext tools are not installed')
    xgettext, msgmerge, msgfmt = tools
    pot = os.path.join(tmp, 'psf-1.pot')
    merged = os.path.join(tmp, 'de.po')
    # The arguments of po/meson.build: the glib preset and Description.
    subprocess.run([xgettext, '--from-code=UTF-8', '--keyword=_', '--keyword=N_',
                    '--keyword=C_:1c,2', '--keyword=NC_:1c,2', '--keyword=g_dngettext:2,3',
                    '--keyword=Description', '--package-name=psf-1',
                    '-D', SRCDIR, '-o', pot] + potfiles(), check=True, env=base_env())
    subprocess.run([msgmerge, '--quiet', '--no-fuzzy-matching', '-o', merged,
                    os.path.join(SRCDIR, 'po', 'de.po'), pot], check=True, env=base_env())
    proc = subprocess.run([msgfmt, '--check', '--statistics', '-o', os.devnull, merged],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=base_env())
    stats = text(proc.stderr).strip()
    check(proc.returncode == 0, stats)
    check(re.fullmatch(r'[0-9]+ translated messages?\.', stats),
          'po/de.po is not complete: %s (run ninja -C build psf-1-pot psf-1-update-po '
          'and translate)' % stats)


def main():
    print('1..%d' % len(TESTS))
    failed = 0
    for number, func in enumerate(TESTS, 1):
        name = '%s: %s' % (func.__name__, func.__doc__)
        tmp = tempfile.mkdtemp(prefix='psf-cli-')
        try:
            func(tmp)
        except Skip as skip:
            print('ok %d - %s # SKIP %s' % (number, name, skip))
        except Exception:
            failed += 1
            print('not ok %d - %s' % (number, name))
            for line in traceback.format_exc().splitlines():
                print('# ' + line)
        else:
            print('ok %d - %s' % (number, name))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
