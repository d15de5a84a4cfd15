#!/usr/bin/env bash
# `chatglmd jobs run timeout-close` draining 2,000 overdue orders of 20,000 against chatglmd-sim
# answering after L = 20 ms, with C = 16 and 64 calls in flight ([jobs.timeout-close]
# concurrency; batch 256 so a batch never caps C). No runner beats C/L closes/s; at C = 64 the
# bound is min(C/L, the RSA-2048 signing rate of `openssl speed` in the same run).
# Target: >= 0.9x the bound.
# Also recorded at C = 64, with no target, what that asks of the CPU: the CPU per close of the job
# and of the simulator together (the simulator signs every answer, as Alipay does on its own
# machines, but here on the same cores) beside the CPU per close that 0.9x the bound leaves on
# this machine's cores, and the two RSA-2048 signatures a close costs here (ours and the
# simulator's, `openssl speed` on one core) beside the same budget.
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

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

drain() {  # C: "closes/s CPU-us-per-close" of one jobs run over a fresh store (job + simulator)
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
  local start end closed sim_before sim_after job_cpu TIMEFORMAT='%U %S'
  sim_before=$(cpu_ticks "$sim_pid")
  start=$(date +%s.%N)
  # bash's `time` reports the job's own CPU (user, system) on stderr, after the job's.
  job_cpu=$({ time bench_cli jobs run timeout-close > /dev/null 2> "$dir/job.err"; } 2>&1) ||
    { cat "$dir/job.err" >&2; echo "jobs run timeout-close failed" >&2; return 1; }
  end=$(date +%s.%N)
  sim_after=$(cpu_ticks "$sim_pid")
  closed=$(bench_cli order list --status closed --limit 1000000 --json | grep -o '"orderId"' | wc -l)
  [ "$closed" = "$overdue" ] || { echo "closed $closed of $overdue overdue orders" >&2; return 1; }
  awk -v n="$closed" -v a="$start" -v b="$end" -v job="$job_cpu" -v sim=$((sim_after - sim_before)) \
    -v hz="$(getconf CLK_TCK)" 'BEGIN { split(job, t, " ");
      printf "%.0f %.0f", n / (b - a), ((t[1] + t[2]) + sim / hz) * 1e6 / n }'
}

for c in 16 64; do
  ours=() bounds=() ratios=() cpu=() budget=() signs_us=()
  for _ in $(seq "$BENCH_RUNS"); do
    bench_wait_quiet
    read -r rate per_close <<< "$(drain "$c")"
    bound=$((c * 1000 / latency_ms))
    peer="C/L"
    if [ "$c" = 64 ]; then
      signs=$(sign_rate)
      signs_us+=("$(awk -v s="$signs" 'BEGIN { printf "%.0f", 2e6 / s }')")
      if [ "$signs" -lt "$bound" ]; then bound=$signs; fi
      peer="min(C/L, RSA signs/s)"
    fi
    ours+=("$rate") bounds+=("$bound") ratios+=("$(bench_ratio "$rate" "$bound")")
    cpu+=("$per_close")
    budget+=("$(awk -v c="$(nproc)" -v b="$bound" 'BEGIN { printf "%.0f", c * 1e6 / (0.9 * b) }')")
  done
  bench_figure sweep "timeout-close drain, C=$c L=${latency_ms}ms" closes/s \
    "$(bench_median "${ours[@]}")" "$peer" "$(bench_median "${bounds[@]}")" \
    "$(bench_median "${ratios[@]}")" 0.9 "$(bench_spread "${ratios[@]}")"
  if [ "$c" = 64 ]; then
    cpu_med=$(bench_median "${cpu[@]}") budget_med=$(bench_median "${budget[@]}")
    bench_figure sweep "CPU per close, job + simulator, C=$c" us "$cpu_med" \
      "CPU per close at 0.9x bound, $(nproc) cores" "$budget_med" \
      "$(bench_ratio "$cpu_med" "$budget_med")" - "$(bench_spread "${cpu[@]}")" none
    signs_med=$(bench_median "${signs_us[@]}")
    bench_figure sweep "2 RSA-2048 signs per close, one core" us "$signs_med" \
      "CPU per close at 0.9x bound, $(nproc) cores" "$budget_med" \
      "$(bench_ratio "$signs_med" "$budget_med")" - "$(bench_spread "${signs_us[@]}")" none
  fi
done
bench_done
