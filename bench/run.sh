#!/usr/bin/env bash
# make bench: every row of issue 10's table, each measured beside its peer in the same run
# (bench/rows/*.sh). Prints each figure with the peer's, the ratio and the target; writes one
# JSON line per figure to BUILD/bench/<row>.jsonl; exits non-zero when a row misses its target.
# BENCH_QUICK=1: a few seconds per row, targets not checked (ctest runs it so the harness does
# not rot). BENCH_ROWS="filter product_list": only those rows.
set -uo pipefail
build="$(cd "${1:-build}" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
export BENCH_BUILD="$build"
rows="${BENCH_ROWS:-filter product_list notify sweep postgres stream_memory relay}"
failed=() skipped=()
for row in $rows; do
  echo "== $row"
  bash "$here/rows/$row.sh"
  case $? in
    0) ;;
    77) skipped+=("$row") ;;
    *) failed+=("$row") ;;
  esac
  echo
done
[ ${#skipped[@]} -gt 0 ] && echo "rows skipped (a peer or PostgreSQL is not installed): ${skipped[*]}"
echo "figures: ${BENCH_OUT:-$build/bench}/*.jsonl"
if [ ${#failed[@]} -gt 0 ]; then
  echo "rows that missed a target or failed: ${failed[*]}"
  exit 1
fi
