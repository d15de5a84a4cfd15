#!/usr/bin/env bash
# make bench: every benchmark, each printing ratios against a baseline measured in the same run.
set -euo pipefail
build="${1:-build}"
"$build/bin/bench_sweep"
echo
"$build/bin/bench_notify"
echo
"$build/bin/bench_stream"
echo
"$build/bin/bench_filter" --benchmark_min_time=0.2
