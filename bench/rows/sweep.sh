#!/usr/bin/env bash
# `chatglmd jobs run timeout-close` draining 2,000 overdue orders of 20,000 against chatglmd-sim
# answering after L = 20 ms, with C = 16 and 64 calls in flight ([jobs.timeout-close]
# concurrency; batch 256 so a batch never caps C). No runner beats C/L closes/s; at C = 64 the
# bound is min(C/L, the RSA-2048 signing rate of `openssl speed` in the same run).
# Target: >= 0.9x the bound.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../daemon.sh"
latency_ms=20 overdue=2000 fresh=18000
[ "$BENCH_QUICK" = 1 ] && overdue=200 fresh=800
fixtures="$BENCH_ROOT/tests/fixtures"

bench_spawn "$BENCH_BUILD/bin/chatglmd-sim" --port 0 --port-file "$BENCH_TMP/sim.port" --threads 2 \
  --alipay-key "$fixtures/ali_pkcs1.pem" --app-public-key "$fixtures/app_pub.pem" \
  --seller-id 2088102177649450
sim_pid=$BENCH_LAST_PID
for _ in $(seq 200); do [ -s "$BENCH_TMP/sim.port" ] && break; sleep 0.05; done
sim_port=$(cat "$BENCH_TMP/sim.port")
bench_wait_port "$sim_port" "$sim_pid"
curl -fsS -X POST -H 'Content-Type: application/json' \
  --data "{\"kind\":\"latency\",\"delay_ms\":$latency_ms}" "http://127.0.0.1:$sim_port/sim/alipay/fault" > /dev/null

sign_rate() {
  openssl speed -seconds "$([ "$BENCH_QUICK" = 1 ] && echo 1 || echo 3)" rsa2048 2> /dev/null |
    awk '/^rsa 2048 bits/ { printf "%.0f", $6 }'
}

drain() {  # C: closes/s of one jobs run over a fresh store
  local c=$1 dir="$BENCH_TMP/c$1-$RANDOM"
  mkdir -p "$dir"
  local saved=$BENCH_TMP
  BENCH_TMP=$dir
  bench_daemon_start "
[alipay]
gateway = http://127.0.0.1:$sim_port/gateway.do
app_id = 2021000000000001
private_key_file = $fixtures/app_pkcs1.pem
alipay_public_key_file = $fixtures/ali_pub.pem
seller_id = 2088102177649450

[jobs.timeout-close]
concurrency = $c
batch = 256
budget = 10m"
  BENCH_TMP=$saved
  "$BENCH_BUILD/bin/bench_notify_load" prepare "$dir/daemon/chatglmd.db" "$fresh" "$dir/ids" 0
  "$BENCH_BUILD/bin/bench_notify_load" prepare "$dir/daemon/chatglmd.db" "$overdue" "$dir/ids" 31
  local start end closed
  start=$(date +%s.%N)
  bench_cli jobs run timeout-close > /dev/null || { echo "jobs run timeout-close failed" >&2; return 1; }
  end=$(date +%s.%N)
  closed=$(bench_cli order list --status closed --limit 1000000 --json | grep -o '"orderId"' | wc -l)
  [ "$closed" = "$overdue" ] || { echo "closed $closed of $overdue overdue orders" >&2; return 1; }
  awk -v n="$closed" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }'
}

for c in 16 64; do
  ours=() bounds=() ratios=()
  for _ in $(seq "$BENCH_RUNS"); do
    bench_wait_quiet
    rate=$(drain "$c")
    bound=$((c * 1000 / latency_ms))
    peer="C/L"
    if [ "$c" = 64 ]; then
      signs=$(sign_rate)
      if [ "$signs" -lt "$bound" ]; then bound=$signs; fi
      peer="min(C/L, RSA signs/s)"
    fi
    ours+=("$rate") bounds+=("$bound") ratios+=("$(bench_ratio "$rate" "$bound")")
  done
  bench_figure sweep "timeout-close drain, C=$c L=${latency_ms}ms" closes/s \
    "$(bench_median "${ours[@]}")" "$peer" "$(bench_median "${bounds[@]}")" \
    "$(bench_median "${ratios[@]}")" 0.9 "$(bench_spread "${ratios[@]}")"
done
bench_done
