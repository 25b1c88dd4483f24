#!/usr/bin/python3
# make-corpus.py: writes the seed corpus of the fuzz targets (committed)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   tests/fuzz/make-corpus.py   (from anywhere; rewrites tests/fuzz/corpus/)
#
# Seeds are small, named after what they hold, and cover the hostile cases
# named in tests/fuzz/meson.build: for the report decoder truncated, oversized, garbage and
# duplicated records; for the set-up decoders cut, overlong, wrapping and
# unterminated records; for the child routine FIFOs, sockets, device nodes,
# /proc and /sys, symlink loops, `..` chains, 4096-byte components and
# 100 000 entries (see fuzz-syncfs-paths.c for the input format). Inputs
# the fuzzer later finds useful, or that once failed, are added beside them.

import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
RECORD = struct.Struct('=IiiIQ')  # PsfSyncfsRecord: index status error flags device

SYNCED, DUPLICATE, SKIPPED, FAILED = range(4)


def write(target, name, data):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def report(n_paths, records, tail=b''):
    return struct.pack('<H', n_paths) + b''.join(RECORD.pack(*r) for r in records) + tail


def report_seeds():
    dev = 0xfe00
    write('report-decode', 'empty-report', report(3, []))
    write('report-decode', 'no-paths', report(0, [(0, SYNCED, 0, 0, dev)]))
    write('report-decode', 'valid', report(3, [(0, SYNCED, 0, 0, dev), (1, DUPLICATE, 0, 0, dev),
                                               (2, SKIPPED, 2, 0, 0)]))
    write('report-decode', 'failed-and-fallback', report(2, [(0, FAILED, 5, 0, dev),
                                                             (1, SYNCED, 38, 1, dev + 1)]))
    write('report-decode', 'truncated', report(2, [(0, SYNCED, 0, 0, dev)], b'\x01\x00\x00\x00\x00\x00'))
    write('report-decode', 'duplicated-indices', report(2, [(1, SYNCED, 0, 0, dev), (1, FAILED, 5, 0, dev),
                                                            (0, SKIPPED, 13, 0, 0), (0, SYNCED, 0, 0, dev)]))
    write('report-decode', 'index-out-of-range', report(2, [(2, SYNCED, 0, 0, dev), (0xffffffff, FAILED, 5, 0, 0),
                                                            (1, SYNCED, 0, 0, dev)]))
    write('report-decode', 'bad-status', report(3, [(0, 4, 0, 0, dev), (1, -1, 0, 0, dev), (2, 0x7fffffff, 0, 0, 0)]))
    write('report-decode', 'negative-errno', report(2, [(0, FAILED, -5, 0, dev), (1, FAILED, -2147483648, 0, dev)]))
    write('report-decode', 'huge-errno', report(1, [(0, FAILED, 2147483647, 0, dev)]))
    # 4095 is the largest errno the decoder takes (the kernel's MAX_ERRNO).
    write('report-decode', 'errno-limit', report(2, [(0, FAILED, 4096, 0, dev), (0, FAILED, 4095, 0, dev),
                                                     (1, SKIPPED, 4096, 0, 0)]))
    # The helper's failure record (index 0xffffffff, call 1 = mmap of the input).
    write('report-decode', 'failure-record', report(1, [(0xffffffff, 1, 12, 0, 0), (0, SYNCED, 0, 0, dev)]))
    write('report-decode', 'oversized', report(2, [(i % 7, i % 4, i, 0, i) for i in range(1000)]))
    write('report-decode', 'max-paths-reversed', report(1024, [(1023 - i, i % 4, 0, 0, dev) for i in range(1024)]))
    rng = random.Random(7)
    write('report-decode', 'garbage', bytes(rng.getrandbits(8) for _ in range(4096)))


def paths(mode, *items):
    return bytes([mode]) + b'\n'.join(i if isinstance(i, bytes) else i.encode() for i in items)


def paths_seeds():
    write('syncfs-paths', 'basic', paths(0, 'file', 'dir', '/', '/tmp', 'dir/sub/file'))
    write('syncfs-paths', 'special-files', paths(0, 'fifo', 'socket', 'to-fifo', 'to-null', '/dev/null',
                                                 '/dev/zero', '/dev/tty', '/dev/random', '/dev/shm'))
    write('syncfs-paths', 'proc-sys', paths(0, '/proc', '/proc/self/fd/0', '/proc/self/mem', '/proc/self/fd',
                                            '/proc/sys/kernel/hostname', '/sys', '/sys/kernel', '/sys/fs/cgroup'))
    write('syncfs-paths', 'links', paths(0, 'loop', 'dangling', 'to-dir', 'to-dir/sub/file', 'locked/file'))
    write('syncfs-paths', 'dot-chains', paths(0, '../../../../../../../../../../tmp', '@DOTS', './././file',
                                              'dir/../dir/./sub/../sub/file', '..', '.', '//', '/./'))
    write('syncfs-paths', 'long', paths(0, '@LONG', '0' * 255, 'a' * 256, '/' + 'a/' * 2047, 'x' * 5000))
    write('syncfs-paths', 'empty-and-odd', paths(0, '', '', b'\xff\xfe-not-utf8', ' ', '-', '\t', 'file/'))
    write('syncfs-paths', 'many', paths(0, '@MANY'))
    write('syncfs-paths', 'many-fifo', paths(0, 'file', '@MANYFIFO'))
    write('syncfs-paths', 'syncfs-eio', paths(4, 'file', '/dev/shm', '/proc', 'fifo'))
    write('syncfs-paths', 'syncfs-enosys', paths(8, 'file', '/dev/shm'))
    write('syncfs-paths', 'syncfs-enosys-fallback', paths(8 | 2, 'file', '/dev/shm', '/'))
    write('syncfs-paths', 'syncfs-eio-odd', paths(12, 'file', '/dev/shm', '/proc', '/sys', '/tmp', 'dir'))
    header = lambda flags, n: bytes([1, flags]) + struct.pack('<I', n)
    write('syncfs-paths', 'raw-count-too-big', header(0, 5) + b'file\0dir\0')
    write('syncfs-paths', 'raw-count-huge', header(0, 0xffffffff) + b'file\0')
    write('syncfs-paths', 'raw-no-terminator', header(0, 2) + b'file\0dir')
    write('syncfs-paths', 'raw-count-zero', header(1, 0) + b'file\0dir\0')
    write('syncfs-paths', 'raw-empty', header(0xff, 3))


SETUP = struct.Struct('=IIiIIIII')  # PsfChildSetupRecord
SETUP_MAGIC = 0x75667370
UMASK, GROUPS, GID, UID = 1, 2, 4, 8
CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x00020000, 0x20000000, 0x40000000
SETUP_ERROR = struct.Struct('=Ii32s224s')  # PsfSetupError
SETUP_ERROR_MAGIC = 0x65667370


def setup(fields=0, unshare=0, umask=0, uid=0, gid=0, groups=(), cgroup=None,
          n_groups=None, cgroup_len=None, magic=SETUP_MAGIC):
    path = cgroup.encode() + b'\0' if cgroup is not None else b''
    return (SETUP.pack(magic, fields, unshare, umask, uid, gid,
                       len(groups) if n_groups is None else n_groups,
                       len(path) if cgroup_len is None else cgroup_len)
            + b''.join(struct.pack('=I', g) for g in groups) + path)


def setup_seeds():
    procs = '/sys/fs/cgroup/psf/cgroup.procs'
    everything = setup(UMASK | GROUPS | GID | UID,
                       CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET,
                       0o027, 1000, 1000, (10, 20, 65534), procs)
    write('setup-decode', 'everything', everything)
    write('setup-decode', 'nothing', setup())
    write('setup-decode', 'no-groups', setup(GROUPS))
    write('setup-decode', 'cgroup-only', setup(cgroup=procs))
    write('setup-decode', 'truncated', everything[:-3])
    write('setup-decode', 'trailing', everything + b'\0\0\0\0')
    write('setup-decode', 'groups-huge', setup(GROUPS, groups=(1,), n_groups=0xffffffff))
    write('setup-decode', 'groups-wrap', setup(GROUPS, groups=(1, 2), n_groups=0x40000002))
    write('setup-decode', 'cgroup-no-nul', setup(cgroup=procs)[:-1] + b'x')
    write('setup-decode', 'cgroup-inner-nul', setup(cgroup='/a\0b'))
    write('setup-decode', 'cgroup-len-huge', setup(cgroup=procs, cgroup_len=0xffffffff))
    write('setup-decode', 'unknown-field', setup(0x80))
    write('setup-decode', 'unknown-namespace', setup(unshare=0x10000000))
    write('setup-decode', 'uid-without-field', setup(uid=1000))
    write('setup-decode', 'umask-too-big', setup(UMASK, umask=0o1000))
    write('setup-decode', 'other-magic', setup(magic=SETUP_ERROR_MAGIC))
    error = SETUP_ERROR.pack(SETUP_ERROR_MAGIC, 1, b'setresuid', b'1000')
    write('setup-decode', 'error-record', error)
    write('setup-decode', 'error-unterminated', SETUP_ERROR.pack(SETUP_ERROR_MAGIC, 13, b'c' * 32, b'd' * 224))
    write('setup-decode', 'error-errno-huge', SETUP_ERROR.pack(SETUP_ERROR_MAGIC, 4096, b'open', b'/x'))
    write('setup-decode', 'error-errno-negative', SETUP_ERROR.pack(SETUP_ERROR_MAGIC, -5, b'open', b'/x'))
    write('setup-decode', 'error-truncated', error[:100])


report_seeds()
paths_seeds()
setup_seeds()
