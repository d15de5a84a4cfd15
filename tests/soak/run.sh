#!/usr/bin/env bash
# `make soak`: the mixed-load soak (SOAK_MINUTES, default 30) with its CSV, summary and PNG plot,
# then the kill storm at scale (the crash test with 10x the orders and notifies and 30 kills).
# Outputs go to SOAK_OUT (default BUILD/soak). Not part of `make test` or CI.
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${SOAK_OUT:-$build/soak}
mkdir -p "$out"
export SOAK_OUT=$out

# The test binaries stop their daemons and simulators themselves (and the children die with
# them: PR_SET_PDEATHSIG); this trap stops the binary when the script is interrupted.
child=
stop() {
  if [ -n "$child" ]; then kill -TERM "$child" 2> /dev/null || true; wait "$child" 2> /dev/null || true; fi
}
trap 'stop; exit 130' INT TERM
trap stop EXIT
run() {
  "$@" &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=
  return $rc
}

status=0
echo "== soak: ${SOAK_MINUTES:-30} minutes of mixed load (CSV and summary in $out)"
run "$build/bin/soak_test" || status=1

if [ -s "$out/soak.csv" ]; then
  gnuplot -e "csv='$out/soak.csv'; png='$out/soak.png'" "$src/tests/soak/plot.gp" &&
    echo "plot: $out/soak.png"
fi

export CRASH_SCALE=${CRASH_SCALE:-10} CRASH_KILLS=${CRASH_KILLS:-30}
echo "== kill storm: ${CRASH_SCALE}x the crash test's orders and notifies, $CRASH_KILLS kills"
run "$build/bin/jobs_crash_test" > >(tee "$out/kill-storm.txt") || status=1
exit $status
