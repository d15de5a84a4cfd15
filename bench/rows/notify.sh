#!/usr/bin/env bash
# Durable notifies through POST /api/v1/sale/pay_notify of the real daemon (RSA2 verify, save,
# PAID, deliver; synchronous=FULL, the default), 64 in flight, beside single-row FULL commits in
# a loop on the same disk (bench_commit_loop, 2 s before and 2 s after each run).
# Target: >= 3x the single-row commit rate.
# Also recorded, with no target, what the target asks of the CPU: the daemon's CPU per notify
# (utime + stime from /proc over the fire) beside the CPU per notify that 3x the commit loop
# leaves on this machine's cores for everything (daemon, load generator, kernel), and the RSA-2048
# verification every notify needs (`openssl speed`, one core) beside the same budget. A disk whose
# fsync is fast raises the commit loop, so the target, without making a notify cheaper.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../daemon.sh"
count=4000; loop_secs=2; [ "$BENCH_QUICK" = 1 ] && count=300 loop_secs=0.3
fixtures="$BENCH_ROOT/tests/fixtures"
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
verify_us() {
  openssl speed -seconds "$([ "$BENCH_QUICK" = 1 ] && echo 1 || echo 2)" rsa2048 2> /dev/null |
    awk '/^rsa 2048 bits/ { printf "%.1f", 1e6 / $7 }'
}
commit_rate() {
  rm -f "$BENCH_TMP/loop.db"*
  "$BENCH_BUILD/bin/bench_commit_loop" "$BENCH_TMP/loop.db" "$loop_secs"
}

ours=() peer=() ratios=() cpu=() budget=()
for run in $(seq "$BENCH_RUNS"); do
  bench_wait_quiet
  # A fresh daemon and store per run, in the temp folder (the same disk as the commit loop).
  BENCH_TMP_RUN="$BENCH_TMP/run$run"
  mkdir -p "$BENCH_TMP_RUN"
  BENCH_TMP_SAVED=$BENCH_TMP BENCH_TMP=$BENCH_TMP_RUN
  bench_daemon_start "
[alipay]
gateway = http://127.0.0.1:9/gateway.do
app_id = 2021000000000001
private_key_file = $fixtures/app_pkcs1.pem
alipay_public_key_file = $fixtures/ali_pub.pem
seller_id = 2088102177649450
notify_url = http://127.0.0.1:@PORT@/api/v1/sale/pay_notify"
  BENCH_TMP=$BENCH_TMP_SAVED
  bench_cli product add --id 1002 --name "100 chats" --price 9.99 --quota 100 --models glm-4 > /dev/null
  "$BENCH_BUILD/bin/bench_notify_load" prepare "$BENCH_TMP_RUN/daemon/chatglmd.db" "$count" "$BENCH_TMP_RUN/ids"
  before=$(commit_rate)
  bench_daemon_serve
  ticks_before=$(cpu_ticks "$BENCH_DAEMON_PID")
  rate=$("$BENCH_BUILD/bin/bench_notify_load" fire "$BENCH_DAEMON_PORT" "$BENCH_TMP_RUN/ids" 64)
  ticks_after=$(cpu_ticks "$BENCH_DAEMON_PID")
  bench_stop "$BENCH_DAEMON_PID"
  after=$(commit_rate)
  delivered=$(bench_cli order list --status delivered --limit 1000000 --json | grep -o '"orderId"' | wc -l)
  [ "$delivered" = "$count" ] || { echo "only $delivered of $count orders delivered" >&2; exit 1; }
  loop=$(awk -v a="$before" -v b="$after" 'BEGIN { printf "%.0f", (a + b) / 2 }')
  echo "  run $run: $rate notifies/s; commit loop $before before, $after after"
  ours+=("$rate") peer+=("$loop") ratios+=("$(bench_ratio "$rate" "$loop")")
  cpu+=("$(awk -v d=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" -v n="$count" \
    'BEGIN { printf "%.1f", d * 1e6 / hz / n }')")
  budget+=("$(awk -v c="$(nproc)" -v l="$loop" 'BEGIN { printf "%.1f", c * 1e6 / (3 * l) }')")
done
verify=$(verify_us)
bench_figure notify "durable notifies, 64 in flight" "/s" "$(bench_median "${ours[@]}")" \
  "single-row FULL commits" "$(bench_median "${peer[@]}")" "$(bench_median "${ratios[@]}")" 3 \
  "$(bench_spread "${ratios[@]}")"
cpu_med=$(bench_median "${cpu[@]}") budget_med=$(bench_median "${budget[@]}")
bench_figure notify "daemon CPU per notify" us "$cpu_med" "CPU per notify at 3x, $(nproc) cores" \
  "$budget_med" "$(bench_ratio "$cpu_med" "$budget_med")" - "$(bench_spread "${cpu[@]}")" none
bench_figure notify "RSA-2048 verify, one core" us "$verify" "CPU per notify at 3x, $(nproc) cores" \
  "$budget_med" "$(bench_ratio "$verify" "$budget_med")" - 0 none
bench_done
