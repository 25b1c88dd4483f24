#!/usr/bin/python3
# portage-bench.py: what a sync costs Portage, with its own SyncfsProcess and with psf's
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   meson devenv -C BUILD -w . /usr/bin/python3 tests/bench/portage-bench.py \
#       [--portage-source DIR] [-n ITERATIONS] [-w WARMUP] [-k 1,16]
#
# One run, four ways to sync K fresh directories, interleaved (each
# iteration runs every way once, in an order shuffled anew, so that the
# machine's drift hits all alike), timed from the constructor to the
# returncode:
#
#   portage     portage.dbapi._SyncfsProcess.SyncfsProcess as
#               dblink._post_merge_sync builds it, in Portage's event loop,
#               after load_libc() (what MergeProcess does before it forks)
#   psf.portage psf.portage.SyncfsProcess, the drop-in, the same way
#   psf         Psf.SyncfsProcess straight from Python: start(), wait()
#   awaited     the drop-in started and awaited (async_wait()) inside a
#               coroutine on Portage's running loop: the path of callers
#               that do not block (no target; shown for comparison)
#
# After each of Portage's calls, one untimed call of each other way takes
# the page faults that Portage's fork of the whole interpreter leaves to
# the next calls in this process (--no-settle: none).
#
# Prints the median, p10 and p90 in microseconds per way and K, and the
# ratios the drop-in is held to: at most 0.10 of Portage's class, at most
# 1.2 of psf from Python. A benchmark, not a test: the exit status is 0
# whether or not a target is met (the table says which).
# Portage's source: --portage-source or $PSF_PORTAGE_SOURCE.

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

TARGETS = (('psf.portage', 'portage', 0.10), ('psf.portage', 'psf', 1.2))


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description='Portage SyncfsProcess against psf.portage')
    parser.add_argument('--portage-source', default=os.environ.get('PSF_PORTAGE_SOURCE', ''))
    parser.add_argument('-n', '--iterations', type=int, default=200)
    parser.add_argument('-w', '--warmup', type=int, default=20)
    parser.add_argument('--no-settle', dest='settle', action='store_false',
                        help="no untimed round of the other ways after each "
                        "of Portage's")
    parser.add_argument('-k', '--paths', default='1,16',
                        help='numbers of paths, comma-separated (default 1,16)')
    args = parser.parse_args()
    if not args.portage_source:
        parser.error('no Portage source: --portage-source DIR or PSF_PORTAGE_SOURCE')

    sys.path.insert(0, os.path.join(args.portage_source, 'lib'))
    sys.dont_write_bytecode = True
    from portage.util.futures import asyncio
    from portage.util._ctypes import load_libc
    from portage.dbapi._SyncfsProcess import SyncfsProcess as PortageSyncfs
    from psf.portage import SyncfsProcess as DropIn
    import gi
    gi.require_version('Psf', '1')
    from gi.repository import Psf

    load_libc()
    loop = asyncio._safe_loop()

    def portage_way(paths):
        proc = PortageSyncfs(paths=paths, scheduler=loop)
        proc.start()
        return proc.wait()

    def dropin_way(paths):
        proc = DropIn(paths=paths, scheduler=loop)
        proc.start()
        return proc.wait()

    def awaited_way(paths):
        async def sync():
            proc = DropIn(paths=paths, scheduler=loop)
            proc.start()
            return await proc.async_wait()
        return loop.run_until_complete(sync())

    def psf_way(paths):
        task = Psf.SyncfsProcess(paths=paths)
        task.start()
        return task.wait()

    ways = (('portage', portage_way), ('psf.portage', dropin_way), ('psf', psf_way),
            ('awaited', awaited_way))
    counts = [int(k) for k in args.paths.split(',')]
    shuffle = random.Random(16).shuffle
    top = tempfile.mkdtemp(prefix='psf-portage-bench-')
    try:
        print('# %d iterations after %d of warm-up, interleaved in shuffled order; '
              'Python %s, pid %d'
              % (args.iterations, args.warmup, sys.version.split()[0], os.getpid()))
        print('%-5s %-12s %10s %10s %10s' % ('K', 'way', 'median', 'p10', 'p90'))
        print('%-5s %-12s %10s %10s %10s' % ('', '', 'us', 'us', 'us'))
        ratios = []
        for k in counts:
            fresh = os.path.join(top, 'k%d' % k)
            os.mkdir(fresh)
            paths = []
            for i in range(k):
                path = os.path.join(fresh, 'dir%d' % i)
                os.mkdir(path)
                with open(os.path.join(path, 'file'), 'w') as f:
                    f.write('psf\n')
                paths.append(path)
            paths = tuple(paths)
            times = {name: [] for name, _ in ways}
            failures = {name: 0 for name, _ in ways}
            order = list(ways)
            for i in range(args.warmup + args.iterations):
                # A new order each iteration, so that drift and what one
                # way leaves behind hit the others alike.
                shuffle(order)
                for name, way in order:
                    start = time.perf_counter_ns()
                    rc = way(paths)
                    spent = time.perf_counter_ns() - start
                    if rc != 0:
                        failures[name] += 1
                    if i >= args.warmup:
                        times[name].append(spent / 1000.0)
                    if name == 'portage' and args.settle:
                        # Portage's fork of the whole interpreter leaves
                        # this process's pages shared with the child: the
                        # first write to each page afterwards faults, which
                        # the next calls here would pay for, whoever makes
                        # them (measured: 0.2 ms more in the constructor of
                        # a Portage task, 0.5 ms in its start()). One
                        # untimed call of each other way takes that debt.
                        for other, settle in ways:
                            if other != 'portage':
                                settle(paths)
            medians = {}
            for name, _ in ways:
                values = times[name]
                medians[name] = statistics.median(values)
                print('%-5d %-12s %10.0f %10.0f %10.0f%s'
                      % (k, name, medians[name], percentile(values, 0.1),
                         percentile(values, 0.9),
                         '  (%d runs did not return 0)' % failures[name]
                         if failures[name] else ''))
            for way, base, target in TARGETS:
                ratios.append((k, way, base, medians[way] / medians[base], target))
        print()
        for k, way, base, ratio, target in ratios:
            print('K=%-3d %s / %s = %.3f  (target <= %.2f: %s)'
                  % (k, way, base, ratio, target, 'met' if ratio <= target else 'MISSED'))
    finally:
        shutil.rmtree(top, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
