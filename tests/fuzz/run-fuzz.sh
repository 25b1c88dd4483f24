#!/bin/sh
# run-fuzz.sh FUZZER SEEDS WORK [DICT]: one bounded libFuzzer run (suite 'fuzz')
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Fuzzes for $PSF_FUZZ_SECONDS (default 30) seconds, starting from the
# committed corpus SEEDS (read only) and WORK (what this run finds; kept in
# the build tree). A crash, a leak, a timeout or a violation of the target's
# checks fails the test and leaves the input in WORK as crash-*, leak-*,
# timeout-* or oom-*: copy it into SEEDS once fixed, so it stays a
# regression test (fuzz-*-replay runs SEEDS in every build).

set -eu

fuzzer=$1
seeds=$2
work=$3
dict=${4:-}

mkdir -p "$work"
set -- -max_total_time="${PSF_FUZZ_SECONDS:-30}" -timeout=20 -rss_limit_mb=4096 \
  -print_final_stats=1 -artifact_prefix="$work/" "$work" "$seeds"
if [ -n "$dict" ]; then
  set -- -dict="$dict" "$@"
fi
exec "$fuzzer" "$@"
