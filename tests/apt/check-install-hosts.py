#!/usr/bin/python3
# check-install-hosts.py SRCDIR: the apt snippet and the Flatpak trigger as
# `meson install` puts them, and as `ninja uninstall` takes them away
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Sets up a small build of SRCDIR (no introspection, plugin, tests or docs)
# with -Dapt_hook=true -Dflatpak_trigger=true and a scratch prefix (and
# sysconfdir inside it), installs it for real there, then checks that:
#   - the snippet is in ${sysconfdir}/apt/apt.conf.d and runs the installed
#     hook, which runs the installed psf-syncfs; the trigger is executable in
#     ${datadir}/flatpak/triggers and runs the installed psf-syncfs;
#   - the installed hook (with an APT_CONFIG whose Dir is a scratch root and
#     whose apt.conf.d holds the installed snippet) and the installed
#     trigger (given a folder, as Flatpak does) sync quietly with the
#     installed psf-syncfs and helper (LD_LIBRARY_PATH names the installed
#     library: a scratch prefix is not on the loader's path);
#   - `ninja uninstall` removes all three files.
# Prints TAP.

import os
import shutil
import subprocess
import sys
import tempfile

SRCDIR = sys.argv[1]


def run(argv, **kwargs):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=900, **kwargs)
    if out.returncode != 0:
        raise AssertionError(f'{argv} exited {out.returncode}:\n{out.stdout}\n{out.stderr}')
    return out


def main():
    meson = shutil.which('meson')
    if meson is None or shutil.which('apt-config') is None:
        print('1..0 # SKIP meson or apt-config is not installed')
        return 0
    work = tempfile.mkdtemp(prefix='psf-install-hosts-')
    results = []
    try:
        prefix = os.path.join(work, 'prefix')
        build = os.path.join(work, 'build')
        run([meson, 'setup', build, SRCDIR, f'--prefix={prefix}', f'--sysconfdir={prefix}/etc',
             '-Dapt_hook=true', '-Dflatpak_trigger=true', '-Dintrospection=disabled',
             '-Dplugin=disabled', '-Dtests=false', '-Ddocs=false'])
        run(['ninja', '-C', build])
        run([meson, 'install', '-C', build, '--no-rebuild', '--quiet'])

        snippet = os.path.join(prefix, 'etc', 'apt', 'apt.conf.d', '50psf-syncfs')
        trigger = os.path.join(prefix, 'share', 'flatpak', 'triggers', 'psf-syncfs.trigger')
        hooks = [os.path.join(dirpath, name) for dirpath, _dirs, names in os.walk(prefix)
                 for name in names if name == 'psf-apt-hook']
        libdirs = [dirpath for dirpath, _dirs, names in os.walk(prefix) if 'libpsf-1.so.0' in names]
        cli = os.path.join(prefix, 'bin', 'psf-syncfs')

        def check_layout():
            assert len(hooks) == 1, hooks
            hook = hooks[0]
            assert os.access(hook, os.X_OK) and os.access(trigger, os.X_OK), (hook, trigger)
            with open(snippet) as f:
                text = f.read()
            assert f'"if [ -x {hook} ]; then {hook}; fi"' in text, text
            for script in (hook, trigger):
                with open(script) as f:
                    assert f"PSF_SYNCFS='{cli}'" in f.read(), script
        results.append(('layout', check_layout))

        def check_hook_runs():
            root = os.path.join(work, 'root')
            os.makedirs(os.path.join(root, 'etc', 'apt', 'apt.conf.d'))
            os.makedirs(os.path.join(root, 'var', 'lib', 'dpkg'))
            shutil.copy(snippet, os.path.join(root, 'etc', 'apt', 'apt.conf.d'))
            report = os.path.join(work, 'report.json')
            with open(os.path.join(root, 'etc', 'apt', 'apt.conf'), 'w') as f:
                f.write(f'Dir "{root}/";\nPsf::Syncfs::Report "{report}";\n')
            # The installed library is not on the loader's path of a
            # scratch prefix: name it. The helper is the installed one.
            env = {k: v for k, v in os.environ.items()
                   if k not in ('PSF_CHILD_PATH', 'LD_PRELOAD', 'LD_LIBRARY_PATH')}
            env['LD_LIBRARY_PATH'] = ':'.join(libdirs)
            env['APT_CONFIG'] = os.path.join(root, 'etc', 'apt', 'apt.conf')
            out = run(['sh', '-c', f'{hooks[0]}'], env=env)
            assert out.stdout == out.stderr == '', out
            with open(report) as f:
                text = f.read()
            assert '"exit_status" : 0' in text and '"status" : "synced"' in text, text
            out = run([trigger, root], env=env)
            assert out.stdout == out.stderr == '', out
        results.append(('installed-hook-and-trigger-sync', check_hook_runs))

        def check_uninstall():
            run(['ninja', '-C', build, 'uninstall'])
            for path in (snippet, trigger, hooks[0], cli):
                assert not os.path.exists(path), f'{path} is still there after uninstall'
        results.append(('uninstall', check_uninstall))
    except AssertionError as e:
        print('1..1\nnot ok 1 /psf/install-hosts/set-up')
        for line in str(e).splitlines():
            print(f'# {line}')
        shutil.rmtree(work, ignore_errors=True)
        return 1

    failed = 0
    try:
        for number, (name, func) in enumerate(results, 1):
            try:
                func()
                print(f'ok {number} /psf/install-hosts/{name}')
            except Exception as e:  # noqa: BLE001 - reported as TAP
                failed += 1
                print(f'not ok {number} /psf/install-hosts/{name}')
                for line in repr(e).splitlines():
                    print(f'# {line}')
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f'1..{len(results)}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
