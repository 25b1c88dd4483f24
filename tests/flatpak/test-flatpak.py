#!/usr/bin/python3
# test-flatpak.py: psf-syncfs.trigger of data/flatpak, run by a real Flatpak
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds offline a tiny runtime (a folder with metadata, exported with
# `flatpak build-export --runtime`) and a tiny app on it (build-init,
# build-finish, build-export) into a local repository, then installs and
# updates the app with `flatpak --user` in a scratch FLATPAK_USER_DIR, with
# FLATPAK_TRIGGERSDIR naming a folder that holds only the trigger psf builds
# for this tree. Flatpak runs it inside bubblewrap after the install and the
# update. Nothing of the machine's own installations is touched (the
# system, config and home folders are scratch ones too).
#
# Environment (meson test): PSF_FLATPAK_TRIGGER, the trigger whose
# psf-syncfs is this tree's; PSF_CHILD_PATH; PSF_TEST_FAULT_SHIM, the fault
# shim, preloaded with a rule that fails only the syncfs() of the
# installation folder (Flatpak's own syncfs() calls are on other folders).
# Prints TAP; a case that cannot run here says why.

import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from psftap import Skip, device_text, run, run_command, test  # noqa: E402

TRIGGER = os.environ['PSF_FLATPAK_TRIGGER']
FAULT_SHIM = os.environ.get('PSF_TEST_FAULT_SHIM', '')
APP = 'org.psf.Hello'
RUNTIME = 'org.psf.Platform'

def why_not_here():
    """The reason Flatpak cannot run its triggers here, or None."""
    for program, package in (('flatpak', 'flatpak'), ('bwrap', 'bubblewrap'),
                             ('timeout', 'coreutils')):
        if shutil.which(program) is None:
            return f'{program} is not installed (Debian package {package})'
    # The sandbox Flatpak puts a trigger in (flatpak-dir.c), tried alone.
    probe = run_command(['bwrap', '--unshare-ipc', '--unshare-net', '--unshare-pid',
                         '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', 'true'],
                        check=False)
    if probe.returncode != 0:
        return f'bubblewrap cannot make its sandbox here: {probe.stderr.strip()}'
    return None


class Installation:
    def __init__(self):
        self.work = os.path.realpath(tempfile.mkdtemp(prefix='psf-flatpak-'))
        self.repo = os.path.join(self.work, 'repo')
        self.user_dir = os.path.join(self.work, 'user')
        self.triggers = os.path.join(self.work, 'triggers')
        os.makedirs(self.triggers)
        shutil.copy(TRIGGER, os.path.join(self.triggers, 'psf-syncfs.trigger'))
        os.chmod(os.path.join(self.triggers, 'psf-syncfs.trigger'), 0o755)
        home = os.path.join(self.work, 'home')
        os.makedirs(home)
        self.base_env = dict(os.environ, FLATPAK_USER_DIR=self.user_dir,
                             FLATPAK_SYSTEM_DIR=os.path.join(self.work, 'system'),
                             FLATPAK_CONFIG_DIR=os.path.join(self.work, 'config'),
                             FLATPAK_TRIGGERSDIR=self.triggers,
                             HOME=home, XDG_DATA_HOME=os.path.join(home, 'data'),
                             XDG_CACHE_HOME=os.path.join(home, 'cache'), LC_ALL='C.UTF-8')
        for name in ('LD_PRELOAD', 'PSF_FAULT', 'PSF_SYNCFS_TRIGGER_JSON'):
            self.base_env.pop(name, None)
        try:
            self.build_runtime()
            self.build_app('1')
            self.flatpak('--user', 'remote-add', '--no-gpg-verify', 'psf-test', f'file://{self.repo}')
            self.flatpak('--user', 'install', '-y', '--noninteractive', 'psf-test', RUNTIME)
        except BaseException:
            self.close()
            raise

    def flatpak(self, *args, check=True, prefix=(), **env):
        return run_command([*prefix, 'flatpak', *args], check=check,
                           env=dict(self.base_env, **env))

    def build_runtime(self):
        """A runtime needs no more than its metadata, a usr folder (what
        build-export --runtime exports) and a files folder (what tells
        build-export that the folder is a build)."""
        tree = os.path.join(self.work, 'runtime')
        os.makedirs(os.path.join(tree, 'usr'))
        os.makedirs(os.path.join(tree, 'files'))
        with open(os.path.join(tree, 'usr', 'README'), 'w') as f:
            f.write('a tiny runtime for the tests of psf\n')
        with open(os.path.join(tree, 'metadata'), 'w') as f:
            f.write(f'[Runtime]\nname={RUNTIME}\nruntime={RUNTIME}/x86_64/1\nsdk={RUNTIME}/x86_64/1\n')
        self.flatpak('build-export', '--runtime', self.repo, tree, '1')
        self.flatpak('build-update-repo', self.repo)

    def build_app(self, version):
        """build-init needs the runtime installed, so the first app is
        built with a throwaway installation of it in the build user dir."""
        tree = os.path.join(self.work, f'app-{version}')
        build_env = dict(FLATPAK_USER_DIR=os.path.join(self.work, 'build-user'))
        if version == '1':
            self.flatpak('--user', 'remote-add', '--no-gpg-verify', 'psf-build',
                         f'file://{self.repo}', **build_env)
            self.flatpak('--user', 'install', '-y', '--noninteractive', 'psf-build', RUNTIME,
                         **build_env)
        self.flatpak('build-init', tree, APP, RUNTIME, RUNTIME, '1', **build_env)
        os.makedirs(os.path.join(tree, 'files', 'bin'))
        hello = os.path.join(tree, 'files', 'bin', 'hello')
        with open(hello, 'w') as f:
            f.write(f'#!/bin/sh\necho "hello {version}"\n')
        os.chmod(hello, 0o755)
        self.flatpak('build-finish', '--command=hello', tree, **build_env)
        self.flatpak('build-export', self.repo, tree, **build_env)
        self.flatpak('build-update-repo', self.repo)

    def commit(self):
        out = self.flatpak('--user', 'info', '--show-commit', APP)
        return out.stdout.strip()

    def device(self):
        return device_text(self.user_dir)

    def close(self):
        shutil.rmtree(self.work, ignore_errors=True)


def trigger_report(stdout):
    """The JSON objects the trigger printed (PSF_SYNCFS_TRIGGER_JSON=1)
    among Flatpak's own lines: each starts with '{' and ends with '}'
    alone on a line."""
    reports, lines, inside = [], [], False
    for line in stdout.splitlines():
        if line == '{':
            inside, lines = True, []
        if inside:
            lines.append(line)
        if inside and line == '}':
            inside = False
            reports.append(json.loads('\n'.join(lines)))
    return reports


INST = None


@test
def install_runs_trigger():
    out = INST.flatpak('--user', 'install', '-y', '--noninteractive', 'psf-test', APP,
                       PSF_SYNCFS_TRIGGER_JSON='1')
    assert INST.commit(), 'the app is not installed'
    reports = trigger_report(out.stdout)
    assert len(reports) == 1, out.stdout
    report = reports[0]
    assert report['exit_status'] == 0 and report['error'] is None, report
    assert [r['path'] for r in report['results']] == [INST.user_dir], report
    assert report['results'][0]['status'] == 'synced', report
    assert report['results'][0]['device'] == INST.device(), (report, INST.device())


@test
def update_runs_trigger_after_deploy():
    """strace: after `flatpak update` has deployed the new commit, psf's
    child (inside bubblewrap) calls syncfs() on the installation folder."""
    old = INST.commit()
    INST.build_app('2')
    prefix = ()
    trace = os.path.join(INST.work, 'trace')
    traced = shutil.which('strace') is not None and \
        run_command(['strace', '-o', '/dev/null', 'true'], check=False).returncode == 0
    if traced:
        prefix = ('strace', '-f', '-qq', '-y', '-e', 'trace=execve,syncfs,renameat,renameat2,symlinkat',
                  '-e', 'signal=none', '-o', trace)
    out = INST.flatpak('--user', 'update', '-y', '--noninteractive', APP, prefix=prefix,
                       PSF_SYNCFS_TRIGGER_JSON='1')
    new = INST.commit()
    assert new and new != old, (old, new)
    reports = trigger_report(out.stdout)
    assert len(reports) == 1 and reports[0]['results'][0]['status'] == 'synced', out.stdout
    if not traced:
        raise Skip('the update ran its trigger; strace is missing or refused, order not checked')
    with open(trace) as f:
        lines = f.read().splitlines()
    trigger = [i for i, line in enumerate(lines)
               if re.search(r'execve\("[^"]*/psf-syncfs\.trigger"', line)]
    assert len(trigger) == 1, [line for line in lines if 'execve' in line]
    # The deploy of the new commit: Flatpak checks it out into the app's
    # folder and syncs that itself, before the trigger.
    deploy_sync = [i for i, line in enumerate(lines)
                   if re.search(r'syncfs\(\d+<' + re.escape(INST.user_dir) + r'/app/', line)]
    assert deploy_sync and deploy_sync[-1] < trigger[0], 'the trigger ran before the deploy'
    ours = [i for i, line in enumerate(lines)
            if re.search(r'syncfs\(\d+<' + re.escape(INST.user_dir) + r'>\) += 0', line)]
    assert len(ours) == 1 and ours[0] > trigger[0], [line for line in lines if 'syncfs' in line]


@test
def failure_does_not_fail_install():
    if not FAULT_SHIM:
        raise Skip('the fault shim was not built')
    out = INST.flatpak('--user', 'install', '-y', '--noninteractive', '--reinstall', 'psf-test', APP,
                       LD_PRELOAD=FAULT_SHIM,
                       PSF_FAULT=f'syncfs,errno=EIO,path={INST.user_dir}')
    assert INST.commit()
    lines = [line for line in out.stderr.splitlines() if line.startswith('psf-syncfs: ')]
    assert lines == [f'psf-syncfs: syncfs({INST.user_dir}): Input/output error'], out.stderr


@test
def quiet_on_success():
    out = INST.flatpak('--user', 'install', '-y', '--noninteractive', '--reinstall', 'psf-test', APP)
    assert 'psf-syncfs' not in out.stdout + out.stderr, out.stdout + out.stderr


def set_up():
    """The installation every case uses (INST), closed after the last."""
    global INST
    INST = Installation()
    return INST


if __name__ == '__main__':
    run('/psf/flatpak/', skip=why_not_here(), setup=set_up)
