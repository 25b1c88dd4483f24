#!/usr/bin/python3
# test-durability.py: what survives a simulated power cut right after psf
# reports (PyGObject 3.42, Psf-1 typelib of the build tree)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   test-durability.py ext4|xfs|btrfs|overlayfs|failing-sync
#
# Run by `meson test --suite durability` (as root) with the build tree in
# the environment: GI_TYPELIB_PATH, LD_LIBRARY_PATH, PSF_CHILD_PATH,
# PSF_PLUGIN_PATH, PSF_TEST_CLI. Prints TAP; the whole file is skipped with
# the reason where root, loop devices or the filesystem are missing.
#
# Each round makes fresh filesystems on direct-I/O loop devices (see
# crashsim.py), leaves an old file durable on them, then does what a
# package manager's merge does (new files of 0 B, 1 B, 4 KiB, 100 kB and
# 16 MiB, new directories, a file renamed over the old one, a symbolic
# link, a hard link, a file on a second filesystem), runs psf on the merged
# paths and copies every image the moment psf reports: the power cut.
# Mounting the copies replays the journals (the reboot); every path psf
# reported SYNCED or DUPLICATE must be there with exactly the merged
# content, the renamed path must hold the new content, and SKIPPED paths
# must be the ones that are gone.
#
# The control round does the same merge, does not sync, and cuts at the
# same point: it must lose data, or the rounds above prove nothing. The
# filesystems are mounted so that their own timers do not write the data
# out within a round (ext4 commit=600, btrfs commit=300; the kernel's dirty
# page expiry is 30 s by default). A sync() from elsewhere on the machine
# can still rescue a control: it is tried up to three times, and a control
# that keeps everything every time is a failure, not a pass.
#
# failing-sync puts ext4, XFS and btrfs images on tmpfs mounts that are
# then filled up, so the writes of the sync fail underneath: psf must say
# FAILED with that filesystem's errno for each, and SYNCED for a healthy
# filesystem in the same path list (whose data must survive the cut). Two
# limits are shown the same way, as what the docs say psf cannot promise:
# an overlay mounted with `volatile` loses what psf reported SYNCED, and an
# error another program's syncfs() was told first is not told to psf.

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crashsim  # noqa: E402
from crashsim import MiB  # noqa: E402

SCENARIOS = ('ext4', 'xfs', 'btrfs', 'overlayfs', 'failing-sync')

# The errnos syncfs(2) gives when the loop device's writes fail with ENOSPC
# underneath (seen on Linux 6.18): the filesystem keeps the last error it
# recorded, the block layer's ENOSPC from a data page or the EIO of what
# failed after it (ext4: either, from one run to the next; XFS: ENOSPC;
# btrfs: EIO, its transaction aborts).
FAILED_ERRNO = {'ext4': {errno.EIO, errno.ENOSPC}, 'xfs': {errno.ENOSPC, errno.EIO},
                'btrfs': {errno.EIO, errno.ENOSPC}}


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def plan(self, count):
        print('1..%d' % count, flush=True)

    def result(self, ok, name, details=()):
        self.n += 1
        print('%s %d - %s' % ('ok' if ok else 'not ok', self.n, name), flush=True)
        for line in details:
            self.diag(line)
        if not ok:
            self.failed += 1

    def skip(self, name, reason):
        self.n += 1
        print('ok %d - %s # SKIP %s' % (self.n, name, reason), flush=True)

    def diag(self, text):
        for line in str(text).splitlines():
            print('# ' + line, flush=True)


TAP = Tap()


# --- psf, four ways -------------------------------------------------------------

class Outcome:
    def __init__(self, returncode, results, error=None):
        self.returncode = returncode
        # [(path, status, errno, (major, minor) or None)]
        self.results = results
        self.error = error


def _gi():
    import gi
    gi.require_version('GLib', '2.0')
    gi.require_version('Psf', '1')
    from gi.repository import GLib, Psf
    return GLib, Psf


def _lib_results(Psf, results):
    names = {Psf.SyncfsStatus.SYNCED: 'synced', Psf.SyncfsStatus.DUPLICATE: 'duplicate',
             Psf.SyncfsStatus.SKIPPED: 'skipped', Psf.SyncfsStatus.FAILED: 'failed'}
    out = []
    for r in results:
        dev = r.get_device()
        out.append((r.get_path(), names[r.get_status()], r.get_errno(),
                    (os.major(dev), os.minor(dev)) if dev else None))
    return out


def run_library(method_name):
    """Psf.SyncfsProcess with one start method, waited for with
    wait_check_async in a main loop (the error names what failed)."""
    def runner(paths):
        GLib, Psf = _gi()
        p = Psf.SyncfsProcess(paths=paths,
                              start_method=getattr(Psf.StartMethod, method_name))
        p.start()
        loop = GLib.MainLoop()
        box = {}

        def done(task, result):
            try:
                task.wait_check_finish(result)
            except GLib.Error as e:
                box['error'] = e.message
            loop.quit()

        p.wait_check_async(None, done)
        loop.run()
        return Outcome(p.props.returncode, _lib_results(Psf, p.get_results()),
                       box.get('error'))
    runner.label = 'library ' + method_name
    runner.needs = None
    return runner


def run_cli(paths):
    proc = subprocess.run([os.environ['PSF_TEST_CLI'], '--json', '--'] + paths,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    report = json.loads(proc.stdout)
    results = []
    for r in report['results']:
        dev = tuple(int(x) for x in r['device'].split(':')) if r['device'] else None
        results.append((r['path'], r['status'], r['errno'], dev))
    return Outcome(proc.returncode, results, report['error'])


run_cli.label = 'psf-syncfs --json'
run_cli.needs = ('PSF_TEST_CLI', 'psf-syncfs is not built (-Dcli=false)')


def run_hook(paths):
    """The psf-syncfs plugin through libpeas, the way a GLib host runs it."""
    import gi
    gi.require_version('Peas', '1.0')
    from gi.repository import Peas
    GLib, Psf = _gi()
    engine = Peas.Engine.new()
    engine.add_search_path(os.environ['PSF_PLUGIN_PATH'], None)
    engine.rescan_plugins()
    info = engine.get_plugin_info('psf-syncfs')
    if info is None or not engine.load_plugin(info):
        raise AssertionError('the psf-syncfs plugin does not load from '
                             + os.environ['PSF_PLUGIN_PATH'])
    hook = engine.create_extension(info, Psf.Hook, [], [])
    loop = GLib.MainLoop()
    box = {}

    def done(source, result, _data):
        try:
            box['results'] = source.run_finish(result)
        except GLib.Error as e:
            box['error'] = e.message
            box['results'] = source.get_results(result)
        loop.quit()

    hook.run_async(paths, None, done, None)
    loop.run()
    results = _lib_results(Psf, box['results'])
    engine.unload_plugin(info)
    return Outcome(1 if 'error' in box else 0, results, box.get('error'))


run_hook.label = 'plugin hook'
run_hook.needs = ('PSF_PLUGIN_PATH', 'the psf-syncfs plugin is not built (-Dplugin=disabled)')

RUNNERS = [run_library('FORK'), run_library('SPAWN'), run_library('FORKSERVER'),
           run_cli, run_hook]


# --- the merge ------------------------------------------------------------------

class Entry:
    def __init__(self, path, rel, kind, sha=None, target=None, twin=None):
        self.path = path      # as given to psf (on the live filesystem)
        self.rel = rel        # (which root, relative path) for the copy
        self.kind = kind      # dir, file, symlink, hardlink, gone
        self.sha = sha
        self.target = target  # symlink text
        self.twin = twin      # hard link: the other name's rel
        self.children = set()


class Merge:
    """A package manager's merge into root (the target filesystem) and
    second (another filesystem in the same path list)."""

    OLD = 'usr/share/pkg/config'

    def __init__(self, root, second):
        self.roots = {'root': root, 'second': second}
        self.entries = []
        self.old_sha = None

    def prepare(self, lower=None):
        """The installed version: an old file, made durable. lower: where the
        old tree goes when it is an overlay's lower layer."""
        base = lower or self.roots['root']
        os.makedirs(os.path.join(base, 'usr/share/pkg'))
        self.old_sha = crashsim.write_file(os.path.join(base, self.OLD), os.urandom(8192))

    def _add(self, where, rel, kind, **kw):
        path = os.path.join(self.roots[where], rel)
        entry = Entry(path, (where, rel), kind, **kw)
        self.entries.append(entry)
        return entry

    def write(self):
        r = self.roots['root']
        s = self.roots['second']
        j = os.path.join
        for d in ('usr/bin', 'usr/lib/pkg', 'usr/share/doc/pkg'):
            os.makedirs(j(r, d))
        os.makedirs(j(s, 'etc/pkg'))
        files = {
            'usr/bin/tool': os.urandom(4096),
            'usr/lib/pkg/data': os.urandom(100 * 1000),
            'usr/lib/pkg/blob': os.urandom(16 * MiB),
            'usr/share/doc/pkg/empty': b'',
            'usr/share/doc/pkg/one': os.urandom(1),
        }
        shas = {rel: crashsim.write_file(j(r, rel), data) for rel, data in files.items()}
        os.symlink('tool', j(r, 'usr/bin/tool-link'))
        os.link(j(r, 'usr/lib/pkg/data'), j(r, 'usr/lib/pkg/data.link'))
        # The new config goes in under a temporary name and is renamed over
        # the old one, as package managers replace files.
        new_config = os.urandom(8192)
        tmp = 'usr/share/pkg/.config.new'
        config_sha = crashsim.write_file(j(r, tmp), new_config)
        os.rename(j(r, tmp), j(r, self.OLD))
        conf_sha = crashsim.write_file(j(s, 'etc/pkg/pkg.conf'), os.urandom(1024))
        assert config_sha != self.old_sha

        # The path list, in the order a package manager would give it.
        add = self._add
        usr = add('root', 'usr', 'dir')
        usr.children = {'bin', 'lib', 'share'}
        add('root', 'usr/bin', 'dir').children = {'tool', 'tool-link'}
        add('root', 'usr/bin/tool', 'file', sha=shas['usr/bin/tool'])
        add('root', 'usr/bin/tool-link', 'symlink', target='tool', sha=shas['usr/bin/tool'])
        add('root', 'usr/lib/pkg', 'dir').children = {'data', 'data.link', 'blob'}
        add('root', 'usr/lib/pkg/data', 'file', sha=shas['usr/lib/pkg/data'])
        add('root', 'usr/lib/pkg/data.link', 'hardlink', sha=shas['usr/lib/pkg/data'],
            twin='usr/lib/pkg/data')
        add('root', 'usr/lib/pkg/blob', 'file', sha=shas['usr/lib/pkg/blob'])
        add('root', 'usr/share/doc/pkg', 'dir').children = {'empty', 'one'}
        add('root', 'usr/share/doc/pkg/empty', 'file', sha=shas['usr/share/doc/pkg/empty'])
        add('root', 'usr/share/doc/pkg/one', 'file', sha=shas['usr/share/doc/pkg/one'])
        add('root', tmp, 'gone')
        add('root', self.OLD, 'file', sha=config_sha)
        add('second', 'etc/pkg', 'dir').children = {'pkg.conf'}
        add('second', 'etc/pkg/pkg.conf', 'file', sha=conf_sha)

    @property
    def paths(self):
        return [e.path for e in self.entries]

    def expected(self):
        """[(status, errno, device)] psf must report, from stat() of the live
        paths (stat does not write anything)."""
        seen = set()
        out = []
        for e in self.entries:
            if e.kind == 'gone':
                out.append(('skipped', errno.ENOENT, None))
                continue
            st = os.stat(e.path)
            dev = (os.major(st.st_dev), os.minor(st.st_dev))
            out.append(('duplicate' if dev in seen else 'synced', 0, dev))
            seen.add(dev)
        return out

    def check_copy(self, entry, roots):
        """None when entry survived in the mounted copies, else what is wrong."""
        where, rel = entry.rel
        path = os.path.join(roots[where], rel)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return 'missing' if entry.kind != 'gone' else None
        if entry.kind == 'gone':
            return 'exists, but it was renamed away'
        if entry.kind == 'dir':
            if not stat.S_ISDIR(st.st_mode):
                return 'not a directory'
            missing = entry.children - set(os.listdir(path))
            return 'lacks %s' % ', '.join(sorted(missing)) if missing else None
        if entry.kind == 'symlink':
            if not stat.S_ISLNK(st.st_mode):
                return 'not a symbolic link'
            if os.readlink(path) != entry.target:
                return 'points to %r' % os.readlink(path)
        elif not stat.S_ISREG(st.st_mode):
            return 'not a regular file'
        if entry.kind == 'hardlink':
            twin = os.path.join(roots[where], entry.twin)
            if not os.path.exists(twin) or os.stat(twin).st_ino != st.st_ino:
                return 'not the same inode as ' + entry.twin
            if st.st_nlink != 2:
                return 'link count %d, not 2' % st.st_nlink
        sha = crashsim.sha256_file(path)
        if sha != entry.sha:
            if entry.rel[1] == self.OLD and sha == self.old_sha:
                return 'still the old content (the rename did not land)'
            size = os.stat(path).st_size
            return 'wrong content (%d bytes)' % size
        return None


# --- rounds ---------------------------------------------------------------------

class Round:
    """Fresh filesystems for one run: the target (or an overlay whose layers
    are on an ext4 one) and a second ext4 one."""

    counter = 0

    def __init__(self, lab, target, overlay_options=''):
        Round.counter += 1
        self.overlay_options = overlay_options
        self.n = Round.counter
        self.lab = lab
        self.target = target
        self.fstype = 'ext4' if target == 'overlayfs' else target
        self.filesystems = []
        self.mounts = []      # (point, device or None), unmounted in reverse
        self.files = []

    def setup(self):
        lab = self.lab
        self.base = lab.filesystem('%s-%d' % (self.fstype, self.n), self.fstype)
        self.second = lab.filesystem('second-%d' % self.n, 'ext4')
        self.filesystems = [self.base, self.second]
        if self.target == 'overlayfs':
            layers = self.base.mountpoint
            for d in ('lower', 'upper', 'work'):
                os.mkdir(os.path.join(layers, d))
            self.merge = Merge(None, self.second.mountpoint)
            self.merge.prepare(lower=os.path.join(layers, 'lower'))
            self.overlay = os.path.join(lab.dir, 'mnt', 'overlay-%d' % self.n)
            self._mount_overlay(layers, self.overlay, self.overlay_options)
            self.merge.roots['root'] = self.overlay
        else:
            self.merge = Merge(self.base.mountpoint, self.second.mountpoint)
            self.merge.prepare()
        for fs in self.filesystems:
            crashsim.syncfs(fs.mountpoint)   # the installed state is durable

    def _mount_overlay(self, layers, point, extra=''):
        os.makedirs(point)
        options = 'lowerdir={0}/lower,upperdir={0}/upper,workdir={0}/work'.format(layers)
        crashsim.run(['mount', '-t', 'overlay', 'psf-durability', '-o',
                      options + (',' + extra if extra else ''), point])
        self.mounts.append((point, None))

    def cut(self):
        """The power cut: every image as the disks hold it now. Then the live
        filesystems go away (the machine is off)."""
        copies = [(fs, fs.snapshot('cut')) for fs in self.filesystems]
        self.files += [c for _fs, c in copies]
        self._unmount_all()
        for fs in self.filesystems:
            fs.release()
        return copies

    def reboot(self, copies):
        """Mounts the copies (journal replay); returns the roots to check."""
        roots = {}
        for fs, copy in copies:
            point, dev = self.lab.mount_copy(copy, fs.fstype, fs.name + '-rebooted')
            self.mounts.append((point, dev))
            roots['second' if fs is self.second else 'root'] = point
        if self.target == 'overlayfs':
            layers = roots['root']
            # A volatile overlay leaves a mark that refuses the next mount
            # until its work directory is cleared (the kernel's advice).
            shutil.rmtree(os.path.join(layers, 'work', 'work', 'incompat'), ignore_errors=True)
            point = os.path.join(self.lab.dir, 'mnt', 'overlay-%d-rebooted' % self.n)
            self._mount_overlay(layers, point)
            roots['root'] = point
        return roots

    def _unmount_all(self):
        while self.mounts:
            point, dev = self.mounts.pop()
            crashsim.run(['umount', point])
            if dev:
                crashsim.run(['losetup', '-d', dev])

    def teardown(self):
        try:
            self._unmount_all()
            for fs in self.filesystems:
                fs.release()
        finally:
            for f in self.files + [fs.image for fs in self.filesystems]:
                if os.path.exists(f):
                    os.unlink(f)


def check_synced_round(lab, target, runner):
    rnd = Round(lab, target)
    try:
        rnd.setup()
        merge = rnd.merge
        merge.write()
        expected = merge.expected()
        before = [crashsim.flush_count(fs.device) for fs in rnd.filesystems]
        outcome = runner(merge.paths)
        flushes = [crashsim.flush_count(fs.device) - b
                   for fs, b in zip(rnd.filesystems, before)]
        copies = rnd.cut()
        problems = []
        # The image counts every completed write as on the disk, as a disk
        # without a volatile cache would; a disk with one also needs the
        # flush that makes it persistent, so each device must have got one.
        for fs, n in zip(rnd.filesystems, flushes):
            if n < 1:
                problems.append('%s: no cache flush reached %s during the sync'
                                % (fs.name, fs.device))
        if outcome.returncode != 0:
            problems.append('returncode %r, error %r' % (outcome.returncode, outcome.error))
        if [r[0] for r in outcome.results] != merge.paths:
            problems.append('results are not one per path in order: %r'
                            % [r[0] for r in outcome.results])
        roots = rnd.reboot(copies)
        durable = skipped = 0
        for entry, want, got in zip(merge.entries, expected, outcome.results):
            _path, status, err, dev = got
            if (status, err) != want[:2] or (want[2] is not None and dev != want[2]):
                problems.append('%s: reported %s errno %d device %s, expected %s errno %d device %s'
                                % (entry.path, status, err, dev, want[0], want[1], want[2]))
            if status in ('synced', 'duplicate'):
                wrong = merge.check_copy(entry, roots)
                if wrong:
                    problems.append('%s reported %s, after the cut: %s'
                                    % (entry.path, status, wrong))
                else:
                    durable += 1
            elif status == 'skipped':
                skipped += 1
                if merge.check_copy(entry, roots) is not None:
                    problems.append('%s skipped, but it exists after the cut' % entry.path)
        return problems, '%d paths reported synced or duplicate all intact after the cut, ' \
            '%d skipped (ENOENT: renamed away), cache flushes %s' % (
                durable, skipped, '+'.join(str(n) for n in flushes))
    finally:
        rnd.teardown()


def control_round(lab, target):
    """The same merge, no sync, cut at the same point: returns the paths lost."""
    rnd = Round(lab, target)
    try:
        rnd.setup()
        merge = rnd.merge
        merge.write()
        merge.expected()
        copies = rnd.cut()
        roots = rnd.reboot(copies)
        lost = []
        for entry in merge.entries:
            if entry.kind == 'gone':
                continue
            wrong = merge.check_copy(entry, roots)
            if wrong:
                lost.append('%s: %s' % (entry.rel[1], wrong))
        return lost, len([e for e in merge.entries if e.kind != 'gone'])
    finally:
        rnd.teardown()


def volatile_round(lab):
    """An overlay mounted with `volatile`: the kernel skips syncing its upper
    layer, syncfs() still returns 0, psf reports SYNCED, and the cut loses
    the overlay's data. What psf cannot promise there, shown."""
    rnd = Round(lab, 'overlayfs', 'volatile')
    try:
        rnd.setup()
        merge = rnd.merge
        merge.write()
        expected = merge.expected()
        before = crashsim.flush_count(rnd.base.device)
        outcome = run_library('FORKSERVER')(merge.paths)
        flushes = crashsim.flush_count(rnd.base.device) - before
        copies = rnd.cut()
        problems = []
        if flushes:
            problems.append('%d cache flushes reached the upper layer\'s device' % flushes)
        got = [(r[1], r[2]) for r in outcome.results]
        if outcome.returncode != 0 or got != [w[:2] for w in expected]:
            problems.append('reported %r (returncode %r), expected %r'
                            % (got, outcome.returncode, [w[:2] for w in expected]))
        roots = rnd.reboot(copies)
        lost_overlay = [e.rel[1] for e in merge.entries
                        if e.kind != 'gone' and e.rel[0] == 'root' and merge.check_copy(e, roots)]
        lost_second = [e.rel[1] for e in merge.entries
                       if e.kind != 'gone' and e.rel[0] == 'second' and merge.check_copy(e, roots)]
        if not lost_overlay:
            problems.append('every path of the volatile overlay survived the cut: '
                            'syncfs() did sync it (or something else did)')
        if lost_second:
            problems.append('the second filesystem lost %s' % lost_second)
        total = len([e for e in merge.entries if e.kind != 'gone' and e.rel[0] == 'root'])
        return problems, '%d of %d overlay paths reported synced were lost at the cut, ' \
            'no cache flush reached the upper layer\'s device, the second filesystem kept ' \
            'everything' % (len(lost_overlay), total)
    finally:
        rnd.teardown()


def durability_scenario(lab, target):
    TAP.plan(1 + len(RUNNERS) + (target == 'overlayfs'))
    TAP.diag('vm.dirty_expire_centisecs=%s vm.dirty_writeback_centisecs=%s' % (
        read_sysctl('vm/dirty_expire_centisecs'), read_sysctl('vm/dirty_writeback_centisecs')))

    # The control: up to three tries, each on fresh filesystems.
    attempts = 0
    try:
        while attempts < 3:
            attempts += 1
            lost, total = control_round(lab, target)
            if lost:
                break
    except Exception:
        TAP.result(False, '%s: control (no sync) could not run' % target,
                   [traceback.format_exc()])
    else:
        if lost:
            TAP.result(True, '%s: control (no sync): %d of %d merged paths lost at the cut%s'
                       % (target, len(lost), total,
                          '' if attempts == 1 else ' (attempt %d)' % attempts), lost)
        else:
            TAP.result(False, '%s: control (no sync) kept all %d merged paths in %d attempts: '
                       'something else synced or wrote them back, so the rounds below prove '
                       'nothing here' % (target, total, attempts))

    for runner in RUNNERS:
        if runner.needs and not os.environ.get(runner.needs[0]):
            TAP.skip('%s: %s' % (target, runner.label), runner.needs[1])
            continue
        t0 = time.monotonic()
        try:
            problems, summary = check_synced_round(lab, target, runner)
        except Exception:
            problems, summary = [traceback.format_exc()], 'raised'
        TAP.result(not problems, '%s: %s: %s (%.1f s)' % (target, runner.label, summary,
                                                          time.monotonic() - t0), problems)

    if target == 'overlayfs':
        try:
            problems, summary = volatile_round(lab)
        except Exception:
            problems, summary = [traceback.format_exc()], 'raised'
        TAP.result(not problems, 'overlayfs -o volatile (a limit, not a guarantee): psf '
                   'reports SYNCED, the kernel syncs nothing: ' + summary, problems)


def read_sysctl(name):
    with open('/proc/sys/' + name, encoding='ascii') as f:
        return f.read().strip()


# --- a sync that fails ----------------------------------------------------------

TMPFS_SIZE = {'ext4': 64 * MiB, 'xfs': 160 * MiB, 'btrfs': 64 * MiB}


def failing_round(lab, runner, n, seen_first=False):
    """seen_first: another program (this one) calls syncfs() on each broken
    filesystem first and is told the error; psf, after it, is not."""
    made = []
    files = []
    try:
        broken = {}
        for fstype in ('ext4', 'xfs', 'btrfs'):
            tmp = lab.tmpfs('tmpfs-%s-%d' % (fstype, n), TMPFS_SIZE[fstype])
            made.append(('tmpfs', tmp))
            fs = crashsim.Filesystem(lab, 'broken-%s-%d' % (fstype, n), fstype, image_dir=tmp)
            made.append(('fs', fs))
            fs.create()
            broken[fstype] = fs
        healthy = lab.filesystem('healthy-%d' % n, 'ext4')
        made.append(('fs', healthy))

        paths = []
        for fstype, fs in broken.items():
            path = os.path.join(fs.mountpoint, 'blob')
            crashsim.write_file(path, os.urandom(16 * MiB))
            paths.append(path)
        os.mkdir(os.path.join(healthy.mountpoint, 'etc'))
        good = os.path.join(healthy.mountpoint, 'etc', 'data')
        good_sha = crashsim.write_file(good, os.urandom(100 * 1000))
        paths += [os.path.join(healthy.mountpoint, 'etc'), good]
        # Fill each tmpfs: the images' new blocks have nowhere to go.
        for kind, tmp in made:
            if kind == 'tmpfs':
                with open(os.path.join(tmp, 'filler'), 'wb') as f:
                    try:
                        while True:
                            f.write(b'\0' * MiB)
                            f.flush()
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
        problems = []
        if seen_first:
            for fstype, fs in broken.items():
                try:
                    crashsim.syncfs(fs.mountpoint)
                    problems.append('the first syncfs() of %s did not fail' % fstype)
                except OSError as e:
                    if e.errno not in FAILED_ERRNO[fstype]:
                        problems.append('the first syncfs() of %s: %s' % (fstype, e))
        outcome = runner(paths)
        cut = healthy.snapshot('cut')
        files.append(cut)

        if seen_first:
            want = [('synced', {0})] * len(broken) + [('synced', {0}), ('duplicate', {0})]
        else:
            want = [('failed', FAILED_ERRNO[t]) for t in broken] + [('synced', {0}),
                                                                   ('duplicate', {0})]
        got = [(r[1], r[2]) for r in outcome.results]
        if len(got) != len(want) or any(
                g[0] != w[0] or g[1] not in w[1] for g, w in zip(got, want)):
            problems.append('reported %s, expected %s' % (
                [(s, errno.errorcode.get(e, e)) for s, e in got],
                [(s, '|'.join(errno.errorcode.get(e, str(e)) for e in sorted(es)))
                 for s, es in want]))
        if outcome.returncode != (0 if seen_first else 1):
            problems.append('returncode %r, expected %d' % (outcome.returncode, 0 if seen_first else 1))
        if got and not seen_first:
            message = 'syncfs(%s): %s (and 2 more paths failed)' % (
                paths[0], os.strerror(got[0][1]))
            if outcome.error is None or message not in outcome.error:
                problems.append('error %r does not say %r' % (outcome.error, message))
        observed = ', '.join('%s %s %s' % (t, s, errno.errorcode.get(e, e))
                             for t, (s, e) in zip(broken, got))

        for kind, thing in reversed(made):
            if kind == 'fs':
                thing.release()
        point, dev = lab.mount_copy(cut, 'ext4', 'healthy-%d-rebooted' % n)
        try:
            try:
                if crashsim.sha256_file(os.path.join(point, 'etc', 'data')) != good_sha:
                    problems.append('the healthy file has the wrong content after the cut')
            except FileNotFoundError:
                problems.append('the healthy file is missing after the cut')
        finally:
            lab.unmount_copy(point, dev)
        return problems, observed
    finally:
        for kind, thing in reversed(made):
            if kind == 'fs':
                try:
                    thing.release()
                finally:
                    if os.path.exists(thing.image):
                        os.unlink(thing.image)
            else:
                crashsim.run(['umount', thing], check=False)
        for f in files:
            if os.path.exists(f):
                os.unlink(f)


def failing_scenario(lab):
    runners = [run_library('FORK'), run_library('SPAWN'), run_library('FORKSERVER'), run_cli]
    TAP.plan(len(runners) + 1)
    for n, runner in enumerate(runners):
        if runner.needs and not os.environ.get(runner.needs[0]):
            TAP.skip('failing-sync: ' + runner.label, runner.needs[1])
            continue
        t0 = time.monotonic()
        try:
            problems, observed = failing_round(lab, runner, n)
        except Exception:
            problems, observed = [traceback.format_exc()], 'raised'
        TAP.result(not problems,
                   'failing-sync: %s: %s, the healthy ext4 synced and intact '
                   'after the cut (%.1f s)' % (runner.label, observed, time.monotonic() - t0),
                   problems)

    try:
        problems, observed = failing_round(lab, run_library('FORKSERVER'), len(runners),
                                           seen_first=True)
    except Exception:
        problems, observed = [traceback.format_exc()], 'raised'
    TAP.result(not problems, 'failing-sync, the error already told to another program (a '
               'limit, not a guarantee): syncfs() of each broken filesystem failed first, '
               'then psf: ' + observed, problems)


def main(argv):
    if len(argv) != 2 or argv[1] not in SCENARIOS:
        print('usage: %s %s' % (argv[0], '|'.join(SCENARIOS)), file=sys.stderr)
        return 2
    target = argv[1]
    crashsim.raise_on_sigterm()
    try:
        crashsim.require_root_and_loop()
        crashsim.private_mount_namespace()
        if target == 'failing-sync':
            for fstype in ('ext4', 'xfs', 'btrfs', 'tmpfs'):
                crashsim.require_filesystem(fstype)
        else:
            crashsim.require_filesystem(target)
            crashsim.require_filesystem('ext4')
        lab = crashsim.Lab()
    except crashsim.Skip as skip:
        print('1..0 # SKIP %s' % skip, flush=True)
        return 0
    try:
        TAP.diag('work directory %s' % lab.dir)
        if target == 'failing-sync':
            failing_scenario(lab)
        else:
            durability_scenario(lab, target)
    finally:
        problems = lab.cleanup()
        for p in problems:
            TAP.diag('cleanup: ' + p)
    return 1 if TAP.failed or problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
