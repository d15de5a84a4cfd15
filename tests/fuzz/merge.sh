#!/usr/bin/env bash
# Minimises the committed seed corpora (libFuzzer -merge=1): keeps the inputs that add coverage,
# from the committed seeds and what runs found in BUILD_DIR/fuzz-corpus. regression-* inputs
# (crashes that were fixed) are kept as they are. Usage: merge.sh BUILD_DIR [TARGET...]
set -euo pipefail
build=$(realpath "$1")
shift
here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for exe in "$build"/bin/fuzz_*; do targets+=("$(basename "$exe" | sed 's/^fuzz_//')"); done
fi
for t in "${targets[@]}"; do
  committed="$here/corpus/$t"
  tmp=$(mktemp -d)
  seeds=$(mktemp -d)
  find "$committed" -maxdepth 1 -type f ! -name 'regression-*' -exec cp {} "$seeds/" \;
  mkdir -p "$build/fuzz-corpus/$t"
  "$build/bin/fuzz_$t" -merge=1 "$tmp" "$seeds" "$build/fuzz-corpus/$t" > /dev/null 2>&1
  find "$committed" -maxdepth 1 -type f ! -name 'regression-*' -delete
  # Content-named, as libFuzzer names them; the seeds named by hand keep their names.
  for f in "$tmp"/*; do
    name=$(basename "$f")
    for s in "$seeds"/*; do cmp -s "$f" "$s" && name=$(basename "$s") && break; done
    cp "$f" "$committed/$name"
  done
  echo "$t: $(ls "$committed" | wc -l) inputs, $(du -sk "$committed" | cut -f1) KiB"
  rm -rf "$tmp" "$seeds"
done
