#!/usr/bin/env bash
# The chat relay beside nginx (proxy_buffering off, HTTP/1.1 to the same upstream, 1 worker):
# K streams from chatglmd-sim, one token every D ms, each stamped with its send time; K clients
# start within 1 s. Cells K=1,000 x D=100 ms and K=5,000 x D=500 ms (smoke: 50 x 100 ms).
# Figures: steady per-token latency p99 (tokens after every stream is open; target <= nginx's),
# relay CPU % (target <= 1.5x nginx's), and at K=1,000 the time to first token added by the
# relay (p50 through it minus p50 straight to the simulator; target <= nginx's added + 5 ms).
# RELAY_LOAD_TAIL=1: each load also prints its p90, p99, p99.9 and max to stderr.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../nginx.sh"
source "$(dirname "$0")/../daemon.sh"
bench_need nginx
ulimit -n 65536 2> /dev/null || ulimit -n "$(ulimit -Hn)"  # 5,000 streams: 10,000 descriptors a relay
glm_key="sim-key-id.sim-key-secret"
cells="1000:100 5000:500" window=10
[ "$BENCH_QUICK" = 1 ] && cells="50:100" window=1

bench_sim_start
sim_port=$BENCH_SIM_PORT
bench_glm_daemon_start "$sim_port" "$glm_key" 100000000
token=$BENCH_TOKEN
bench_daemon_serve
nginx_port=$(bench_free_port)
bench_nginx_start "$nginx_port" "    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\";
                 proxy_buffering off; proxy_cache off; proxy_read_timeout 300s; }" \
  "  upstream up { server 127.0.0.1:$sim_port; keepalive 256; }"
nginx_worker=$(pgrep -P "$BENCH_LAST_PID" | head -1)

for cell in $cells; do
  k=${cell%:*} d=${cell#*:}
  # Enough tokens to outlast the start, the wait for every first token and the window.
  tokens=$(((window + 15) * 1000 / d))
  curl -fsS -X POST -H 'Content-Type: application/json' \
    --data "{\"chunk_delay_ms\":$d,\"piece_chars\":1,\"stamp\":true}" "http://127.0.0.1:$sim_port/sim/glm/config" > /dev/null
  ask="{\"role\":\"user\",\"content\":\"len:$tokens\"}"
  load() {  # PORT PATH AUTH BODY RELAY_PID
    timeout 150 "$BENCH_BUILD/bin/bench_relay_load" "$1" "$2" "$3" "$4" "$k" 1000 "$window" "$5"
  }
  p99=() p99_peer=() p99_ratio=() cpu=() cpu_peer=() cpu_ratio=() added=() added_peer=() added_diff=()
  for _ in $(seq "$BENCH_RUNS"); do
    bench_wait_quiet
    out=$(load "$BENCH_DAEMON_PORT" /api/v1/chatgpt/chat/completions \
      "Bearer $token" "{\"model\":\"glm-4\",\"messages\":[$ask]}" "$BENCH_DAEMON_PID")
    read -r ours_ttft _ ours_p99 _ ours_cpu <<< "$out"
    out=$(load "$nginx_port" /api/paas/v4/chat/completions \
      "zhipu:$glm_key" "{\"model\":\"glm-4\",\"stream\":true,\"messages\":[$ask]}" "$nginx_worker")
    read -r peer_ttft _ peer_p99 _ peer_cpu <<< "$out"
    out=$(load "$sim_port" /api/paas/v4/chat/completions \
      "zhipu:$glm_key" "{\"model\":\"glm-4\",\"stream\":true,\"messages\":[$ask]}" 0)
    read -r direct_ttft _ <<< "$out"
    p99+=("$ours_p99") p99_peer+=("$peer_p99") p99_ratio+=("$(bench_ratio "$ours_p99" "$peer_p99")")
    cpu+=("$ours_cpu") cpu_peer+=("$peer_cpu") cpu_ratio+=("$(bench_ratio "$ours_cpu" "$peer_cpu")")
    a=$(awk -v x="$ours_ttft" -v y="$direct_ttft" 'BEGIN { printf "%.2f", x - y }')
    b=$(awk -v x="$peer_ttft" -v y="$direct_ttft" 'BEGIN { printf "%.2f", x - y }')
    added+=("$a") added_peer+=("$b") added_diff+=("$(awk -v x="$a" -v y="$b" 'BEGIN { printf "%.2f", x - y }')")
  done
  bench_figure relay "token latency p99, K=$k D=${d}ms" ms "$(bench_median "${p99[@]}")" \
    "nginx relay, 1 worker" "$(bench_median "${p99_peer[@]}")" "$(bench_median "${p99_ratio[@]}")" 1 \
    "$(bench_spread "${p99_ratio[@]}")" lower
  bench_figure relay "relay CPU, K=$k D=${d}ms" "%" "$(bench_median "${cpu[@]}")" \
    "nginx relay, 1 worker" "$(bench_median "${cpu_peer[@]}")" "$(bench_median "${cpu_ratio[@]}")" 1.5 \
    "$(bench_spread "${cpu_ratio[@]}")" lower
  if [ "$k" = 1000 ] || [ "$BENCH_QUICK" = 1 ]; then
    # Here "ratio" is a difference: our added ms minus nginx's added ms.
    bench_figure relay "added TTFT p50 (minus nginx's), K=$k" ms "$(bench_median "${added[@]}")" \
      "nginx added TTFT p50" "$(bench_median "${added_peer[@]}")" "$(bench_median "${added_diff[@]}")" 5 \
      "$(bench_spread "${added_diff[@]}")" lower
  fi
done
bench_done
