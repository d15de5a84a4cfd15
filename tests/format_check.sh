#!/usr/bin/env bash
# The committed .clang-format is the one naming-and-layout convention: every tracked C++ file
# must already be formatted with it. Run `git ls-files '*.cpp' '*.hpp' | xargs clang-format -i`
# to fix.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format > /dev/null || { echo "clang-format is not installed (make deps installs it)"; exit 1; }
if [ -d .git ]; then
  files=$(git ls-files '*.cpp' '*.hpp')
else
  files=$(find src jobs tests bench -name '*.cpp' -o -name '*.hpp')
fi
echo "$files" | xargs clang-format --dry-run --Werror
