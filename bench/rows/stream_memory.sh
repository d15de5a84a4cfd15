#!/usr/bin/env bash
# Memory per open stream: K chat streams held open through the relay to chatglmd-sim answering
# its first piece 5 s later (1 s in a smoke run); the relay's RSS with K open minus idle,
# divided by K. chatglmd
# (POST /api/v1/chatgpt/chat/completions) beside nginx (proxy_buffering off, HTTP/1.1 to the
# same upstream, 1 worker). Target: <= nginx's. Both servers are started afresh for every run:
# a second run in the same process finds the first run's freed memory in its allocator and
# would measure nearly nothing.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../nginx.sh"
source "$(dirname "$0")/../daemon.sh"
bench_need nginx
k=1000 delay_ms=5000; [ "$BENCH_QUICK" = 1 ] && k=50 delay_ms=1000
ulimit -n 65536 2> /dev/null || ulimit -n "$(ulimit -Hn)"  # K streams take 2K descriptors per relay
glm_key="sim-key-id.sim-key-secret"

bench_sim_start --chunk-delay-ms "$delay_ms"
sim_port=$BENCH_SIM_PORT
bench_glm_daemon_start "$sim_port" "$glm_key" 1000000
token=$BENCH_TOKEN

ours=() peer=() ratios=()
for _ in $(seq "$BENCH_RUNS"); do
  bench_daemon_serve
  nginx_port=$(bench_free_port)
  bench_nginx_start "$nginx_port" "    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\";
                 proxy_buffering off; proxy_cache off; proxy_read_timeout 300s; }" \
    "  upstream up { server 127.0.0.1:$sim_port; keepalive 256; }"
  nginx_master=$BENCH_LAST_PID
  nginx_worker=$(pgrep -P "$nginx_master" | head -1)
  bench_wait_quiet
  a=$("$BENCH_BUILD/bin/bench_stream_hold" "$BENCH_DAEMON_PORT" /api/v1/chatgpt/chat/completions \
    "Bearer $token" '{"model":"glm-4","messages":[{"role":"user","content":"hi"}]}' "$k" "$BENCH_DAEMON_PID")
  b=$("$BENCH_BUILD/bin/bench_stream_hold" "$nginx_port" /api/paas/v4/chat/completions \
    "zhipu:$glm_key" '{"model":"glm-4","stream":true,"messages":[{"role":"user","content":"hi"}]}' "$k" "$nginx_worker")
  bench_stop "$nginx_master"
  bench_stop "$BENCH_DAEMON_PID"
  ours+=("$a") peer+=("$b") ratios+=("$(bench_ratio "$a" "$b")")
done
bench_figure stream_memory "memory per open stream, K=$k" KiB "$(bench_median "${ours[@]}")" \
  "nginx relay, 1 worker" "$(bench_median "${peer[@]}")" "$(bench_median "${ratios[@]}")" 1 \
  "$(bench_spread "${ratios[@]}")" lower
bench_done
