#!/usr/bin/env bash
# Sensitive-word masking: `chatglmd words scan` over the corpus with the 10,000 words in a real
# store, beside `LC_ALL=C grep -oF -f words corpus | wc -l` on the same files. MB/s = input
# bytes / wall seconds. Target: >= 5x grep.
source "$(dirname "$0")/../lib.sh"
mib=64; [ "$BENCH_QUICK" = 1 ] && mib=4
words="$BENCH_TMP/words.txt" corpus="$BENCH_TMP/corpus.txt" db="$BENCH_TMP/filter.db"
"$BENCH_BUILD/bin/bench_corpus" "$words" "$corpus" "$mib"
bytes=$(stat -c %s "$corpus")
chatglmd=("$BENCH_BUILD/bin/chatglmd" --db "$db")
"${chatglmd[@]}" migrate > /dev/null
"${chatglmd[@]}" words import "$words" > /dev/null
cat "$corpus" "$words" > /dev/null  # both sides read from the page cache

seconds() {  # wall seconds of the command given
  local start end
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }'
}
scan() { "${chatglmd[@]}" words scan "$corpus" > /dev/null; }
grep_f() { LC_ALL=C grep -oF -f "$words" "$corpus" | wc -l > /dev/null; }

echo "  corpus: $((bytes >> 20)) MiB, $(wc -l < "$words") words"
ours=() peer=()
for _ in $(seq "$BENCH_RUNS"); do
  bench_wait_quiet
  t=$(seconds scan)
  ours+=("$(awk -v b="$bytes" -v t="$t" 'BEGIN { printf "%.1f", b / 1e6 / t }')")
  t=$(seconds grep_f)
  peer+=("$(awk -v b="$bytes" -v t="$t" 'BEGIN { printf "%.1f", b / 1e6 / t }')")
done
ratios=()
for i in "${!ours[@]}"; do ratios+=("$(bench_ratio "${ours[$i]}" "${peer[$i]}")"); done
bench_figure filter "words scan, 10,000 words" MB/s "$(bench_median "${ours[@]}")" \
  "grep -oF -f words" "$(bench_median "${peer[@]}")" "$(bench_median "${ratios[@]}")" 5 \
  "$(bench_spread "${ratios[@]}")"
bench_done
