#!/usr/bin/python3
# test-apt.py: the apt.conf.d snippet of data/apt, run by a real apt-get
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds three tiny packages with dpkg-deb into a local file: repository,
# makes an alternate root (APT_CONFIG names its apt.conf, which sets Dir to
# the root and gives dpkg --root), puts the snippet psf builds for this tree
# into the root's apt.conf.d and runs apt-get install for real. Nothing of
# the machine's own apt or dpkg state is touched.
#
# Environment (meson test): PSF_APT_SNIPPET, the snippet whose hook calls
# this tree's psf-syncfs; PSF_CHILD_PATH; PSF_TEST_FAULT_SHIM, the fault
# shim, preloaded into apt-get for the failure cases (the hook's psf child
# inherits it): a failing or slow syncfs() (PSF_SHIM_SYNCFS_*), or a
# psf-syncfs that never ends (PSF_FAULT: its waitid() hangs and ignores
# SIGTERM; only psf calls waitid(), apt, dpkg and the shells reap with
# waitpid()). Prints TAP; a case that cannot run here says why.

import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from psftap import Skip, device_text, run, run_command, test  # noqa: E402

SNIPPET = os.environ['PSF_APT_SNIPPET']
FAULT_SHIM = os.environ.get('PSF_TEST_FAULT_SHIM', '')
PACKAGES = ('psf-tiny-a', 'psf-tiny-b', 'psf-tiny-c')


def why_not_here():
    """The reason apt cannot be run for real here, or None."""
    if os.geteuid() != 0:
        return 'needs root (dpkg --root installs files owned by root)'
    for program, package in (('apt-get', 'apt'), ('apt-config', 'apt'), ('dpkg-deb', 'dpkg'),
                             ('dpkg-scanpackages', 'dpkg-dev'), ('timeout', 'coreutils')):
        if shutil.which(program) is None:
            return f'{program} is not installed (Debian package {package})'
    return None


class Root:
    """A scratch repository and an alternate root that apt-get installs into."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix='psf-apt-')
        self.repo = os.path.join(self.work, 'repo')
        self.root = os.path.join(self.work, 'root')
        self.report = os.path.join(self.work, 'report.json')
        try:
            self.build_repo()
            self.build_root()
        except BaseException:
            self.close()
            raise

    def build_repo(self):
        os.makedirs(self.repo)
        for name in PACKAGES:
            tree = os.path.join(self.work, 'src', name)
            os.makedirs(os.path.join(tree, 'DEBIAN'))
            os.makedirs(os.path.join(tree, 'usr', 'share', name))
            with open(os.path.join(tree, 'usr', 'share', name, 'data.txt'), 'w') as f:
                f.write(f'{name}\n')
            with open(os.path.join(tree, 'DEBIAN', 'control'), 'w') as f:
                f.write(f'Package: {name}\nVersion: 1.0\nArchitecture: all\n'
                        f'Maintainer: psf tests <psf@localhost>\n'
                        f'Description: a tiny package for the tests of psf\n')
            run_command(['dpkg-deb', '--root-owner-group', '-Zgzip', '-z1', '--build', tree,
                         os.path.join(self.repo, f'{name}_1.0_all.deb')])
        packages = run_command(['dpkg-scanpackages', '--multiversion', '.', '/dev/null'],
                               cwd=self.repo)
        with open(os.path.join(self.repo, 'Packages'), 'w') as f:
            f.write(packages.stdout)

    def build_root(self):
        r = self.root
        for d in ('etc/apt/apt.conf.d', 'etc/apt/preferences.d', 'etc/apt/sources.list.d',
                  'var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/lib/apt/lists/partial',
                  'var/cache/apt/archives/partial', 'var/log/apt'):
            os.makedirs(os.path.join(r, d))
        open(os.path.join(r, 'var/lib/dpkg/status'), 'w').close()
        with open(os.path.join(r, 'etc/apt/sources.list'), 'w') as f:
            f.write(f'deb [trusted=yes] file:{self.repo} ./\n')
        self.apt_conf = os.path.join(r, 'etc/apt/apt.conf')
        with open(self.apt_conf, 'w') as f:
            f.write(f'Dir "{r}/";\n'
                    f'DPkg::Options {{ "--root={r}"; "--log={r}/var/log/dpkg.log"; }};\n'
                    # the file: method reads the repository as root, not _apt
                    'APT::Sandbox::User "root";\n'
                    'Acquire::Languages "none";\n'
                    'DPkg::Use-Pty "false";\n')
        # The snippet as a distribution installs it, and the test's own
        # settings in a file of their own, as a user would add them.
        shutil.copy(SNIPPET, os.path.join(r, 'etc/apt/apt.conf.d/50psf-syncfs'))
        self.configure()
        self.apt('update')

    def configure(self, **settings):
        """Writes the root's 60local: the report file, a path of one of
        the packages (a user adding a path), and any setting given."""
        lines = [f'Psf::Syncfs::Report "{self.report}";',
                 'Psf::Syncfs::Paths:: "/usr/share/psf-tiny-a/data.txt";']
        lines += [f'Psf::Syncfs::{key} "{value}";' for key, value in settings.items()]
        with open(os.path.join(self.root, 'etc/apt/apt.conf.d/60local'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        if os.path.exists(self.report):
            os.unlink(self.report)

    def env(self, **extra):
        env = dict(os.environ, APT_CONFIG=self.apt_conf, DEBIAN_FRONTEND='noninteractive',
                   LC_ALL='C.UTF-8')
        for name in ('PSF_SHIM_SYNCFS_ERRNO', 'PSF_SHIM_SYNCFS_DELAY_MS', 'LD_PRELOAD', 'PSF_FAULT'):
            env.pop(name, None)
        env.update(extra)
        return env

    def apt(self, *args, check=True, prefix=(), **env):
        return run_command([*prefix, 'apt-get', '-y', *args], env=self.env(**env), check=check,
                           timeout=120)

    def installed(self, name):
        out = run_command(['dpkg-query', f'--admindir={self.root}/var/lib/dpkg', '-W',
                           '-f=${Status}', name], check=False)
        return out.stdout == 'install ok installed'

    def read_report(self):
        with open(self.report) as f:
            return json.load(f)

    def device(self):
        return device_text(self.root)

    def close(self):
        shutil.rmtree(self.work, ignore_errors=True)


def hook_lines(text):
    return [line for line in text.splitlines() if 'psf-apt-hook' in line]


def shim_env(**settings):
    """The fault shim preloaded into apt-get (the hook's psf child inherits
    it) with @settings, its PSF_SHIM_SYNCFS_* or PSF_FAULT variables."""
    if not FAULT_SHIM:
        raise Skip('the fault shim was not built')
    return dict(LD_PRELOAD=FAULT_SHIM, **settings)


ROOT = None


@test
def install_syncs_root():
    ROOT.configure()
    out = ROOT.apt('install', 'psf-tiny-a', 'psf-tiny-b')
    for name in ('psf-tiny-a', 'psf-tiny-b'):
        assert ROOT.installed(name), name
    # Quiet: nothing from the hook when every filesystem was synced.
    assert hook_lines(out.stdout + out.stderr) == [], out.stdout + out.stderr

    report = ROOT.read_report()
    assert report['exit_status'] == 0 and report['error'] is None, report
    results = report['results']
    root = ROOT.root
    assert [r['path'] for r in results] == [root + '/', root + '/var/lib/dpkg',
                                            root + '/usr/share/psf-tiny-a/data.txt'], results
    assert results[0]['status'] == 'synced', results
    assert results[0]['device'] == ROOT.device(), (results, ROOT.device())
    assert results[1]['status'] == 'duplicate', results
    # A file of a package that dpkg had just unpacked: the hook ran after
    # dpkg (before it, the file would not be there and would be skipped).
    assert results[2]['status'] == 'duplicate', results


@test
def hook_follows_dpkg():
    """strace: the hook starts after the last dpkg exits, and psf's child
    calls syncfs() on the root, which returns 0."""
    if shutil.which('strace') is None:
        raise Skip('strace is not installed')
    if run_command(['strace', '-o', '/dev/null', 'true'], check=False).returncode != 0:
        raise Skip('strace cannot trace here (ptrace refused)')
    ROOT.configure()
    trace = os.path.join(ROOT.work, 'trace')
    ROOT.apt('install', '--reinstall', 'psf-tiny-b',
             prefix=('strace', '-f', '-qq', '-y', '-e', 'trace=execve,syncfs,exit_group',
                     '-e', 'signal=none', '-o', trace))
    with open(trace) as f:
        lines = f.read().splitlines()
    dpkg_pids = {line.split()[0] for line in lines
                 if re.search(r'execve\("[^"]*/dpkg", \[[^]]*"--(unpack|configure|install)', line)}
    assert dpkg_pids, 'no dpkg run in the trace'
    last_dpkg_exit = max(i for i, line in enumerate(lines)
                         if line.split()[0] in dpkg_pids and 'exit_group(' in line)
    hook = [i for i, line in enumerate(lines) if re.search(r'execve\("[^"]*psf-apt-hook', line)]
    assert hook, 'the hook never ran'
    assert hook[0] > last_dpkg_exit, 'the hook ran before dpkg was done'
    root = os.path.realpath(ROOT.root)
    synced = [i for i, line in enumerate(lines)
              if re.search(r'syncfs\(\d+<' + re.escape(root) + r'>\) += 0', line)]
    assert synced and synced[0] > hook[0], [line for line in lines if 'syncfs' in line]


@test
def failure_warns():
    ROOT.configure()
    out = ROOT.apt('install', '--reinstall', 'psf-tiny-c', **shim_env(PSF_SHIM_SYNCFS_ERRNO='EIO'))
    assert ROOT.installed('psf-tiny-c')
    lines = hook_lines(out.stderr)
    assert len(lines) == 2, out.stdout + out.stderr
    assert lines[0] == (f'W: psf-apt-hook: syncfs({ROOT.root}/): Input/output error '
                        '(and 2 more paths failed)'), lines
    assert lines[1].startswith(f'W: psf-apt-hook: what dpkg wrote to {ROOT.root}/ '), lines
    assert 'apt goes on' in lines[1], lines
    report = ROOT.read_report()
    assert [r['status'] for r in report['results']] == ['failed'] * 3, report
    assert report['results'][0]['errno'] == 5, report


@test
def failure_fails_when_asked():
    ROOT.configure(**{'Fail-On-Error': 'true'})
    out = ROOT.apt('install', '--reinstall', 'psf-tiny-c', check=False,
                   **shim_env(PSF_SHIM_SYNCFS_ERRNO='ENOSPC'))
    assert out.returncode == 100, (out.returncode, out.stdout, out.stderr)
    lines = hook_lines(out.stderr)
    assert lines[0] == (f'E: psf-apt-hook: syncfs({ROOT.root}/): No space left on device '
                        '(and 2 more paths failed)'), lines
    assert any(line.startswith('E: Problem executing scripts DPkg::Post-Invoke') for line in lines), lines
    # dpkg itself was done: the package is installed all the same.
    assert ROOT.installed('psf-tiny-c')


@test
def timeout_does_not_hang_apt():
    ROOT.configure(Timeout='1')
    start = time.monotonic()
    out = ROOT.apt('install', '--reinstall', 'psf-tiny-c',
                   **shim_env(PSF_SHIM_SYNCFS_DELAY_MS='60000'))
    elapsed = time.monotonic() - start
    # The sync would take 60 s; the hook gives up after 1 s (generous
    # bound: a loaded machine).
    assert elapsed < 30, elapsed
    lines = hook_lines(out.stderr)
    assert re.fullmatch(r'W: psf-apt-hook: Process \d+ timed out after 1000 ms', lines[0]), lines
    assert ROOT.read_report()['timed_out'] is True


@test
def stuck_psf_syncfs_is_stopped():
    """psf-syncfs itself never ends (as when its child is stuck where even
    SIGKILL waits): timeout(1) stops it 5 s after the timeout, apt goes on."""
    ROOT.configure(Timeout='1')
    start = time.monotonic()
    out = ROOT.apt('install', '--reinstall', 'psf-tiny-c',
                   **shim_env(PSF_FAULT='waitid,action=hang-ignore-term'))
    elapsed = time.monotonic() - start
    # 1 + 5 s, then SIGKILL 5 s later: about 11 s (generous bound).
    assert 10 < elapsed < 40, elapsed
    lines = hook_lines(out.stderr)
    assert lines[0] == (f'W: psf-apt-hook: psf-syncfs did not end within 6 s and was stopped: '
                        f'{ROOT.root}/ {ROOT.root}/var/lib/dpkg '
                        f'{ROOT.root}/usr/share/psf-tiny-a/data.txt not confirmed on disk'), lines
    assert ROOT.installed('psf-tiny-c')


@test
def disabled():
    ROOT.configure(Enable='false')
    out = ROOT.apt('install', '--reinstall', 'psf-tiny-a',
                   **shim_env(PSF_SHIM_SYNCFS_ERRNO='EIO'))
    assert hook_lines(out.stdout + out.stderr) == [], out.stderr
    assert not os.path.exists(ROOT.report)


@test
def removal_is_synced_too():
    ROOT.configure()
    ROOT.apt('remove', 'psf-tiny-b')
    assert not ROOT.installed('psf-tiny-b')
    assert not os.path.exists(os.path.join(ROOT.root, 'usr/share/psf-tiny-b'))
    report = ROOT.read_report()
    assert report['exit_status'] == 0 and report['results'][0]['status'] == 'synced', report


def set_up():
    """The root every case installs into (ROOT), closed after the last."""
    global ROOT
    ROOT = Root()
    return ROOT


if __name__ == '__main__':
    run('/psf/apt/', skip=why_not_here(), setup=set_up)
