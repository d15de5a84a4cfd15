# Shared by bench/run.sh and bench/rows/*.sh: quiet-machine wait, free ports, servers that die
# with the script, repeated runs and one JSON line per figure in $BENCH_OUT.
#
# Environment: BENCH_QUICK=1 (smoke: one short run, no target check), BENCH_RUNS (default 3),
# BENCH_MAX_LOAD (1-minute load average counted as quiet, default 1.0 per core),
# BENCH_QUIET_WAIT (seconds a row waits for it, default 60).
set -euo pipefail
shopt -s inherit_errexit  # a failing step inside $(...) fails the row too

BENCH_QUICK="${BENCH_QUICK:-0}"
if [ "$BENCH_QUICK" = 1 ]; then BENCH_RUNS="${BENCH_RUNS:-1}"; else BENCH_RUNS="${BENCH_RUNS:-3}"; fi
BENCH_MAX_LOAD="${BENCH_MAX_LOAD:-$(nproc)}"
BENCH_QUIET_WAIT="${BENCH_QUIET_WAIT:-60}"
BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${BENCH_BUILD:?BENCH_BUILD must name the build folder}"
BENCH_OUT="${BENCH_OUT:-$BENCH_BUILD/bench}"
BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/chatglmd-bench.XXXXXX")"
BENCH_PIDS=()
BENCH_QUIET=true
mkdir -p "$BENCH_OUT"

bench_cleanup() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${BENCH_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# Starts a server in the background; it is stopped when the script exits, also on failure.
bench_spawn() {
  "$@" &
  BENCH_PIDS+=("$!")
  BENCH_LAST_PID=$!
}

bench_stop() {  # PID: stop one spawned server now
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# A TCP port on 127.0.0.1 that nothing listens on now, below the kernel's ephemeral range (a
# port there can be the local end of some connection: nothing answers on it, yet bind fails).
bench_free_port() {
  local port low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
  for _ in $(seq 200); do
    port=$((10000 + RANDOM % (low - 10000)))
    if ! (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

bench_wait_port() {  # PORT PID: until something accepts on PORT (or PID died)
  for _ in $(seq 300); do
    kill -0 "$2" 2> /dev/null || { echo "server (pid $2) exited before listening" >&2; return 1; }
    (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

# Waits (bounded, the first time in a row's script) until the 1-minute load average is below
# BENCH_MAX_LOAD; later calls only look. A run measured on a busy machine is said on stderr and
# recorded ("quiet": false in the JSON).
BENCH_WAITED=0
bench_wait_quiet() {
  local waited=0 load limit=$BENCH_QUIET_WAIT
  [ "$BENCH_QUICK" = 1 ] && return 0
  [ "$BENCH_WAITED" = 1 ] && limit=0
  BENCH_WAITED=1
  while :; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v l="$load" -v m="$BENCH_MAX_LOAD" 'BEGIN { exit !(l < m) }'; then return 0; fi
    if [ "$waited" -ge "$limit" ]; then
      echo "  machine not quiet: load average $load >= $BENCH_MAX_LOAD after ${waited}s; measuring anyway" >&2
      BENCH_QUIET=false
      return 0
    fi
    sleep 5
    waited=$((waited + 5))
  done
}

# Median and spread ((max - min) / median, in %) of the numbers given.
bench_median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
bench_spread() {
  local med
  med=$(bench_median "$@")
  printf '%s\n' "$@" | sort -g | awk -v m="$med" 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.1f", (m > 0 ? 100 * (hi - lo) / m : 0) }'
}

BENCH_FAILED=0
# bench_figure ROW NAME UNIT VALUE PEER PEER_VALUE RATIO TARGET SPREAD [lower]
# RATIO is ours / peer's (or the figure / the bound); TARGET is the ratio it must reach
# (at most TARGET when the 10th argument is "lower"; "none": a figure recorded beside its peer
# with no target, TARGET is ignored). Prints one line and appends one JSON line.
bench_figure() {
  local row=$1 name=$2 unit=$3 value=$4 peer=$5 peer_value=$6 ratio=$7 target=$8 spread=$9
  local direction=${10:-higher} ok verdict
  if [ "$direction" = none ]; then
    ok=true target=none
  elif [ "$direction" = lower ]; then
    ok=$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r <= t) ? "true" : "false" }')
  else
    ok=$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r >= t) ? "true" : "false" }')
  fi
  if [ "$direction" = none ]; then
    verdict="recorded, no target"
  elif [ "$BENCH_QUICK" = 1 ]; then
    verdict="smoke run, target not checked"
  elif [ "$ok" = true ]; then
    verdict="meets the target"
  else
    verdict="MISSES the target"
    BENCH_FAILED=1
  fi
  local sign='>='; [ "$direction" = lower ] && sign='<='; [ "$direction" = none ] && sign='-'
  printf '  %-34s %12s %-8s | %-26s %12s | ratio %6s (target %s %s) spread %s%% over %s runs: %s\n' \
    "$name" "$value" "$unit" "$peer" "$peer_value" "$ratio" "$sign" "$target" "$spread" "$BENCH_RUNS" "$verdict"
  printf '{"row":"%s","name":"%s","value":%s,"unit":"%s","peer":"%s","peer_value":%s,"ratio":%s,"target":"%s %s","met":%s,"spread_pct":%s,"runs":%s,"quick":%s,"quiet":%s,"git":"%s","time":"%s"}\n' \
    "$row" "$name" "$value" "$unit" "$peer" "$peer_value" "$ratio" "$sign" "$target" "$ok" "$spread" \
    "$BENCH_RUNS" "$([ "$BENCH_QUICK" = 1 ] && echo true || echo false)" "$BENCH_QUIET" \
    "$(git -C "$BENCH_ROOT" describe --always --dirty 2> /dev/null || echo unknown)" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$BENCH_OUT/$row.jsonl"
}

# bench_need CMD...: a peer's tool must be installed. Missing in a smoke run, the row is skipped
# (exit 77, as ctest's SKIP_RETURN_CODE); missing in a real run, it fails.
bench_need() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" > /dev/null && continue
    echo "  $cmd is not installed (make bench-deps installs nginx-light and wrk)" >&2
    if [ "$BENCH_QUICK" = 1 ]; then exit 77; fi
    exit 1
  done
}

bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# The end of a row script: non-zero when a figure missed its target.
bench_done() { exit "$BENCH_FAILED"; }
