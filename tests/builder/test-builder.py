#!/usr/bin/python3
# test-builder.py: the psf-builder plugin inside the real GNOME Builder 43
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Each case starts gnome-builder headless on a copy of project/ (a meson
# project that installs one file), the way a user opens a project:
#
#   dbus-run-session -- xvfb-run -a [strace ...] gnome-builder -p PROJECT/meson.build
#
# with a scratch HOME and XDG folders, GSETTINGS_BACKEND=memory, the plugin's
# installed files (the same list meson installs) and the test driver
# (driver/) in $XDG_DATA_HOME/gnome-builder/plugins/, and psf taken from the
# build tree (GI_TYPELIB_PATH, LD_LIBRARY_PATH, PSF_CHILD_PATH and PYTHONPATH
# for psf's overrides, from meson).
# The driver asks Builder's build manager for INSTALL, copies the build log
# to build.log, writes result.json and quits Builder. Each case writes the
# project's .buildconfig: the install prefix (a scratch folder) and, for the
# per-project switch, the configuration's environment.
#
# What is checked from the outside: strace -f of Builder and everything it
# starts (execve, syncfs with the fd's path, SIGTERM/SIGKILL, exits) shows
# that the psf child whose pid the stage logged called syncfs() on the
# prefix after the install process exited, or was killed by SIGTERM when
# the build was cancelled; the fault shim (tests/faults/fault-shim.c, through
# LD_PRELOAD, inherited by psf's helper) makes a sync fail or hang.
#
#   --bench N   instead of the tests: N interleaved pairs of builds with the
#               switch on and off; prints the medians of the driver's build
#               time (request to completion) and of the stage's own time.
#
# Prints TAP. Without gnome-builder, xvfb-run, xauth or dbus-run-session the
# whole suite is skipped with the reason; without a working strace, the cases
# that need it are.

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

RUN_LIMIT_S = 300         # one Builder run, start to exit
EXIT_GRACE_S = 20         # from the driver's result to Builder's exit
DRIVER_TIMEOUT_S = 240    # the driver gives up on its builds after this
HANG_MS = 300000          # the shim's syncfs() delay in the cancel case

INSTALLED = os.path.join('share', 'psf-builder-fixture', 'hello.txt')
TRACE_LINE = re.compile(r'^(\d+)\s+(\d+\.\d+)\s+(.*)$')
SYNCFS_CALL = re.compile(r'^syncfs\((\d+)<(.*)>\)\s+=\s+(-?\d+)')
EXECVE_CALL = re.compile(r'^execve\("([^"]*)", \[(.*)\], .*\) = 0$')
STARTED_LINE = re.compile(r'^psf: syncing the filesystems of (\d+) paths? under (.*) '
                          r'\(child pid (\d+)\)$')
STAGE_TIME = re.compile(r'^psf: \d+ filesystems? synced in ([0-9.]+) ms$')
UNFINISHED_RESUMED = re.compile(r'^<\.\.\. \w+ resumed>(.*)$')
G_IO_ERROR_CANCELLED = 19

# What Builder's process gets from the test's own environment.
PASSED_ENV = ('PATH', 'GI_TYPELIB_PATH', 'LD_LIBRARY_PATH', 'PSF_CHILD_PATH',
              'PSF_LOCALEDIR', 'PYTHONPATH', 'LC_ALL', 'LANGUAGE', 'TMPDIR')


class Skip(Exception):
    pass


# The run in progress, for the SIGTERM handler: meson's timeout ends this
# script's process group, not the session each Builder run gets.
CURRENT_RUN = []


def on_sigterm(signum, frame):
    for run in CURRENT_RUN:
        run.stop()
        run.cleanup()
    print('# stopped by signal %d' % signum, flush=True)
    os._exit(1)


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument('--plugin-file', action='append', required=True,
                        help='a file meson installs into the plugin folder')
    parser.add_argument('--driver', required=True, help='the driver plugin folder')
    parser.add_argument('--project', required=True, help='the fixture project folder')
    parser.add_argument('--shim', help='the LD_PRELOAD fault shim (libpsf-fault-shim.so)')
    parser.add_argument('--bench', type=int, default=0)
    parser.add_argument('--case', action='append', help='run only this case (repeatable)')
    return parser.parse_args()


def missing_program():
    for program in ('gnome-builder', 'xvfb-run', 'xauth', 'dbus-run-session'):
        if shutil.which(program) is None:
            return program
    return None


def strace_problem():
    """None when `strace -f` can trace here, else why not."""
    if shutil.which('strace') is None:
        return 'strace is not installed'
    try:
        probe = subprocess.run(['strace', '-f', '--seccomp-bpf', '-o', '/dev/null', 'true'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return 'strace does not run: %s' % e
    if probe.returncode != 0:
        return 'strace cannot trace here: %s' % probe.stderr.decode(errors='replace').strip()
    return None


def parse_trace(lines):
    """(pid, time, event) for each line of `strace -f -ttt`, with a call
    that strace split around another process's event ("<unfinished ...>",
    then "<... NAME resumed>") joined again, at the time it started."""
    events = []
    pending = {}
    for line in lines:
        m = TRACE_LINE.match(line.rstrip('\n'))
        if not m:
            continue
        pid, stamp, event = int(m.group(1)), float(m.group(2)), m.group(3)
        if event.endswith(' <unfinished ...>'):
            pending[pid] = (stamp, event[:-len(' <unfinished ...>')])
            continue
        resumed = UNFINISHED_RESUMED.match(event)
        if resumed and pid in pending:
            stamp, head = pending.pop(pid)
            event = head + resumed.group(1)
        events.append((pid, stamp, event))
    return events


class Run:
    """One Builder run: its scratch folder, outcome, build log and trace."""

    def __init__(self, args, name, setting=None, env=None, cancel=False, trace=False):
        self.name = name
        self.scratch = tempfile.mkdtemp(prefix='psf-builder-%s-' % name)
        self.prefix = os.path.join(self.scratch, 'prefix')
        self.out = os.path.join(self.scratch, 'out')
        self.trace_path = os.path.join(self.scratch, 'strace.txt') if trace else None
        self.result = None
        self.log = []
        self.trace = []
        self.notes = []
        self._start(args, setting, env or {}, cancel)

    def _start(self, args, setting, extra_env, cancel):
        for sub in ('home', 'data/gnome-builder/plugins/psf-builder', 'config', 'cache',
                    'runtime', 'out', 'prefix'):
            os.makedirs(os.path.join(self.scratch, sub), mode=0o700, exist_ok=True)
        plugins = os.path.join(self.scratch, 'data', 'gnome-builder', 'plugins')
        for path in args.plugin_file:
            shutil.copy(path, os.path.join(plugins, 'psf-builder'))
        shutil.copytree(args.driver, os.path.join(plugins, 'psf-builder-test-driver'))
        project = os.path.join(self.scratch, 'project')
        shutil.copytree(args.project, project)
        with open(os.path.join(project, '.buildconfig'), 'w', encoding='utf-8') as f:
            f.write('[default]\nname=psf test\nruntime=host\nprefix=%s\ndefault=true\n'
                    % self.prefix)
            if setting is not None:
                f.write('\n[default.environment]\nPSF_BUILDER_SYNC=%s\n' % setting)

        env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        env.update({
            'HOME': os.path.join(self.scratch, 'home'),
            'XDG_DATA_HOME': os.path.join(self.scratch, 'data'),
            'XDG_CONFIG_HOME': os.path.join(self.scratch, 'config'),
            'XDG_CACHE_HOME': os.path.join(self.scratch, 'cache'),
            'XDG_RUNTIME_DIR': os.path.join(self.scratch, 'runtime'),
            'GSETTINGS_BACKEND': 'memory',
            'NO_AT_BRIDGE': '1',
            'GTK_A11Y': 'none',
            'PYTHONDONTWRITEBYTECODE': '1',
            # Also the mark by which stragglers of this run are found.
            'PSF_BUILDER_TEST_OUT': self.out,
            'PSF_BUILDER_TEST_TIMEOUT': str(DRIVER_TIMEOUT_S),
        })
        if cancel:
            env['PSF_BUILDER_TEST_CANCEL'] = '1'
        env.update(extra_env)

        command = ['dbus-run-session', '--', 'xvfb-run', '-a']
        if self.trace_path:
            command += ['strace', '-f', '--seccomp-bpf', '-ttt', '-y', '-s', '256',
                        '-e', 'trace=execve,syncfs', '-e', 'signal=SIGTERM,SIGKILL',
                        '-o', self.trace_path]
        command += ['gnome-builder', '-p', os.path.join(project, 'meson.build')]
        self.output_path = os.path.join(self.scratch, 'builder-output.txt')
        self.started = time.monotonic()
        with open(self.output_path, 'wb') as output:
            self.process = subprocess.Popen(command, env=env, cwd=self.scratch,
                                            stdin=subprocess.DEVNULL, stdout=output,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        CURRENT_RUN.append(self)

    def stop(self):
        """Kills this run's session and whatever of it is left."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
        self._kill_stragglers()

    def wait(self):
        result_path = os.path.join(self.out, 'result.json')
        started = self.started
        result_seen = None
        while self.process.poll() is None:
            now = time.monotonic()
            if result_seen is None and os.path.exists(result_path):
                result_seen = now
            if now - started > RUN_LIMIT_S:
                self.notes.append('Builder ran for more than %d s: killed' % RUN_LIMIT_S)
                break
            if result_seen is not None and now - result_seen > EXIT_GRACE_S:
                # Seen under strace: a helper of Builder's stays in a
                # ptrace stop after Builder exits, and strace waits for it.
                self.notes.append('Builder did not exit within %d s of the driver quitting it: '
                                  'its processes were killed' % EXIT_GRACE_S)
                break
            time.sleep(0.2)
        self.stop()
        CURRENT_RUN.remove(self)
        self.seconds = time.monotonic() - started

        if os.path.exists(result_path):
            with open(result_path, encoding='utf-8') as f:
                self.result = json.load(f)
        log_path = os.path.join(self.out, 'build.log')
        if os.path.exists(log_path):
            with open(log_path, encoding='utf-8', errors='replace') as f:
                self.log = [line.rstrip('\n') for line in f]
        if self.trace_path and os.path.exists(self.trace_path):
            with open(self.trace_path, encoding='utf-8', errors='replace') as f:
                self.trace = parse_trace(f)
        return self

    def _kill_stragglers(self):
        """Kills, by pid, the processes this run started that outlived it
        (Builder's helpers left their session): they carry this run's
        PSF_BUILDER_TEST_OUT, a folder no other process names."""
        mark = ('PSF_BUILDER_TEST_OUT=%s' % self.out).encode()
        for _ in range(50):
            found = []
            for entry in os.listdir('/proc'):
                if not entry.isdigit() or int(entry) == os.getpid():
                    continue
                try:
                    with open('/proc/%s/environ' % entry, 'rb') as f:
                        if mark in f.read().split(b'\0'):
                            found.append(int(entry))
                except OSError:
                    continue
            if not found:
                return
            for pid in found:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        self.notes.append('processes of this run are still there after SIGKILL')

    def log_lines(self, prefix):
        return [line.split(': ', 1)[1] for line in self.log
                if line.startswith(prefix + ': ')]

    def psf_lines(self):
        return [line for line in self.log_lines('stdout') + self.log_lines('stderr')
                if line.startswith('psf: ')]

    def started_pids(self):
        pids = []
        for line in self.log_lines('stdout'):
            m = STARTED_LINE.match(line)
            if m:
                assert m.group(2) == self.prefix, line
                pids.append(int(m.group(3)))
        assert pids, 'the stage never logged its child: %r' % self.psf_lines()
        return pids

    def started_pid(self):
        pids = self.started_pids()
        assert len(pids) == 1, self.psf_lines()
        return pids[0]

    def describe(self):
        lines = ['scratch: %s' % self.scratch, 'result: %r' % self.result]
        lines += ['build log: %s' % line for line in self.log]
        lines += ['note: %s' % note for note in self.notes]
        try:
            with open(self.output_path, encoding='utf-8', errors='replace') as f:
                tail = f.read().splitlines()[-25:]
            lines += ['builder: %s' % line for line in tail]
        except OSError:
            pass
        return lines

    def cleanup(self):
        shutil.rmtree(self.scratch, ignore_errors=True)


def assert_build_ok(run):
    assert run.result is not None, 'the driver wrote no result'
    assert run.result['ok'], 'the build failed: %r' % run.result
    assert os.path.isfile(os.path.join(run.prefix, INSTALLED)), 'nothing was installed'


def install_ends(run):
    """When each `ninja install` / `meson install` process exited (strace
    time), in order, after checking that each exited with 0."""
    pids = set()
    for pid, _, call in run.trace:
        m = EXECVE_CALL.match(call)
        if m and os.path.basename(m.group(1)) in ('ninja', 'meson') and '"install"' in m.group(2):
            pids.add(pid)
    assert pids, 'no install process in the trace'
    ends = [(stamp, call) for pid, stamp, call in run.trace
            if pid in pids and call.startswith('+++ ')]
    assert len(ends) == len(pids), 'an install process did not exit: %r' % ends
    for _, call in ends:
        assert call == '+++ exited with 0 +++', call
    return sorted(stamp for stamp, _ in ends)


def syncfs_calls(run):
    calls = []
    for pid, stamp, call in run.trace:
        m = SYNCFS_CALL.match(call)
        if m:
            calls.append((pid, stamp, m.group(2), int(m.group(3))))
    return calls


@contextlib.contextmanager
def builder_run(args, name, **options):
    """Runs Builder once to its end (a Run with @options) and gives the
    run to the case; then reports it, all of it when the case failed, and
    removes its scratch folder unless the case failed."""
    run = Run(args, name, **options).wait()
    try:
        yield run
    except BaseException:
        run.failed = True
        raise
    finally:
        finish(run)


def needs_strace(strace):
    """Skips the case when `strace -f` cannot trace here (@strace says why)."""
    if strace:
        raise Skip(strace)


def shim_env(args, **variables):
    """The environment that preloads the fault shim with @variables (its
    PSF_SHIM_SYNCFS_* settings); a skip where the shim was not built."""
    if not args.shim:
        raise Skip('the fault shim was not built')
    return dict(LD_PRELOAD=args.shim, **variables)


# --- the cases ---------------------------------------------------------------

def case_install_is_synced(args, strace):
    """After each INSTALL, a psf child syncs the prefix's filesystem."""
    needs_strace(strace)
    with builder_run(args, 'sync', trace=True, env={'PSF_BUILDER_TEST_BUILDS': '2'}) as run:
        assert_build_ok(run)
        assert run.result.get('builds') == 2, run.result
        if os.environ.get('PYTHONPATH'):
            # as with an installed psf, whose overrides are on Python's path
            assert run.result.get('psf_overrides'), 'Builder did not load psf\'s overrides'
        pids = run.started_pids()
        assert len(pids) == 2 and pids[0] != pids[1], run.psf_lines()
        lines = run.log_lines('stdout')
        synced = [line for line in lines if line.startswith('psf: synced filesystem ')]
        assert len(synced) == 2, run.psf_lines()
        for line in synced:
            assert '(%s' % run.prefix in line, line
        assert len([line for line in lines if STAGE_TIME.match(line)]) == 2, run.psf_lines()
        errors = [line for line in run.log_lines('stderr') if line.startswith('psf: ')]
        assert not errors, errors

        # Each build: its install processes end, then its child syncs the
        # prefix, before the next build's install ends.
        ends = install_ends(run)
        calls = [c for c in syncfs_calls(run) if c[2] == run.prefix]
        assert [c[0] for c in calls] == pids, \
            'syncfs() on %s by %r, the stage logged %r' % (run.prefix, calls, pids)
        previous = 0.0
        for call_pid, stamp, _, ret in calls:
            assert ret == 0, 'syncfs() returned %d' % ret
            before = [end for end in ends if previous < end < stamp]
            assert before, 'syncfs() by %d at %.6f has no install step ending before it ' \
                '(after %.6f): %r' % (call_pid, stamp, previous, ends)
            previous = stamp


def case_failed_sync_fails_stage(args, strace):
    """A syncfs() that fails fails the stage with the path and the errno text."""
    with builder_run(args, 'fail', env=shim_env(args, PSF_SHIM_SYNCFS_ERRNO='EIO')) as run:
        assert run.result is not None, 'the driver wrote no result'
        assert not run.result['ok'], 'the build succeeded: %r' % run.psf_lines()
        assert os.path.isfile(os.path.join(run.prefix, INSTALLED)), 'nothing was installed'
        expected = 'syncfs(%s): Input/output error (filesystem ' % run.prefix
        assert run.result['domain'] == 'psf-error-quark', run.result
        assert run.result['error'].startswith(expected), run.result['error']
        assert ';' not in run.result['error'], 'more than one filesystem failed: %r' % run.result
        errors = run.log_lines('stderr')
        failed = [line for line in errors if line.startswith('psf: failed to sync filesystem ')]
        assert len(failed) == 1, errors
        assert failed[0].endswith(': Input/output error'), failed[0]
        assert '(%s' % run.prefix in failed[0], failed[0]
        assert 'psf: ' + run.result['error'] in errors, errors
        assert not [line for line in run.log_lines('stdout') if line.startswith('psf: synced')]


def case_cancel_stops_child(args, strace):
    """Cancelling the build while the child syncs kills the child."""
    needs_strace(strace)
    with builder_run(args, 'cancel', cancel=True, trace=True,
                     env=shim_env(args, PSF_SHIM_SYNCFS_DELAY_MS=str(HANG_MS))) as run:
        assert run.result is not None, 'the driver wrote no result'
        pid = run.started_pid()
        assert run.result.get('cancelled_pid') == pid, run.result
        assert 'stage_wait' not in run.result, run.result['stage_wait']
        assert not run.result['ok'], run.result
        assert run.result['domain'] == 'g-io-error-quark', run.result
        assert run.result['code'] == G_IO_ERROR_CANCELLED, run.result
        assert 'psf: cancelled: the sync child (pid %d) ended with -15' % pid \
            in run.log_lines('stderr'), run.psf_lines()

        events = [(stamp, call) for p, stamp, call in run.trace if p == pid]
        signals = [call for _, call in events if call.startswith('--- SIGTERM')]
        assert signals, 'the child got no SIGTERM: %r' % events
        assert events and events[-1][1] == '+++ killed by SIGTERM +++', events
        assert not [c for c in syncfs_calls(run) if c[0] == pid and c[3] == 0], \
            'the child synced although it was cancelled'
        # Builder reported the cancellation after the child was gone.


def case_switched_off(args, strace):
    """PSF_BUILDER_SYNC=0 in the configuration's environment: no sync."""
    needs_strace(strace)
    with builder_run(args, 'off', setting='0', trace=True) as run:
        assert_build_ok(run)
        assert run.psf_lines() == [
            'psf: syncing the installed files is off for this configuration '
            '(PSF_BUILDER_SYNC=0)'], run.psf_lines()
        install_ends(run)
        assert syncfs_calls(run) == [], syncfs_calls(run)


def case_bad_switch_value(args, strace):
    """An unknown PSF_BUILDER_SYNC value fails the stage and says why."""
    with builder_run(args, 'bad-value', setting='maybe') as run:
        assert run.result is not None, 'the driver wrote no result'
        assert not run.result['ok'], run.result
        assert run.result['error'].startswith(
            'PSF_BUILDER_SYNC=maybe in the build configuration: expected '), run.result
        assert run.psf_lines() == ['psf: ' + run.result['error']], run.psf_lines()


def finish(run):
    print('# %s: Builder ran %.1f s' % (run.name, run.seconds))
    if getattr(run, 'failed', False):
        for line in run.describe():
            print('# ' + line)
    else:
        for note in run.notes:
            print('# note: ' + note)
        run.cleanup()
    sys.stdout.flush()


CASES = [
    ('install-is-synced', case_install_is_synced),
    ('failed-sync-fails-stage', case_failed_sync_fails_stage),
    ('cancel-stops-child', case_cancel_stops_child),
    ('switched-off', case_switched_off),
    ('bad-switch-value', case_bad_switch_value),
]


def bench(args, pairs):
    """Interleaved builds with the switch on and off."""
    times = {'on': [], 'off': []}
    stage = []
    for i in range(pairs):
        for mode in ('on', 'off') if i % 2 == 0 else ('off', 'on'):
            run = Run(args, 'bench-' + mode, setting='1' if mode == 'on' else '0').wait()
            try:
                assert_build_ok(run)
                requested = finished = None
                for line in run.log_lines('driver'):
                    m = re.match(r'^(build-requested|finished) at ([0-9.]+) s$', line)
                    if m and m.group(1) == 'build-requested':
                        requested = float(m.group(2))
                    elif m:
                        finished = float(m.group(2))
                times[mode].append(finished - requested)
                if mode == 'on':
                    stage += [float(m.group(1)) for m in map(STAGE_TIME.match, run.log_lines('stdout'))
                              if m]
            finally:
                run.cleanup()
            print('%s: build %.2f s' % (mode, times[mode][-1]), flush=True)
    on = statistics.median(times['on'])
    off = statistics.median(times['off'])
    print('builds to INSTALL, median of %d: on %.2f s, off %.2f s, ratio on/off %.3f'
          % (pairs, on, off, on / off))
    print('the stage (start of the child to its report), median: %.1f ms (min %.1f, max %.1f)'
          % (statistics.median(stage), min(stage), max(stage)))


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, on_sigterm)
    missing = missing_program()
    if missing:
        print('1..0 # SKIP %s is not installed' % missing)
        return 0
    if args.bench:
        bench(args, args.bench)
        return 0
    strace = strace_problem()
    cases = [(name, func) for name, func in CASES if not args.case or name in args.case]
    print('1..%d' % len(cases))
    status = 0
    for number, (name, func) in enumerate(cases, 1):
        try:
            func(args, strace)
            print('ok %d - %s' % (number, name))
        except Skip as e:
            print('ok %d - %s # SKIP %s' % (number, name, e))
        except BaseException:  # noqa: B902
            for line in traceback.format_exc().splitlines():
                print('# ' + line)
            print('not ok %d - %s' % (number, name))
            status = 1
        sys.stdout.flush()
    return status


if __name__ == '__main__':
    sys.exit(main())
