#!/usr/bin/python3
# test-cli.py: the psf-syncfs command, its options, exit statuses, JSON
# schema, translations and man page. TAP output.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Environment (set by tests/cli/meson.build):
#   PSF_TEST_CLI      the psf-syncfs binary
#   PSF_TEST_FAULT_SHIM  the LD_PRELOAD fault shim of the tests (optional:
#                     the tests that need it are skipped without it)
#   PSF_TEST_MAN      the man page source
#   PSF_TEST_VERSION  the project version
#   PSF_TEST_SRCDIR   the source tree (for the po/ checks)
#   PSF_TEST_COMPLETION  the bash completion script (optional)
#   PSF_CHILD_PATH, PSF_LOCALEDIR, LD_LIBRARY_PATH  the build tree

import base64
import errno
import json
import os
import pty
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback

CLI = os.environ['PSF_TEST_CLI']
SHIM = os.environ.get('PSF_TEST_FAULT_SHIM', '')
MAN = os.environ.get('PSF_TEST_MAN', '')
VERSION = os.environ.get('PSF_TEST_VERSION', '')
SRCDIR = os.environ.get('PSF_TEST_SRCDIR', '')
COMPLETION = os.environ.get('PSF_TEST_COMPLETION', '')

STATUSES = {'synced', 'duplicate', 'skipped', 'failed'}
TOP_KEYS = {'version', 'exit_status', 'returncode', 'timed_out', 'start_method',
            'elapsed_us', 'error', 'results'}
RESULT_KEYS = {'path', 'status', 'errno', 'error', 'device', 'fstype', 'mountpoint'}
OPTIONAL_RESULT_KEYS = {'path_base64'}
HEADINGS = ['PATH', 'DEVICE', 'FSTYPE', 'MOUNTPOINT', 'STATUS', 'ERROR']
COLUMNS = HEADINGS[:5] + ['ERRNO', 'ERROR']
WRITE_ERROR = 'psf-syncfs: Cannot write to standard output: %s\n'


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
        raise Skip('no fault shim built')
    env = base_env(**extra)
    env['LD_PRELOAD'] = SHIM
    # A sanitizer build must not refuse a preload that comes before it.
    env['ASAN_OPTIONS'] = env.get('ASAN_OPTIONS', '') + ':verify_asan_link_order=0'
    return env


def run(args, env=None, cwd=None, timeout=60, stdin=subprocess.DEVNULL, input=None,
        stdout=subprocess.PIPE, preexec_fn=None):
    if input is not None:
        stdin = None
    return subprocess.run([CLI] + list(args), env=env or base_env(), cwd=cwd,
                          stdin=stdin, input=input,
                          stdout=stdout, stderr=subprocess.PIPE,
                          timeout=timeout, preexec_fn=preexec_fn)


def text(data):
    return data.decode('utf-8')


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def expect_status(proc, status):
    check(proc.returncode == status,
          'exit status %d, expected %d\nstdout: %s\nstderr: %s'
          % (proc.returncode, status, text(proc.stdout or b''), text(proc.stderr)))


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
        match = re.search(r'How to create the child process: ([a-z, ]+) '
                          r'\(default: fork for one PATH, else spawn\)', out)
        check(match, 'no start methods in --help:\n' + out)
        _methods = (match.group(1).split(', '), 'fork')
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
        check(isinstance(result, dict) and RESULT_KEYS <= set(result)
              and set(result) <= RESULT_KEYS | OPTIONAL_RESULT_KEYS,
              'result members %r' % result)
        check(isinstance(result['path'], str), 'path %r' % result)
        if 'path_base64' in result:
            raw = base64.b64decode(result['path_base64'], validate=True)
            # One U+FFFD per byte that is not UTF-8 (Python's decoder
            # may use one for a cut sequence of several).
            check(raw.decode('utf-8', 'replace').replace('\ufffd', '')
                  == result['path'].replace('\ufffd', '') and not is_utf8(raw),
                  'path_base64 %r' % result)
        for key in ('fstype', 'mountpoint'):
            check(result[key] is None or isinstance(result[key], str), '%s %r' % (key, result))
            check(result[key] is None or result['device'] is not None, '%s %r' % (key, result))
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


def is_utf8(data):
    try:
        data.decode('utf-8')
    except UnicodeDecodeError:
        return False
    return True


def mount_of(path):
    """(fstype, mount point) of path's device, from /proc/self/mountinfo:
    the first mount of the device's whole tree (root "/"), else its first
    mount."""
    st_dev = os.stat(path).st_dev
    found = None
    with open('/proc/self/mountinfo', 'rb') as f:
        for line in f:
            fields = line.split()
            major, minor = fields[2].split(b':')
            if os.makedev(int(major), int(minor)) != st_dev:
                continue
            sep = fields.index(b'-')
            target = re.sub(rb'\\([0-7]{3})', lambda m: bytes([int(m.group(1), 8)]), fields[4])
            entry = (fields[sep + 1].decode(), target.decode('utf-8', 'replace'))
            if fields[3] == b'/':
                return entry
            found = found or entry
    return found


def table_rows(data):
    """The lines of a table, as text; every byte of the output is
    printable or a newline."""
    out = text(data)
    check(not re.search(r'[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]', out),
          'a control character in the table: %r' % out)
    return out.splitlines()


def distinct_filesystems(tmp, n):
    """n paths on distinct filesystems, the first being tmp."""
    paths, devices = [], set()
    # Not /proc or /sys: psf skips what is under them.
    for path in [tmp, '/dev/shm', '/run', '/dev', '/run/lock', '/dev/mqueue']:
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
                   '-T, --files-from=FILE', '-0, --null', '-P, --progress',
                   '-o, --output=COLUMNS', '-n, --noheadings', '-r, --raw',
                   '--quiet', '--version', '--help'):
        check(option in out, 'no %s in --help:\n%s' % (option, out))
    for column in COLUMNS:
        check(re.search(r'^  %s +\S' % column, out, re.M), 'column %s not described' % column)
    check('Exit status:' in out, out)
    for status in ('0', '1', '2'):
        check(re.search(r'^  %s  \S' % status, out, re.M), 'exit status %s not described' % status)
    check('psf-syncfs(1)' in out, out)


@test
def no_path_syncs_cwd(tmp):
    """without a PATH the filesystem of the current directory is synced"""
    proc = run([], cwd=tmp)
    expect_status(proc, 0)
    lines = table_rows(proc.stdout)
    check(lines[0].split() == HEADINGS, lines)
    check(len(lines) == 3, lines)
    fstype, target = mount_of(tmp)
    check(lines[1].split() == ['.', device_of(tmp), fstype, target, 'synced'], lines)
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
    lines = table_rows(proc.stdout)
    check(len(lines) == 5, lines)
    check(lines[1].startswith(tmp + ' ') and ' synced' in lines[1], lines)
    check(lines[2].startswith(path + ' ') and ' duplicate' in lines[2], lines)
    check(lines[3].startswith(missing + ' ') and ' skipped ' in lines[3]
          and lines[3].rstrip().endswith(os.strerror(errno.ENOENT)), lines)
    # The columns of a skipped path that was never looked at are empty.
    check(lines[3].split()[:2] == [missing, 'skipped'], lines)
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
    check(doc['timed_out'] is False and doc['start_method'] == 'spawn', doc)
    check([r['path'] for r in doc['results']] == [tmp, path, missing], doc)
    synced, duplicate, skipped = doc['results']
    check(synced['status'] == 'synced' and synced['errno'] == 0, synced)
    check(synced['device'] == device_of(tmp), synced)
    check((synced['fstype'], synced['mountpoint']) == mount_of(tmp), synced)
    check((duplicate['fstype'], duplicate['mountpoint']) == mount_of(tmp), duplicate)
    check(skipped['fstype'] is None and skipped['mountpoint'] is None, skipped)
    check(all('path_base64' not in r for r in doc['results']), doc)
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
    check(base64.b64decode(doc['results'][0]['path_base64']) == path, doc)
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
    # The default: fork for one PATH, spawn for more (or a list).
    for args, expected in (([tmp], 'fork'), ([], 'fork'), ([tmp, tmp], 'spawn'),
                           (['--files-from=/dev/null', tmp], 'spawn')):
        doc = parse_json(run(['--json'] + args, cwd=tmp))
        check(doc['start_method'] == expected, (args, doc))
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
    lines = table_rows(proc.stdout)
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
    proc = run(['-m', 'spawn', tmp], env=env)
    expect_status(proc, 1)
    check(proc.stdout == b'', text(proc.stdout))
    check(text(proc.stderr) == 'psf-syncfs: Cannot run the helper /nonexistent/psf-child: %s\n'
          % os.strerror(errno.ENOENT), text(proc.stderr))
    proc = run(['--json', tmp, tmp], env=env)
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
                          (['--json', '--quiet'], '--json and --quiet cannot be used together'),
                          (['-0'], '--null needs --files-from'),
                          (['--output=PATH,SIZE'], 'Unknown column “SIZE” for --output: '
                           'expected some of ' + ', '.join(COLUMNS)),
                          (['-o', ''], 'Unknown column “” for --output'),
                          (['--files-from=' + os.path.join(tmp, 'none')],
                           'Cannot open %s: %s' % (os.path.join(tmp, 'none'),
                                                   os.strerror(errno.ENOENT)))):
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
    proc = run(['-m', 'spawn', tmp], env=env)
    expect_status(proc, 1)
    check('Das Hilfsprogramm /nonexistent/psf-child kann nicht ausgeführt werden'
          in text(proc.stderr), text(proc.stderr))


@test
def german_table_and_plurals(tmp):
    """LANGUAGE=de translates the table, its statuses and the plural forms"""
    proc = run([tmp, tmp], env=base_env(LANGUAGE='de'))
    expect_status(proc, 0)
    lines = table_rows(proc.stdout)
    # Column names are what --output takes: not translated, as in findmnt.
    check(lines[0].split() == HEADINGS, lines)
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
    for key in TOP_KEYS | RESULT_KEYS | OPTIONAL_RESULT_KEYS:
        check('.B %s\n' % key in page, 'JSON member %s is not in the man page' % key)
    for column in COLUMNS:
        check(re.search(r'^\.B %s$' % column, page, re.M), 'column %s is not in the man page' % column)
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


# ------------------------------------------------------ paths from a list

@test
def files_from_lines(tmp):
    """--files-from reads one path a line, from a file or stdin, after the PATHs"""
    names = ['with space', 'tab\tin', 'caf\xe9', 'back\\slash']
    paths = [os.path.join(tmp, n) for n in names]
    for path in paths:
        open(path, 'w').close()
    missing = os.path.join(tmp, 'missing')
    listing = os.path.join(tmp, 'list')
    with open(listing, 'w', encoding='utf-8') as f:
        f.write('\n'.join(paths[:2]) + '\n\n' + '\n'.join(paths[2:] + [missing]))  # no final newline
    for args, kwargs in ((['--files-from=' + listing], {}),
                         (['-T', '-'], {'input': open(listing, 'rb').read()})):
        proc = run(['--json', tmp] + args, **kwargs)
        expect_status(proc, 0)
        doc = parse_json(proc)
        check([r['path'] for r in doc['results']] == [tmp] + paths + [missing], doc)
        check([r['status'] for r in doc['results']]
              == ['synced'] + ['duplicate'] * 4 + ['skipped'], doc)
    # An empty list syncs nothing (not the current directory).
    doc = parse_json(run(['--json', '--files-from=/dev/null']))
    check(doc['exit_status'] == 0 and doc['results'] == [], doc)


@test
def files_from_null(tmp):
    """-0 reads NUL-terminated paths: a newline is part of a name"""
    names = [b'new\nline', b'caf\xe9', b'-dash', b'\x01\x1f\x7f']
    paths = [os.path.join(tmp.encode(), n) for n in names]
    for path in paths:
        open(path, 'w').close()
    find = shutil.which('find')
    if find:
        data = subprocess.run([find, tmp, '-mindepth', '1', '-print0'], check=True,
                              stdout=subprocess.PIPE).stdout
    else:
        data = b'\0'.join(paths) + b'\0'
    for args in (['-0', '--files-from=-'], ['--null', '-T', '-']):
        proc = run(['--json'] + args, input=data)
        expect_status(proc, 0)
        doc = parse_json(proc)
        got = [base64.b64decode(r['path_base64']) if 'path_base64' in r else r['path'].encode()
               for r in doc['results']]
        check(sorted(got) == sorted(paths), (got, paths))
        check(sum(r['status'] == 'synced' for r in doc['results']) == 1, doc)
    # Without -0 the same bytes are lines: "new" and "line" are two paths.
    proc = run(['--json', '--files-from=-'], input=b'\n'.join(paths))
    doc = parse_json(proc)
    check(len(doc['results']) == len(paths) + 1, doc)


@test
def files_from_many_paths(tmp):
    """100 000 paths from stdin: one result each, in order"""
    n = 100000
    data = b''.join(b'%s/p%d\n' % (tmp.encode(), i) for i in range(n))
    os.mkdir(os.path.join(tmp, 'p0'))
    proc = run(['--json', '-T', '-'], input=data, timeout=120)
    expect_status(proc, 0)
    doc = parse_json(proc)
    check(len(doc['results']) == n, len(doc['results']))
    check(doc['results'][0]['status'] == 'synced', doc['results'][0])
    check(doc['results'][-1]['path'] == '%s/p%d' % (tmp, n - 1)
          and doc['results'][-1]['status'] == 'skipped', doc['results'][-1])


@test
def files_from_read_error(tmp):
    """a list that cannot be read (closed stdin, a directory) exits 2"""
    proc = run(['-T', '-', tmp], stdin=None, preexec_fn=lambda: os.close(0))
    expect_status(proc, 2)
    check(text(proc.stderr).startswith('psf-syncfs: Cannot read standard input: %s\n'
                                       % os.strerror(errno.EBADF)), text(proc.stderr))
    check(proc.stdout == b'', text(proc.stdout))
    proc = run(['--files-from=' + tmp])
    expect_status(proc, 2)
    check('Cannot read %s: %s' % (tmp, os.strerror(errno.EISDIR)) in text(proc.stderr),
          text(proc.stderr))


# ------------------------------------------------------ JSON for any bytes

def make_names(tmp):
    """A file for every byte 0x01-0xFF but '/', and names with sequences
    that are not UTF-8 or are hard on JSON."""
    names = [b'b%02x-%s-' % (byte, bytes([byte])) for byte in range(1, 256) if byte != 0x2f]
    names += [b'overlong-\xc0\xaf', b'surrogate-\xed\xa0\x80', b'cut-\xe2\x82',
              b'high-\xf5\x80\x80\x80', b'latin1-caf\xe9',
              'ls-\u2028-ps-\u2029'.encode(), 'c1-\u009b31m'.encode(),
              'wide-\u6f22\u5b57-emoji-\U0001f600'.encode(),
              b'quote-"-backslash-\\-', b'\xff\xfe']
    paths = []
    for name in names:
        path = os.path.join(tmp.encode(), name)
        open(path, 'wb').close()
        paths.append(path)
    return paths


@test
def json_any_bytes(tmp):
    """--json is valid JSON in UTF-8 for every byte 0x01-0xFF in a path"""
    paths = make_names(tmp)
    proc = run(['--json', '-0', '-T', '-'], input=b'\0'.join(paths))
    expect_status(proc, 0)
    # json.loads of the text: strict UTF-8, no raw control characters in
    # strings (strict=True), and nothing a JavaScript parser would trip on.
    out = proc.stdout.decode('utf-8', 'strict')
    check('\u2028' not in out and '\u2029' not in out, 'raw U+2028/U+2029')
    check(not re.search(r'[\x00-\x09\x0b-\x1f\x7f-\x9f]', out), 'a raw control character')
    doc = parse_json(proc)
    check(len(doc['results']) == len(paths), len(doc['results']))
    for path, result in zip(paths, doc['results']):
        if is_utf8(path):
            check(result['path'] == path.decode() and 'path_base64' not in result, result)
        else:
            check(base64.b64decode(result['path_base64']) == path, (path, result))
            check('\ufffd' in result['path'], result)
        check(result['status'] in ('synced', 'duplicate'), result)


@test
def json_error_with_any_bytes(tmp):
    """the error member stays valid JSON when a failing path is not UTF-8"""
    path = os.path.join(tmp.encode(), b'bad-\xe9-\x1f-\n')
    os.mkdir(path)
    proc = subprocess.run([CLI.encode(), b'--json', path],
                          env=shim_env(PSF_SHIM_SYNCFS_ERRNO='EIO'),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    expect_status(proc, 1)
    doc = parse_json(proc)
    check(doc['error'].startswith('syncfs(') and doc['error'].endswith(os.strerror(errno.EIO)),
          doc)
    check('\ufffd-\x1f-\n)' in doc['error'], doc)
    check(base64.b64decode(doc['results'][0]['path_base64']) == path, doc)
    # On stderr the message stays one line: control characters are escaped
    # (the library's message has U+FFFD for the byte that is not UTF-8).
    check(proc.stderr == b'psf-syncfs: syncfs(%s): %s\n'
          % (path.replace(b'\x1f', b'\\x1f').replace(b'\n', b'\\x0a')
             .replace(b'\xe9', '\ufffd'.encode()),
             os.strerror(errno.EIO).encode()), proc.stderr)


# ------------------------------------------------------ the table

@test
def table_is_unforgeable(tmp):
    """control characters in a path are escaped: one path, one row"""
    names = [b'new\nline', b'fake\n-etc  synced', b'cr\rreturn', b'tab\there',
             b'esc\x1b[31mred', b'bell\x07', b'del\x7f', b'bs\x08\x08',
             'c1-\u009b31m'.encode(), 'ls-\u2028'.encode(), b'latin1-\xe9']
    paths = [os.path.join(tmp.encode(), n) for n in names]
    for path in paths:
        open(path, 'wb').close()
    for args in ([], ['--raw'], ['--noheadings'], ['-o', 'PATH']):
        proc = run(args + ['-0', '-T', '-'], input=b'\0'.join(paths))
        expect_status(proc, 0)
        lines = table_rows(proc.stdout)
        extra = 0 if args == ['--noheadings'] else 1
        footer = 1 if args in ([], ['-o', 'PATH']) else 0
        check(len(lines) == len(paths) + extra + footer, lines)
        rows = lines[extra:extra + len(paths)]
        for name, row in zip(names, rows):
            check(row.startswith(tmp), (name, row))
        check(r'new\x0aline' in rows[0] and r'esc\x1b[31mred' in rows[4], rows)
        check(r'\xe9' in rows[-1], rows)


@test
def output_option(tmp):
    """--output picks and orders columns; + adds to the default ones"""
    path = os.path.join(tmp, 'file')
    open(path, 'w').close()
    missing = os.path.join(tmp, 'missing')
    fstype, target = mount_of(tmp)
    proc = run(['--output=status,PATH,errno', tmp, missing])
    expect_status(proc, 0)
    lines = table_rows(proc.stdout)
    check(lines[0].split() == ['STATUS', 'PATH', 'ERRNO'], lines)
    check(lines[1].split() == ['synced', tmp, '0'], lines)
    check(lines[2].split() == ['skipped', missing, str(errno.ENOENT)], lines)
    proc = run(['-o', '+ERRNO', tmp])
    lines = table_rows(proc.stdout)
    check(lines[0].split() == HEADINGS + ['ERRNO'], lines)
    check(lines[1].split() == [tmp, device_of(tmp), fstype, target, 'synced', '0'], lines)
    proc = run(['-o', 'FSTYPE,MOUNTPOINT,DEVICE', '--noheadings', '/dev/shm'])
    expect_status(proc, 0)
    shm_type, shm_target = mount_of('/dev/shm')
    check(table_rows(proc.stdout) == ['%s %s %s' % (shm_type, shm_target, device_of('/dev/shm'))]
          or table_rows(proc.stdout)[0].split() == [shm_type, shm_target, device_of('/dev/shm')],
          text(proc.stdout))


@test
def mountpoint_with_bind_mounts(tmp):
    """a device also bind-mounted elsewhere is named by its own mount point"""
    mount, umount = shutil.which('mount'), shutil.which('umount')
    if os.geteuid() != 0 or mount is None or umount is None:
        raise Skip('needs root and mount(8) for a bind mount')
    src, dst = os.path.join(tmp, 'src'), os.path.join(tmp, 'dst')
    os.mkdir(src)
    os.mkdir(dst)
    proc = subprocess.run([mount, '--bind', src, dst], stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise Skip('bind mount refused: %s' % text(proc.stderr).strip())
    try:
        expected = mount_of(tmp)
        check(expected[1] != dst, expected)
        doc = parse_json(run(['--json', tmp, dst]))
        for result in doc['results']:
            check((result['fstype'], result['mountpoint']) == expected, result)
        lines = table_rows(run(['-rn', '-o', 'MOUNTPOINT', dst]).stdout)
        check(lines == [expected[1].replace(' ', r'\x20')], lines)
    finally:
        subprocess.run([umount, dst], check=True)


@test
def smartcols_only_for_tables(tmp):
    """libsmartcols is loaded for a table only; without it a table fails clearly"""
    libdir = os.path.join(tmp, 'lib')
    os.mkdir(libdir)
    with open(os.path.join(libdir, 'libsmartcols.so.1'), 'wb') as f:
        f.write(b'not a library')
    env = base_env(LD_LIBRARY_PATH=libdir + os.pathsep + os.environ.get('LD_LIBRARY_PATH', ''))
    # Were it loaded at start, the dynamic linker would refuse to run at all.
    parse_json(run(['--json', tmp], env=env))
    expect_status(run(['--quiet', tmp], env=env), 0)
    proc = run([tmp], env=env)
    expect_status(proc, 1)
    check(proc.stdout == b'', text(proc.stdout))
    check(re.fullmatch(r'psf-syncfs: Cannot load libsmartcols\.so\.1 to print the table: '
                       r'.*libsmartcols\.so\.1.*\n', text(proc.stderr)), text(proc.stderr))


@test
def raw_and_noheadings(tmp):
    """--raw: one space between cells, blanks escaped, no total line"""
    spaced = os.path.join(tmp, 'a b')
    os.mkdir(spaced)
    proc = run(['--raw', '-o', 'PATH,STATUS,ERROR', spaced, os.path.join(tmp, 'missing')])
    expect_status(proc, 0)
    lines = table_rows(proc.stdout)
    check(lines[0] == 'PATH STATUS ERROR', lines)
    check(lines[1] == spaced.replace(' ', r'\x20') + ' synced ', lines)
    check(lines[2] == '%s skipped %s' % (os.path.join(tmp, 'missing'),
                                         os.strerror(errno.ENOENT).replace(' ', r'\x20')),
          lines)
    check(len(lines) == 3, lines)
    proc = run(['-rn', '-o', 'path', spaced])
    check(table_rows(proc.stdout) == [spaced.replace(' ', r'\x20')], text(proc.stdout))


# ------------------------------------------------------ write errors

@test
def stdout_full(tmp):
    """a full disk on stdout: one line on stderr, exit 1"""
    if not os.path.exists('/dev/full'):
        raise Skip('no /dev/full')
    for args in (['--json', tmp], [tmp], ['--version'], ['-o', 'PATH', tmp, tmp]):
        with open('/dev/full', 'wb') as full:
            proc = run(args, stdout=full)
        expect_status(proc, 1)
        check(text(proc.stderr) == WRITE_ERROR % os.strerror(errno.ENOSPC), text(proc.stderr))
    # Nothing written, nothing lost.
    with open('/dev/full', 'wb') as full:
        expect_status(run(['--quiet', tmp], stdout=full), 0)


@test
def stdout_closed(tmp):
    """a closed stdout is a write error, and never another file's fd"""
    for args in (['--json', tmp], [tmp, tmp], ['--version']):
        proc = run(args, stdout=None, preexec_fn=lambda: os.close(1))
        expect_status(proc, 1)
        check(text(proc.stderr) == WRITE_ERROR % os.strerror(errno.EBADF), text(proc.stderr))
    expect_status(run(['--quiet', tmp], stdout=None, preexec_fn=lambda: os.close(1)), 0)


@test
def stdout_broken_pipe(tmp):
    """EPIPE with SIGPIPE ignored: one line on stderr, exit 1"""
    def ignore_sigpipe():
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    for args in (['--json', tmp], [tmp]):
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            proc = run(args, stdout=write_end, preexec_fn=ignore_sigpipe)
        finally:
            os.close(write_end)
        expect_status(proc, 1)
        check(text(proc.stderr) == WRITE_ERROR % os.strerror(errno.EPIPE), text(proc.stderr))
    # With SIGPIPE at its default the command dies of it, as cat does.
    read_end, write_end = os.pipe()
    os.close(read_end)
    proc = subprocess.run([CLI, tmp], stdout=write_end, stderr=subprocess.PIPE,
                          env=base_env(), timeout=60, restore_signals=True)
    os.close(write_end)
    check(proc.returncode == -signal.SIGPIPE, 'exit status %d' % proc.returncode)


# ------------------------------------------------------ progress

PROGRESS_RE = (r'psf-syncfs: (syncing|([0-9]+ of )?[0-9]+ filesystems? '
               r'synced), [0-9.]+ s, [0-9.]+[ \xa0]([kMGT]?B|bytes?) dirty or under writeback '
               r'\(whole system\)')


@test
def progress_forced(tmp):
    """--progress shows the progress on a non-terminal once a flush is slow"""
    env = shim_env(PSF_SHIM_SYNCFS_DELAY_MS='2200')
    paths = distinct_filesystems(tmp, 2)
    proc = run(['--progress', '--json'] + paths, env=env)
    expect_status(proc, 0)
    parse_json(proc)
    lines = text(proc.stderr).splitlines()
    check(len(lines) >= 2, lines)
    for line in lines:
        check(re.fullmatch(PROGRESS_RE, line), 'not a progress line: %r' % line)
    check(lines[-1].startswith('psf-syncfs: 2 of 2 filesystems synced, '), lines)
    check(any(l.startswith('psf-syncfs: 0 of 2 filesystems synced, ') for l in lines[:-1]),
          lines)
    # A fast flush shows none, and none without --progress.
    proc = run(['--progress', tmp])
    check(proc.stderr == b'', text(proc.stderr))
    proc = run([tmp], env=env)
    expect_status(proc, 0)
    check(proc.stderr == b'', text(proc.stderr))


@test
def progress_counts_done(tmp):
    """--progress counts each filesystem as its flush ends, while a slow one runs"""
    paths = distinct_filesystems(tmp, 2)
    # Only the first filesystem is slow (its syncfs() sleeps 2.6 s); the
    # helper syncs both at once, so the second one is done long before.
    env = shim_env(PSF_FAULT='syncfs,action=delay,ms=2600,path=%s' % os.path.realpath(tmp))
    proc = run(['--progress', '--json'] + paths, env=env)
    expect_status(proc, 0)
    parse_json(proc)
    lines = text(proc.stderr).splitlines()
    for line in lines:
        check(re.fullmatch(PROGRESS_RE, line), 'not a progress line: %r' % line)
    check(any(l.startswith('psf-syncfs: 1 of 2 filesystems synced, ') for l in lines[:-1]),
          lines)
    check(lines[-1].startswith('psf-syncfs: 2 of 2 filesystems synced, '), lines)


def run_on_pty(args, env):
    """Runs the command with stderr on a terminal; returns (status, stdout,
    what the terminal got)."""
    try:
        master, slave = pty.openpty()
    except OSError as e:
        raise Skip('no pseudo-terminal: %s' % e)
    try:
        proc = subprocess.Popen([CLI] + args, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=slave)
    finally:
        os.close(slave)
    seen = b''
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: every slave end is closed
            break
        if not chunk:
            break
        seen += chunk
    out = proc.stdout.read()
    proc.wait(timeout=30)
    os.close(master)
    return proc.returncode, out, seen.decode('utf-8', 'replace')


@test
def progress_on_terminal(tmp):
    """stderr on a terminal: one updating line, but not with --json or --quiet"""
    env = shim_env(PSF_SHIM_SYNCFS_DELAY_MS='2200')
    status, out, seen = run_on_pty([tmp], env)
    check(status == 0, 'exit status %d: %s' % (status, seen))
    # The child says how many filesystems it syncs before the line shows.
    check(re.match(r'\r\x1b\[Kpsf-syncfs: (syncing|0 of 1 filesystem synced), ', seen),
          repr(seen))
    updates = seen.split('\r\x1b[K')[1:]
    check(len(updates) >= 2, repr(seen))
    for update in updates:
        check(re.fullmatch(PROGRESS_RE + r'(\r?\n)?', update), repr(update))
    check(updates[-1].startswith('psf-syncfs: 1 of 1 filesystem synced'), repr(seen))
    check(seen.count('\n') == 1 and seen.endswith('\n'), repr(seen))
    check(text(out).splitlines()[0].split() == HEADINGS, out)
    for args in (['--json', tmp], ['--quiet', tmp]):
        status, out, seen = run_on_pty(args, env)
        check(status == 0 and seen == '', (args, status, seen))


# ------------------------------------------------------ the front

# The program psf-syncfs serves --version and -q PATH… itself, linked with
# libc only; every other run goes to the full command, the module it opens
# (psf-syncfs-cli.so). PSF_SYNCFS_FULL=1 sends every run to the module.

GLIB_LIBRARIES = ('libglib-2.0', 'libgobject-2.0', 'libgio-2.0', 'libpsf-1')


def full_env(env):
    return dict(env, PSF_SYNCFS_FULL='1')


def loaded_libraries(args, env, cwd, tmp):
    """Runs the command with LD_DEBUG=libs; returns (the process, the
    libraries the dynamic linker loaded, by file name)."""
    log = os.path.join(tmp, 'ld-debug-%d' % len(os.listdir(tmp)))
    proc = run(args, env=dict(env, LD_DEBUG='libs', LD_DEBUG_OUTPUT=log), cwd=cwd)
    names = set()
    for name in os.listdir(tmp):
        if name.startswith(os.path.basename(log) + '.'):
            with open(os.path.join(tmp, name), encoding='utf-8', errors='replace') as f:
                names |= set(re.findall(r'calling init: (\S+)', f.read()))
            os.unlink(os.path.join(tmp, name))
    return proc, {os.path.basename(n) for n in names}


def front_cases(tmp):
    """(arguments, env, cwd, served by the front) for the runs the front
    serves, and a few it hands on."""
    os.mkdir(os.path.join(tmp, '-x'))
    os.mkdir(os.path.join(tmp, 'sub'))
    fifo = os.path.join(tmp, 'fifo')
    os.mkfifo(fifo)
    odd = os.path.join(tmp, 'new\nline\x1b[31m')
    os.mkdir(odd)
    missing = os.path.join(tmp, 'missing')
    cases = [(['-q', tmp], base_env(), None, True),
             (['--quiet', tmp, tmp, missing], base_env(), None, True),
             (['-q', fifo], base_env(), None, True),
             (['-q', 'sub', 'sub/', '', '.'], base_env(), tmp, True),
             (['-q'], base_env(), tmp, True),
             (['-q', '--', '-x'], base_env(), tmp, True),
             (['--version'], base_env(), None, True),
             (['-V', '-q', missing], base_env(), None, True),
             (['-q', '--bogus', tmp], base_env(), None, False),
             (['-qV'], base_env(), None, False),
             (['--json', '-q', tmp], base_env(), None, False),
             (['-q', '-m', 'fork', tmp], base_env(), None, False)]
    if SHIM:
        eio = shim_env(PSF_SHIM_SYNCFS_ERRNO='EIO')
        cases += [(['-q', tmp], eio, None, True),
                  (['-q', odd], eio, None, True),
                  (['-q', missing] + distinct_filesystems(tmp, 2), eio, None, True),
                  (['-q', tmp, os.path.join(tmp, 'sub')],
                   dict(eio, LANGUAGE='de'), None, True),
                  (['-q', tmp], shim_env(PSF_SHIM_SYNCFS_ERRNO='ENOSYS'), None, True)]
    return cases


@test
def front_same_as_full(tmp):
    """the front and the full command give the same output and status, the front without GLib"""
    for args, env, cwd, served in front_cases(tmp):
        proc, libs = loaded_libraries(args, env, cwd, tmp)
        full, full_libs = loaded_libraries(args, full_env(env), cwd, tmp)
        what = '%r (cwd %s)' % (args, cwd)
        check((proc.returncode, proc.stdout, proc.stderr)
              == (full.returncode, full.stdout, full.stderr),
              '%s: front %d %r %r, full command %d %r %r'
              % (what, proc.returncode, proc.stdout, proc.stderr,
                 full.returncode, full.stdout, full.stderr))
        check('libglib-2.0.so.0' in full_libs, '%s: the full command ran without GLib: %s'
              % (what, sorted(full_libs)))
        glib = sorted(n for n in libs if n.startswith(GLIB_LIBRARIES))
        check(glib == [] if served else glib != [],
              '%s: %s, loaded %s' % (what, 'served by the front' if served else 'handed on',
                                     glib))
    # What the statuses and messages are, so that both cannot be wrong alike.
    check(run(['-q', tmp]).returncode == 0, 'success')
    proc = run(['--version'])
    check(proc.stdout == ('psf-syncfs (psf) %s\n' % VERSION).encode(), proc.stdout)
    if SHIM:
        odd = os.path.join(tmp, 'new\nline\x1b[31m')
        proc = run(['-q', odd], env=shim_env(PSF_SHIM_SYNCFS_ERRNO='EIO'))
        expect_status(proc, 1)
        check(text(proc.stderr) == 'psf-syncfs: syncfs(%s): %s\n'
              % (odd.replace('\n', '\\x0a').replace('\x1b', '\\x1b'), os.strerror(errno.EIO)),
              text(proc.stderr))


@test
def front_same_as_full_when_stdout_fails(tmp):
    """--version on a full or closed stdout: the same error from both"""
    if not os.path.exists('/dev/full'):
        raise Skip('no /dev/full')
    for env in (base_env(), full_env(base_env())):
        with open('/dev/full', 'wb') as full:
            proc = run(['--version'], env=env, stdout=full)
        expect_status(proc, 1)
        check(text(proc.stderr) == WRITE_ERROR % os.strerror(errno.ENOSPC), text(proc.stderr))
        proc = run(['-V'], env=env, stdout=None, preexec_fn=lambda: os.close(1))
        expect_status(proc, 1)
        check(text(proc.stderr) == WRITE_ERROR % os.strerror(errno.EBADF), text(proc.stderr))


def processes_with_arg(arg):
    """The pids whose argv holds @arg (the front's child has the front's)."""
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                if arg.encode() in f.read().split(b'\0'):
                    found.append(int(pid))
        except OSError:
            continue
    return found


def children_of(pid):
    """The children of every thread of @pid (the program makes its child
    from a thread of its own)."""
    children = []
    try:
        for task in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/children' % (pid, task)) as f:
                children += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return children


def wait_for_children(pid, timeout=10):
    """the children of @pid, once it has one (or @timeout seconds passed)"""
    deadline = time.monotonic() + timeout
    while not children_of(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return children_of(pid)


def fds_of(pid):
    return sorted(int(fd) for fd in os.listdir('/proc/%d/fd' % pid))


def maps_of(pid):
    with open('/proc/%d/maps' % pid) as f:
        return f.read()


@test
def front_interrupted(tmp):
    """SIGINT or SIGTERM during a slow sync: the child is cancelled and reaped, exit 1, as the full command"""
    for sig in (signal.SIGINT, signal.SIGTERM):
        outcomes = []
        for env in (shim_env(PSF_SHIM_SYNCFS_DELAY_MS='10000'),
                    full_env(shim_env(PSF_SHIM_SYNCFS_DELAY_MS='10000'))):
            marker = os.path.join(tmp, 'interrupted-%d-%d' % (sig, len(outcomes)))
            os.mkdir(marker)
            proc = subprocess.Popen([CLI, '-q', marker], env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            check(wait_for_children(proc.pid) != [], 'no child was started')
            time.sleep(0.2)
            begin = time.monotonic()
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=30)
            check(time.monotonic() - begin < 5, 'slow to stop')
            outcomes.append((proc.returncode, out, err))
            deadline = time.monotonic() + 5
            while processes_with_arg(marker) and time.monotonic() < deadline:
                time.sleep(0.05)
            check(processes_with_arg(marker) == [], 'a child of %r is left' % marker)
        check(outcomes[0] == outcomes[1], 'front %r, full command %r' % tuple(outcomes))
        check(outcomes[0] == (1, b'', b'psf-syncfs: The task was cancelled\n'), outcomes[0])


@test
def front_child_killed(tmp):
    """a child killed from outside: the same message and status from the front and the full command"""
    outcomes = []
    for env in (shim_env(PSF_SHIM_SYNCFS_DELAY_MS='10000'),
                full_env(shim_env(PSF_SHIM_SYNCFS_DELAY_MS='10000'))):
        proc = subprocess.Popen([CLI, '-q', tmp], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        children = wait_for_children(proc.pid)
        check(len(children) == 1, 'children %r' % children)
        os.kill(children[0], signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        outcomes.append((proc.returncode, out, err))
    check(outcomes[0] == outcomes[1], 'front %r, full command %r' % tuple(outcomes))
    check(outcomes[0] == (1, b'', b'psf-syncfs: The child process was killed by signal 9 (%s)\n'
                          % signal.strsignal(signal.SIGKILL).encode()), outcomes[0])


@test
def front_maps_no_glib(tmp):
    """a running -q PATH maps no GLib, holds only its report channel, its child none of ours and every CPU"""
    env = shim_env(PSF_SHIM_SYNCFS_DELAY_MS='1500')
    extra_read, extra_write = os.pipe()  # inherited: the child must not keep it
    try:
        proc = subprocess.Popen([CLI, '-q', tmp, '/dev/shm'], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                pass_fds=(extra_write,))
    finally:
        os.close(extra_write)
    try:
        children = wait_for_children(proc.pid)
        check(len(children) == 1, 'children %r' % children)
        maps = maps_of(proc.pid)
        check(not any(lib in maps for lib in GLIB_LIBRARIES), maps)
        # The program: stdio, what it was given, both ends of its report
        # channel (one pipe), and the signalfd and eventfd its watching
        # thread waits on.
        fds = fds_of(proc.pid)
        own = [fd for fd in fds if fd > 2 and fd != extra_write]
        links = sorted(os.readlink('/proc/%d/fd/%d' % (proc.pid, fd)) for fd in own)
        pipes = sorted(set(link for link in links if link.startswith('pipe:')))
        check(fds[:3] == [0, 1, 2] and extra_write in fds and len(own) == 4 and len(pipes) == 1
              and links.count(pipes[0]) == 2
              and sorted(set(links) - set(pipes)) == ['anon_inode:[eventfd]',
                                                      'anon_inode:[signalfd]'],
              (fds, links))
        report = pipes[0]
        # The child: stdio, the write end of the report channel and what
        # the routine has open: no pipe of the program's caller.
        pipes = [os.readlink('/proc/%d/fd/%d' % (children[0], fd))
                 for fd in fds_of(children[0]) if fd > 2]
        pipes = [link for link in pipes if link.startswith('pipe:')]
        check(pipes == [report], 'the child holds %r, the report channel is %s'
              % (pipes, report))
        # The program keeps itself on one CPU while the child runs; the
        # child has the CPUs its caller had.
        check(os.sched_getaffinity(children[0]) == os.sched_getaffinity(0),
              (os.sched_getaffinity(children[0]), os.sched_getaffinity(0)))
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(extra_read)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    check((proc.returncode, out, err) == (0, b'', b''), (proc.returncode, out, err))
    check(processes_with_arg(tmp) == [], 'a process of the run is left')
    # A table loads the full command, and GLib with it.
    proc = subprocess.Popen([CLI, '--json', tmp], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for_children(proc.pid)
    maps = maps_of(proc.pid)
    proc.communicate(timeout=30)
    check('libglib-2.0' in maps and 'psf-syncfs-cli.so' in maps, 'the full command: ' + maps)


@test
def front_large_report(tmp):
    """-q with thousands of paths: the report outgrows the pipe, the run still ends as the full one"""
    # 24-byte records, written in batches that a pipe does not pack
    # tightly: from about 2050 paths the report no longer fits the default
    # pipe, and a reader that waited for the exit first would wait forever.
    for n in (2100, 2500, 4500, 40000):
        args = ['-q'] + [tmp] * n
        front = run(args, timeout=60)
        full = run(args, env=base_env(PSF_SYNCFS_FULL='1'), timeout=60)
        check((front.returncode, front.stdout, front.stderr) == (0, b'', b''), (n, front))
        check((full.returncode, full.stdout, full.stderr) == (0, b'', b''), (n, full))


@test
def front_module_missing_or_broken(tmp):
    """a missing or broken module: a clear error, exit 1, no crash"""
    broken = os.path.join(tmp, 'broken.so')
    with open(broken, 'wb') as f:
        f.write(b'not a library')
    cases = ((os.path.join(tmp, 'none.so'),
              r'.*none\.so: cannot open shared object file: No such file or directory'),
             (broken, r'.*broken\.so: (invalid ELF header|file too short)'))
    if SHIM:  # a library without the entry point
        cases += ((SHIM, r'.*undefined symbol: psf_syncfs_cli_main'),)
    for module, reason in cases:
        for args in (['--json', tmp], [tmp], ['--help']):
            proc = run(args, env=base_env(PSF_SYNCFS_CLI_MODULE=module))
            expect_status(proc, 1)
            check(proc.stdout == b'', text(proc.stdout))
            check(re.fullmatch(r'psf-syncfs: Cannot load the module of the command: %s\n'
                               % reason, text(proc.stderr)), text(proc.stderr))
        # The front does not need it.
        proc = run(['-q', tmp], env=base_env(PSF_SYNCFS_CLI_MODULE=module))
        check((proc.returncode, proc.stdout, proc.stderr) == (0, b'', b''), proc)


@test
def out_of_fds_exits_1(tmp):
    """with few fds left: a message and exit 1, never a crash, from the program and the module"""
    import resource

    def limit(n):
        return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))

    for full in ('0', '1'):
        for args in (['-q', tmp], [tmp], ['--json', tmp]):
            for n in range(4, 13):
                proc = run(args, env=base_env(PSF_SYNCFS_FULL=full), preexec_fn=limit(n))
                where = 'PSF_SYNCFS_FULL=%s %s, %d fds: %r' % (full, args, n, proc)
                check(proc.returncode in (0, 1), where)
                if proc.returncode == 1:
                    check(re.fullmatch(rb'psf-syncfs: .*Too many open files\n', proc.stderr),
                          where)


# ------------------------------------------------------ the rest

@test
def forkserver_ends_with_command(tmp):
    """--start-method=forkserver leaves no server behind"""
    proc = subprocess.Popen([CLI, '--json', '-m', 'forkserver', tmp, tmp], env=base_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=60)
    check(proc.returncode == 0, err)
    doc = json.loads(out)
    check(doc['start_method'] == 'forkserver', doc)

    def servers():
        found = []
        for pid in os.listdir('/proc'):
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as f:
                    argv = f.read().split(b'\0')
            except OSError:
                continue
            if b'--forkserver' in argv and str(proc.pid).encode() in argv:
                found.append(pid)
        return found
    deadline = time.monotonic() + 5
    while servers() and time.monotonic() < deadline:
        time.sleep(0.05)
    check(servers() == [], 'a forkserver of %d is still running' % proc.pid)


def complete(words):
    """The bash completions of the last of words."""
    if not COMPLETION:
        raise Skip('no completion script given')
    bash = shutil.which('bash')
    framework = '/usr/share/bash-completion/bash_completion'
    if bash is None or not os.path.exists(framework):
        raise Skip('bash-completion is not installed')
    line = ' '.join(words)
    script = ('source %s; source %s; COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE=%s; '
              'COMP_POINT=${#COMP_LINE}; _psf_syncfs psf-syncfs; '
              'printf "%%s\\n" "${COMPREPLY[@]}"'
              % (framework, COMPLETION, ' '.join("'%s'" % w for w in words), len(words) - 1,
                 "'%s'" % line))
    env = base_env(PATH=os.path.dirname(CLI) + os.pathsep + os.environ.get('PATH', '/usr/bin:/bin'))
    proc = subprocess.run([bash, '--norc', '--noprofile', '-c', script], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, cwd=COMPLETE_CWD[0])
    check(proc.returncode == 0, text(proc.stderr))
    return [w for w in text(proc.stdout).split('\n') if w]


COMPLETE_CWD = [None]


@test
def bash_completion(tmp):
    """bash completes options, start methods, columns and paths"""
    COMPLETE_CWD[0] = tmp
    os.mkdir(os.path.join(tmp, 'dir'))
    open(os.path.join(tmp, 'file'), 'w').close()
    options = complete(['psf-syncfs', '--'])
    help_text = text(run(['--help']).stdout)
    for option in re.findall(r'^\s+(?:-\w, )?(--[a-z-]+)', help_text, re.M):
        check(any(o.rstrip('=') == option for o in options), '%s not completed: %r'
              % (option, options))
    check(sorted(complete(['psf-syncfs', '--start-method', ''])) == sorted(start_methods()[0]),
          'start methods')
    check(sorted(complete(['psf-syncfs', '-m', 'sp'])) == ['spawn'], 'spawn')
    check(sorted(complete(['psf-syncfs', '--output', ''])) == sorted(COLUMNS), 'columns')
    check('PATH,STATUS' in complete(['psf-syncfs', '-o', 'PATH,ST']), 'column lists')
    check(sorted(complete(['psf-syncfs', ''])) == ['dir', 'file'], 'paths')
    check(sorted(complete(['psf-syncfs', '--files-from', 'f'])) == ['file'], 'files')


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
