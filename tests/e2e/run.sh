#!/usr/bin/env bash
# Runs every Node end-to-end suite under tests/e2e (each folder with a package.json) with
# node's own test runner. CHATGLMD_BUILD_DIR points at the CMake build with bin/chatglmd*.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${CHATGLMD_BUILD_DIR:?set CHATGLMD_BUILD_DIR to the build folder}"
export CHATGLMD_BUILD_DIR
status=0
for dir in "$here"/*/ "$here"/; do
  [ -f "$dir/package.json" ] || continue
  compgen -G "$dir/*.test.mjs" > /dev/null || continue
  echo "== node --test in ${dir#$here/}"
  # A hung test fails after 2 minutes instead of holding CI (the suites take seconds).
  (cd "$dir" && node --test --test-concurrency=1 --test-timeout=120000 ./*.test.mjs) || status=1
done
exit $status
