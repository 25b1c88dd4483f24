#!/usr/bin/python3
# make-corpus.py: writes the seed corpus of the fuzz targets (committed)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   tests/fuzz/make-corpus.py   (from anywhere; rewrites tests/fuzz/corpus/)
#
# Seeds are small, named after what they hold, and cover the hostile cases
# named in tests/fuzz/meson.build: for the report decoder truncated, oversized, garbage and
# duplicated records; for the child routine FIFOs, sockets, device nodes,
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


report_seeds()
paths_seeds()
