#!/usr/bin/env bash
# Runs ctest in a sanitizer build (make test-asan, make test-tsan) and fails when any sanitized
# process wrote a report. Every report goes to a file under <build>/sanitizer-reports instead of
# stderr, so a report also counts when it comes from a process a test started and whose exit
# status or output the test does not look at (chatglmd, chatglmd-sim, admin commands, a daemon
# the test kills afterwards). The files are printed at the end, named <kind>.<program>.<pid>.
#
# usage: run_ctest.sh <build dir> address|thread [ctest arguments...]
set -euo pipefail
build=$(cd "$1" && pwd)
kind=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
reports=$build/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"

case $kind in
  address)
    export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:log_exe_name=1:log_path=$reports/asan"
    export UBSAN_OPTIONS="print_stacktrace=1:log_exe_name=1:log_path=$reports/ubsan"
    ;;
  thread)
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_exe_name=1:log_path=$reports/tsan"
    ;;
  *)
    echo "usage: $0 <build dir> address|thread [ctest arguments...]" >&2
    exit 2
    ;;
esac
# Suppressions, when a file exists, only for third-party code (each entry says why).
for tool in lsan tsan; do
  if [ -f "$here/$tool.supp" ]; then
    var=${tool^^}_OPTIONS
    export "$var=${!var:+${!var}:}suppressions=$here/$tool.supp"
  fi
done

status=0
(cd "$build" && ctest "$@") || status=$?

shopt -s nullglob
found=("$reports"/*)
if [ ${#found[@]} -gt 0 ]; then
  for f in "${found[@]}"; do
    echo "===== sanitizer report ${f#"$reports"/}"
    cat "$f"
  done
  echo "FAILED: ${#found[@]} sanitizer report(s), above (kept in $reports)"
  status=1
fi
exit $status
