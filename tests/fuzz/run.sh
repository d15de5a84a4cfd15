#!/usr/bin/env bash
# Runs every libFuzzer target of a CHATGLMD_FUZZ build for SECONDS each, seeded from the committed
# corpus (tests/fuzz/corpus/<target>, read only) plus what earlier runs found in the build dir.
# A crash is copied into the committed corpus as regression-<target>-<hash>, so the normal ctest
# (fuzz_replay_<target>) fails on it until the bug is fixed, and the run fails.
# Usage: run.sh BUILD_DIR SECONDS [TARGET...]
set -uo pipefail
build=$(realpath "$1")
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for exe in "$build"/bin/fuzz_*; do targets+=("$(basename "$exe" | sed 's/^fuzz_//')"); done
fi
failed=()
for t in "${targets[@]}"; do
  found="$build/fuzz-corpus/$t"
  crashes="$build/fuzz-crashes/$t"
  rm -rf "$crashes"
  mkdir -p "$found" "$crashes"
  log="$build/fuzz-logs/$t.log"
  mkdir -p "$(dirname "$log")"
  # -rss_limit_mb: the targets keep nothing between inputs; a growing process is a leak.
  "$build/bin/fuzz_$t" "$found" "$here/corpus/$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" \
    > "$log" 2>&1
  status=$?
  # The last status line says how far it got: "#N DONE cov: C ft: F ... exec/s: E".
  summary=$(grep -E '^#[0-9]+' "$log" | tail -1)
  execs=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}')
  printf '%-16s exit %d  %s  (average exec/s %s)\n' "$t" "$status" "$summary" "${execs:-?}"
  if [ $status -ne 0 ]; then
    failed+=("$t")
    for c in "$crashes"/*; do
      [ -f "$c" ] || continue
      dest="$here/corpus/$t/regression-$(sha1sum "$c" | cut -c1-16)"
      cp "$c" "$dest"
      echo "  crash input kept as ${dest#$here/../../}; the log is $log"
    done
    tail -40 "$log"
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: crashes in: ${failed[*]}"
  exit 1
fi
