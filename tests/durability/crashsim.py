# crashsim.py: simulated power cuts on filesystems that live on loop devices
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared by test-durability.py and tests/bench/durability-bench.
#
# A loop device in direct-I/O mode (losetup --direct-io=on) hands every
# write the filesystem above it submits straight to its image file, past
# the page cache. The image file therefore holds, at any moment, exactly
# what a disk would hold if the power went out then. snapshot() copies it
# with O_DIRECT reads; mounting that copy replays the journal (the reboot)
# and shows what survived.
#
# Everything a Lab creates lives under one fresh work directory: images,
# mount points, tmpfs mounts, and the loop devices backed by those images.
# Lab.cleanup() undoes all of it and nothing else: it only unmounts mount
# points under the work directory and only detaches loop devices whose
# backing file is under it. A guardian process (its own session, so a
# process-group kill does not reach it) runs the same cleanup when the
# process that made the Lab dies without doing it, even by SIGKILL.

import ctypes
import errno
import hashlib
import mmap
import os
import shutil
import signal
import subprocess
import tempfile
import time

MiB = 1 << 20


class Skip(Exception):
    """The machine cannot run this: the message says why."""


class CommandError(Exception):
    pass


def run(argv, check=True, input_bytes=None):
    proc = subprocess.run(argv, input=input_bytes, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    if check and proc.returncode != 0:
        raise CommandError('%s: exit %d: %s' % (' '.join(argv), proc.returncode,
                                                proc.stderr.decode(errors='replace').strip()))
    return proc


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syncfs.argtypes = [ctypes.c_int]
_libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong,
                                  ctypes.c_uint]
SYNC_FILE_RANGE_WAIT_BEFORE = 1
SYNC_FILE_RANGE_WRITE = 2
SYNC_FILE_RANGE_WAIT_AFTER = 4


def syncfs(path):
    """syncfs(2) on the filesystem that holds path, raising OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, 'syncfs(%s): %s' % (path, os.strerror(err)))
    finally:
        os.close(fd)


def sync_file_range(fd, flags):
    if _libc.sync_file_range(fd, 0, 0, flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, 'sync_file_range: ' + os.strerror(err))


# --- what the machine offers --------------------------------------------------

def kernel_filesystems():
    with open('/proc/filesystems', encoding='ascii') as f:
        return {line.split()[-1] for line in f if line.strip()}


MKFS = {
    'ext4': ['mkfs.ext4', '-q', '-F'],
    'xfs': ['mkfs.xfs', '-q', '-f'],
    'btrfs': ['mkfs.btrfs', '-q', '-f'],
}
PACKAGE = {'ext4': 'e2fsprogs', 'xfs': 'xfsprogs', 'btrfs': 'btrfs-progs'}

# Options that keep the filesystem's own timers from writing the control's
# data out during a round: ext4 and btrfs commit their journal/transaction
# every `commit` seconds (5 and 30 by default). XFS has no such option; its
# log worker runs every 30 s (fs.xfs.xfssyncd_centisecs), longer than a
# round.
MOUNT_OPTIONS = {
    'ext4': 'commit=600',
    'xfs': None,
    'btrfs': 'commit=300',
}

# mkfs.xfs refuses filesystems smaller than 300 MB; images are sparse.
IMAGE_SIZE = 320 * MiB


def require_root_and_loop():
    """Raises Skip with the reason when loop devices cannot be used here."""
    if os.geteuid() != 0:
        raise Skip('needs root (loop devices, mkfs, mount)')
    if shutil.which('losetup') is None or shutil.which('mount') is None:
        raise Skip('losetup or mount is not installed (util-linux, mount)')
    if not os.path.exists('/dev/loop-control'):
        raise Skip('no /dev/loop-control: this kernel or container has no loop devices')
    proc = run(['losetup', '-f'], check=False)
    if proc.returncode != 0:
        raise Skip('no free loop device: losetup -f: %s'
                   % proc.stderr.decode(errors='replace').strip())


CLONE_NEWNS = 0x00020000


def private_mount_namespace():
    """Moves this process into a mount namespace of its own whose mounts
    do not propagate: the filesystems made here are invisible outside it,
    and no other process can keep one of them alive by copying the mount
    table (unshare -m) while it is mounted. When the last process in the
    namespace exits, the kernel unmounts what is left. Call it before any
    thread exists."""
    _libc.unshare.argtypes = [ctypes.c_int]
    if _libc.unshare(CLONE_NEWNS) != 0:
        err = ctypes.get_errno()
        raise Skip('unshare(CLONE_NEWNS): %s' % os.strerror(err))
    proc = run(['mount', '--make-rprivate', '/'], check=False)
    if proc.returncode != 0:
        raise Skip('mount --make-rprivate /: %s' % proc.stderr.decode(errors='replace').strip())


def require_filesystem(fstype):
    if fstype in MKFS and shutil.which(MKFS[fstype][0]) is None:
        raise Skip('%s is not installed (%s)' % (MKFS[fstype][0], PACKAGE[fstype]))
    name = 'overlay' if fstype == 'overlayfs' else fstype
    if name not in kernel_filesystems():
        run(['modprobe', name], check=False)
        if name not in kernel_filesystems():
            raise Skip('the kernel has no %s (not in /proc/filesystems)' % name)


# --- mounts and loop devices under a directory ----------------------------------

def _unescape(field):
    out, i = [], 0
    while i < len(field):
        if field[i] == '\\' and i + 3 < len(field) and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return ''.join(out)


def mount_points():
    """Mount points in /proc/self/mountinfo order (parents before children)."""
    with open('/proc/self/mountinfo', encoding='utf-8', errors='replace') as f:
        return [_unescape(line.split()[4]) for line in f]


def mount_source(point):
    """The source device of the mount at point (the last one stacked)."""
    source = None
    with open('/proc/self/mountinfo', encoding='utf-8', errors='replace') as f:
        for line in f:
            fields = line.split()
            if _unescape(fields[4]) == point:
                source = _unescape(fields[fields.index('-') + 2])
    return source


def loop_devices():
    """(device, backing file) of every attached loop device."""
    found = []
    for name in sorted(os.listdir('/sys/block')):
        if not name.startswith('loop'):
            continue
        try:
            with open('/sys/block/%s/loop/backing_file' % name, encoding='utf-8',
                      errors='replace') as f:
                backing = f.read().rstrip('\n')
        except OSError:
            continue
        if backing.endswith(' (deleted)'):
            backing = backing[:-len(' (deleted)')]
        found.append(('/dev/' + name, backing))
    return found


def under(path, folder):
    return path == folder or path.startswith(folder.rstrip('/') + '/')


def cleanup_dir(folder, loops=()):
    """Unmounts every mount point under folder (deepest first), detaches every
    loop device whose image is under folder or that loops names (device,
    st_dev, st_ino of the image it was attached to: an image on a tmpfs
    that is already gone no longer shows its path), removes folder. Returns
    the problems met (an empty list when everything is gone)."""
    folder = os.path.realpath(folder)

    def ours():
        mounted = [m for m in mount_points() if under(m, folder)]
        attached = [dev for dev, backing in loop_devices() if under(backing, folder)]
        attached += [dev for dev, st_dev, st_ino in loops
                     if dev not in attached and loop_backing_id(dev) == (st_dev, st_ino)]
        return mounted, attached

    for attempt in range(6):
        mounted, attached = ours()
        if not mounted and not attached:
            break
        # Filesystems first, then their loop devices, then the tmpfs mounts
        # that held images (busy until those are detached); lazily only at
        # the last attempt.
        for point in reversed(mounted):
            run(['umount'] + (['-l'] if attempt == 5 else []) + [point], check=False)
        for dev in ours()[1]:
            run(['losetup', '-d', dev], check=False)
        time.sleep(0.1 * attempt)
    mounted, attached = ours()
    problems = ['still mounted: ' + m for m in mounted]
    problems += ['still attached: ' + d for d in attached]
    if not mounted:
        shutil.rmtree(folder, ignore_errors=True)
    return problems


def loop_backing_id(dev):
    """(st_dev, st_ino) of the file loop device dev is attached to, or None."""
    proc = run(['losetup', '-n', '-l', '-O', 'BACK-MAJ:MIN,BACK-INO', dev], check=False)
    fields = proc.stdout.decode().split()
    if proc.returncode != 0 or len(fields) != 2 or ':' not in fields[0]:
        return None
    major, minor = fields[0].split(':')
    return os.makedev(int(major), int(minor)), int(fields[1])


def _guardian(folder, read_end):
    """Child side: collects the loop devices the parent reports, waits for
    the parent's end of the pipe to close, then cleans folder up."""
    try:
        os.setsid()
        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_IGN)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, read_end)
        os.closerange(read_end + 1, 1 << 16)
        data = b''
        while True:
            try:
                chunk = os.read(read_end, 4096)
            except InterruptedError:
                continue
            if not chunk:
                break
            data += chunk
        loops = []
        for line in data.decode().splitlines():
            dev, st_dev, st_ino = line.split()
            loops.append((dev, int(st_dev), int(st_ino)))
        cleanup_dir(folder, loops)
    finally:
        os._exit(0)


class Filesystem:
    """One filesystem on a direct-I/O loop device over a sparse image."""

    def __init__(self, lab, name, fstype, image_dir=None, size=IMAGE_SIZE):
        self.lab = lab
        self.name = name
        self.fstype = fstype
        self.image = os.path.join(image_dir or lab.dir, name + '.img')
        self.mountpoint = os.path.join(lab.dir, 'mnt', name)
        self.size = size
        self.device = None

    def create(self):
        with open(self.image, 'wb') as f:
            f.truncate(self.size)
        self.device = self.lab.attach(self.image, direct_io=True)
        run(MKFS[self.fstype] + [self.device])
        self.mount()
        return self

    def mount(self):
        os.makedirs(self.mountpoint, exist_ok=True)
        options = MOUNT_OPTIONS[self.fstype]
        run(['mount', '-t', self.fstype] + (['-o', options] if options else [])
            + [self.device, self.mountpoint])

    def release(self):
        """Unmounts and detaches (the image stays)."""
        if os.path.ismount(self.mountpoint):
            run(['umount', self.mountpoint])
        if self.device:
            run(['losetup', '-d', self.device])
            self.device = None

    def snapshot(self, suffix='cut'):
        """What the disk holds now: a copy of the image read with O_DIRECT."""
        copy = '%s.%s' % (self.image, suffix)
        snapshot_image(self.image, copy)
        return copy


def flush_count(dev):
    """Cache-flush requests the block device has completed (the 16th field
    of its sysfs stat, Linux 5.5 and later)."""
    with open('/sys/block/%s/stat' % os.path.basename(dev), encoding='ascii') as f:
        fields = f.read().split()
    if len(fields) < 17:
        raise Skip('%s has no flush counter in /sys/block (Linux before 5.5)' % dev)
    return int(fields[15])


def snapshot_image(image, copy):
    """Copies image to copy with O_DIRECT reads of its allocated ranges
    (the image is sparse; holes stay holes)."""
    src = os.open(image, os.O_RDONLY | os.O_DIRECT | os.O_CLOEXEC)
    try:
        dst = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            size = os.fstat(src).st_size
            os.ftruncate(dst, size)
            buf = mmap.mmap(-1, 4 * MiB)   # page-aligned, as O_DIRECT needs
            view = memoryview(buf)
            offset = 0
            while offset < size:
                try:
                    offset = os.lseek(src, offset, os.SEEK_DATA)
                except OSError as e:
                    if e.errno == errno.ENXIO:
                        break
                    raise
                end = os.lseek(src, offset, os.SEEK_HOLE)
                while offset < end:
                    n = os.preadv(src, [buf], offset)
                    if n <= 0:
                        raise OSError(errno.EIO, 'short O_DIRECT read of %s at %d' % (image, offset))
                    n = min(n, end - offset)
                    os.pwrite(dst, view[:n], offset)
                    offset += n
            view.release()
            buf.close()
        finally:
            os.close(dst)
    finally:
        os.close(src)


class Lab:
    """A work directory and everything made in it (see the top of the file)."""

    def __init__(self, base=None):
        base = base or os.environ.get('PSF_DURABILITY_DIR') or '/var/tmp'
        self.dir = os.path.realpath(tempfile.mkdtemp(prefix='psf-durability-', dir=base))
        self._loops = []
        read_end, self._guard_w = os.pipe()
        self._guard_pid = os.fork()
        if self._guard_pid == 0:
            _guardian(self.dir, read_end)
        os.close(read_end)
        try:
            os.makedirs(os.path.join(self.dir, 'mnt'))
            self._check_direct_io()
        except BaseException:
            self.cleanup()
            raise

    def _check_direct_io(self):
        probe = os.path.join(self.dir, 'probe.img')
        with open(probe, 'wb') as f:
            f.truncate(MiB)
        dev = self.attach(probe, direct_io=False)
        try:
            proc = run(['losetup', '--direct-io=on', dev], check=False)
            with open('/sys/block/%s/loop/dio' % os.path.basename(dev), encoding='ascii') as f:
                dio = f.read().strip()
            if proc.returncode != 0 or dio != '1':
                raise Skip('a loop device over %s cannot use direct I/O (losetup --direct-io=on: %s)'
                           % (self.dir, proc.stderr.decode(errors='replace').strip() or 'dio=0'))
        finally:
            run(['losetup', '-d', dev], check=False)
            os.unlink(probe)

    def attach(self, image, direct_io=True):
        argv = ['losetup', '-f', '--show']
        if direct_io:
            argv.append('--direct-io=on')
        dev = run(argv + [image]).stdout.decode().strip()
        st = os.stat(image)
        self._loops.append((dev, st.st_dev, st.st_ino))
        if self._guard_w is not None:
            os.write(self._guard_w, ('%s %d %d\n' % self._loops[-1]).encode())
        if direct_io:
            with open('/sys/block/%s/loop/dio' % os.path.basename(dev), encoding='ascii') as f:
                if f.read().strip() != '1':
                    raise CommandError('%s over %s did not switch to direct I/O' % (dev, image))
        return dev

    def filesystem(self, name, fstype, image_dir=None, size=IMAGE_SIZE):
        return Filesystem(self, name, fstype, image_dir, size).create()

    def tmpfs(self, name, size):
        """A small tmpfs of our own under the work directory."""
        point = os.path.join(self.dir, 'mnt', name)
        os.makedirs(point)
        run(['mount', '-t', 'tmpfs', '-o', 'size=%d,mode=0700' % size,
             'psf-durability', point])
        return point

    def mount_copy(self, copy, fstype, name):
        """Mounts a snapshot copy (a plain loop device): the reboot. Returns
        the mount point and the device. The copy has the same filesystem
        UUID as its original: XFS is told to accept that (nouuid), and the
        mount table must show the copy's device as the source, so that the
        check can never look at the original instead."""
        dev = self.attach(copy, direct_io=False)
        point = os.path.join(self.dir, 'mnt', name)
        os.makedirs(point, exist_ok=True)
        options = ['-o', 'nouuid'] if fstype == 'xfs' else []
        try:
            run(['mount', '-t', fstype] + options + [dev, point])
            source = mount_source(point)
            if source != dev:
                run(['umount', point], check=False)
                raise CommandError('%s: the mount of %s shows %s as its source'
                                   % (point, dev, source))
        except Exception:
            run(['losetup', '-d', dev], check=False)
            raise
        return point, dev

    def unmount_copy(self, point, dev):
        run(['umount', point])
        run(['losetup', '-d', dev])

    def cleanup(self):
        """Undoes everything; idempotent. Returns the problems met."""
        problems = cleanup_dir(self.dir, self._loops)
        if self._guard_w is not None:
            os.close(self._guard_w)
            self._guard_w = None
            os.waitpid(self._guard_pid, 0)
        return problems

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            chunk = f.read(MiB)
            if not chunk:
                break
            h.update(chunk)
    return h.hexdigest()


def write_file(path, data):
    with open(path, 'wb') as f:
        f.write(data)
    return hashlib.sha256(data).hexdigest()


def raise_on_sigterm():
    """SIGTERM (meson's timeout) unwinds like an exception, so that the
    finally blocks clean up (the guardian covers what is left)."""
    def handler(signum, _frame):
        raise SystemExit('killed by signal %d' % signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)
