# psftap.py: the small TAP runner of psf's Python test scripts
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A test is a function registered with @test; it passes by returning,
# is skipped by raising Skip(reason) and fails with any other exception
# (its traceback is printed as TAP comments). run() prints the plan and
# the results and exits 1 if anything failed. A script finds this module
# one folder up from its own:
#
#   sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import os
import subprocess
import sys
import traceback

TESTS = []


class Skip(Exception):
    pass


def test(func):
    TESTS.append(func)
    return func


def require_gi(**versions):
    """Imports PyGObject and asks for these namespace versions
    (require_gi(GLib='2.0', Psf='1')); where PyGObject is missing, the
    whole script is skipped."""
    try:
        import gi
    except ImportError:
        print('1..0 # SKIP PyGObject (python3-gi) is not installed for %s' % sys.executable)
        sys.exit(0)
    for namespace, version in versions.items():
        gi.require_version(namespace, version)


def open_fds():
    """The fds of this process, with what each one is."""
    fds = {}
    for name in os.listdir('/proc/self/fd'):
        try:
            fds[int(name)] = os.readlink('/proc/self/fd/' + name)
        except OSError:
            pass
    return fds


def device_text(path):
    """The device of the filesystem that holds @path, as "MAJOR:MINOR"."""
    st = os.stat(path)
    return f'{os.major(st.st_dev)}:{os.minor(st.st_dev)}'


def run_command(argv, check=True, timeout=300, **kwargs):
    """subprocess.run() with the output captured as text; with @check, a
    non-zero exit fails the test and shows both outputs."""
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and out.returncode != 0:
        raise AssertionError(f'{argv} exited {out.returncode}:\n{out.stdout}\n{out.stderr}')
    return out


def print_traceback():
    for line in traceback.format_exc().splitlines():
        print('# ' + line)


def run(prefix='', skip=None, setup=None):
    """Runs every registered test and exits, with 1 if one failed. Each
    test is named @prefix + its function's name with '-' for '_'. @skip:
    why none can run here (the plan says so, nothing runs). @setup: called
    once before the tests; if it raises, that is the one result (a failed
    "set-up"), else what it returns is closed (its close()) after them."""
    if skip:
        print('1..0 # SKIP %s' % skip)
        sys.exit(0)
    fixture = None
    if setup is not None:
        try:
            fixture = setup()
        except BaseException:  # noqa: B902 - reported as TAP
            print('1..1\nnot ok 1 %sset-up' % prefix)
            print_traceback()
            sys.exit(1)
    print('1..%d' % len(TESTS))
    failed = 0
    try:
        for n, func in enumerate(TESTS, 1):
            name = prefix + func.__name__.replace('_', '-')
            try:
                func()
            except Skip as e:
                print('ok %d %s # SKIP %s' % (n, name, e))
            except BaseException:  # noqa: B902 (KeyboardInterrupt is a failure here too)
                failed += 1
                print('not ok %d %s' % (n, name))
                print_traceback()
            else:
                print('ok %d %s' % (n, name))
            sys.stdout.flush()
    finally:
        if fixture is not None:
            fixture.close()
    sys.exit(1 if failed else 0)
