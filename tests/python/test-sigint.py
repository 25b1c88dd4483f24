#!/usr/bin/python3
# test-sigint.py: Ctrl-C (SIGINT) during a blocking wait(), from Python and gjs
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Each case runs a small script in a process of its own that starts a long
# task, says so on stdout and blocks in task.wait(); the test then sends
# SIGINT and reads what the script printed. Python must raise
# KeyboardInterrupt at once (the bound below is generous for a loaded
# machine; the time taken is printed) and leave the task as it was: still
# running, then waited for again or cancelled. Prints TAP.

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from psftap import Skip, require_gi, run, test  # noqa: E402

require_gi(GLib='2.0', Gio='2.0', Psf='1')

# How long after SIGINT the script may take to react. A wait that ignores
# the signal until the child exits takes the child's 30 s.
BOUND_S = 5
TIME_LIMIT_S = 60


def run_script(argv, code, suffix, signals=1, before_signal=0.3):
    """Runs `code` with `argv`, sends it SIGINT once it printed its first
    line (then again after each further line, `signals` times in all);
    returns (lines, stderr, returncode, seconds from the first SIGINT to
    the second line)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'script' + suffix)
        with open(path, 'w') as f:
            f.write(textwrap.dedent(code))
        proc = subprocess.Popen(argv + [path], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=tmp)
        lines = []
        took = None
        try:
            lines.append(proc.stdout.readline().strip())
            for n in range(signals):
                time.sleep(before_signal)
                sent = time.monotonic()
                proc.send_signal(signal.SIGINT)
                line = proc.stdout.readline().strip()
                if n == 0:
                    took = time.monotonic() - sent
                lines.append(line)
            out, err = proc.communicate(timeout=TIME_LIMIT_S)
            lines += out.splitlines()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        return lines, err, proc.returncode, took


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


PYTHON_WAIT = '''
    import sys
    import gi
    gi.require_version('Psf', '1')
    from gi.repository import Psf

    task = Psf.SpawnProcess(argv=['sleep', '30'])
    task.start()
    print(task.pid, flush=True)
    for attempt in range(2):
        try:
            task.wait()
            print('wait returned', task.returncode, flush=True)
        except KeyboardInterrupt:
            print('KeyboardInterrupt', task.is_alive(), task.returncode, flush=True)
    task.cancel()
    print('after cancel', task.wait(), flush=True)
'''


@test
def sigint_during_wait_raises_keyboard_interrupt():
    lines, err, rc, took = run_script([sys.executable], PYTHON_WAIT, '.py', signals=2)
    print('# KeyboardInterrupt %.3f s after SIGINT' % took)
    assert rc == 0, (rc, lines, err)
    assert err == '', err
    pid = int(lines[0])
    assert lines[1:] == ['KeyboardInterrupt True None', 'KeyboardInterrupt True None',
                         'after cancel -15'], lines
    assert took < BOUND_S, 'KeyboardInterrupt came %.1f s after SIGINT' % took
    assert gone(pid)


PYTHON_WAIT_AGAIN = '''
    import gi
    gi.require_version('Psf', '1')
    from gi.repository import Psf

    task = Psf.SpawnProcess(argv=['sh', '-c', 'sleep 1; exit 3'])
    task.start()
    print('started', flush=True)
    try:
        task.wait()
    except KeyboardInterrupt:
        print('KeyboardInterrupt', task.returncode, flush=True)
    # Waiting again gets the real returncode: nothing was lost.
    print('wait again', task.wait(), task.returncode, flush=True)
'''


@test
def wait_again_after_keyboard_interrupt_keeps_the_returncode():
    lines, err, rc, took = run_script([sys.executable], PYTHON_WAIT_AGAIN, '.py')
    assert rc == 0 and err == '', (rc, lines, err)
    assert lines == ['started', 'KeyboardInterrupt None', 'wait again 3 3'], lines
    assert took < BOUND_S, took


PYTHON_HANDLER = '''
    import signal, threading, time
    import gi
    gi.require_version('Psf', '1')
    from gi.repository import Psf

    # A thread that does not block signals: the kernel may give SIGINT to
    # it; the main thread's wait must still hear of it.
    threading.Thread(target=time.sleep, args=(3,), daemon=True).start()
    seen = []
    def handler(signum, frame):
        seen.append(task.is_alive())
        print('handler ran', flush=True)
    signal.signal(signal.SIGINT, handler)

    task = Psf.SpawnProcess(argv=['sh', '-c', 'sleep 1.5; exit 4'])
    task.start()
    print('started', flush=True)
    # A handler that does not raise: the wait goes on to the exit.
    print('wait', task.wait(), seen, flush=True)
'''


@test
def python_signal_handler_runs_during_wait():
    lines, err, rc, took = run_script([sys.executable], PYTHON_HANDLER, '.py')
    assert rc == 0 and err == '', (rc, lines, err)
    assert lines == ['started', 'handler ran', 'wait 4 [True]'], lines
    assert took < BOUND_S, took


PYTHON_SYNCFS = '''
    import gi
    gi.require_version('Psf', '1')
    from gi.repository import Psf

    # The task's own context, as a host with a loop per component has it.
    from gi.repository import GLib
    ctx = GLib.MainContext()
    ctx.push_thread_default()
    task = Psf.SpawnProcess(argv=['sleep', '30'])
    task.start()
    ctx.pop_thread_default()
    print('started', flush=True)
    try:
        task.wait()
    except KeyboardInterrupt:
        print('KeyboardInterrupt', flush=True)
    task.cancel()
    print('cancelled', task.wait(), flush=True)
'''


@test
def sigint_during_wait_on_a_private_context():
    lines, err, rc, took = run_script([sys.executable], PYTHON_SYNCFS, '.py')
    assert rc == 0 and err == '', (rc, lines, err)
    assert lines == ['started', 'KeyboardInterrupt', 'cancelled -15'], lines
    assert took < BOUND_S, took


GJS_WAIT = '''
    import Psf from 'gi://Psf?version=1';

    const task = new Psf.SpawnProcess({argv: ['sleep', '30']});
    task.start();
    print(task.pid);
    task.wait();
    print('wait returned');
'''


@test
def gjs_sigint_during_wait_ends_gjs_at_once():
    gjs = shutil.which('gjs')
    if gjs is None:
        raise Skip('gjs is not installed')
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'script.js')
        with open(path, 'w') as f:
            f.write(textwrap.dedent(GJS_WAIT))
        # The child shares gjs's stdout: read its pid, then watch gjs itself.
        proc = subprocess.Popen([gjs, '-m', path], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, cwd=tmp)
        pid = None
        try:
            pid = int(proc.stdout.readline())
            time.sleep(0.3)
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(timeout=TIME_LIMIT_S)
            took = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            # The child outlives gjs, as the child of any killed process
            # does: nobody is left to cancel it.
            if pid is not None and not gone(pid):
                os.kill(pid, signal.SIGKILL)
            proc.stdout.close()
    print('# gjs ended %.3f s after SIGINT' % took)
    # gjs keeps SIGINT's default action: the process ends on the signal.
    assert rc == -signal.SIGINT, rc
    assert took < BOUND_S, took


if __name__ == '__main__':
    run()
