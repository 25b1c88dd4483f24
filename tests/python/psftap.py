# psftap.py: the small TAP runner of the tests in tests/python
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A test is a function registered with @test; it passes by returning,
# is skipped by raising Skip(reason) and fails with any other exception
# (its traceback is printed as TAP comments). run() prints the plan and
# the results and exits 1 if anything failed.

import os
import sys
import traceback

try:
    import gi
except ImportError:
    print('1..0 # SKIP PyGObject (python3-gi) is not installed for %s' % sys.executable)
    sys.exit(0)

gi.require_version('GLib', '2.0')
gi.require_version('Gio', '2.0')
gi.require_version('Psf', '1')

TESTS = []


class Skip(Exception):
    pass


def test(func):
    TESTS.append(func)
    return func


def open_fds():
    """The fds of this process, with what each one is."""
    fds = {}
    for name in os.listdir('/proc/self/fd'):
        try:
            fds[int(name)] = os.readlink('/proc/self/fd/' + name)
        except OSError:
            pass
    return fds


def run():
    print('1..%d' % len(TESTS))
    failed = 0
    for n, func in enumerate(TESTS, 1):
        name = func.__name__.replace('_', '-')
        try:
            func()
        except Skip as e:
            print('ok %d %s # SKIP %s' % (n, name, e))
        except BaseException:  # noqa: B902 (KeyboardInterrupt is a failure here too)
            failed += 1
            print('not ok %d %s' % (n, name))
            for line in traceback.format_exc().splitlines():
                print('# ' + line)
        else:
            print('ok %d %s' % (n, name))
        sys.stdout.flush()
    sys.exit(1 if failed else 0)
