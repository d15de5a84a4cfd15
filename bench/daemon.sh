# chatglmd serve for the benchmarks: a fresh store and secrets in the temp folder, the real
# binary, 127.0.0.1 on a free port; stopped when the script exits.
# bench_daemon_start [EXTRA INI LINES, @PORT@ for its port]: sets BENCH_DAEMON_PORT, BENCH_DAEMON_INI, BENCH_DAEMON_PID.
bench_daemon_start() {
  local dir="$BENCH_TMP/daemon" extra=${1:-}
  mkdir -p "$dir"
  head -c 32 /dev/urandom | base64 > "$dir/token_secret"
  BENCH_DAEMON_PORT=$(bench_free_port)
  BENCH_DAEMON_INI="$dir/chatglmd.ini"
  cat > "$BENCH_DAEMON_INI" <<INI
[store]
path = $dir/chatglmd.db

[http]
listen = 127.0.0.1:$BENCH_DAEMON_PORT
threads = ${BENCH_HTTP_THREADS:-2}

[auth]
token_secret_file = $dir/token_secret

[log]
level = warn
${extra//@PORT@/$BENCH_DAEMON_PORT}
INI
  "$BENCH_BUILD/bin/chatglmd" -c "$BENCH_DAEMON_INI" migrate > /dev/null
}

bench_daemon_serve() {
  bench_spawn "$BENCH_BUILD/bin/chatglmd" -c "$BENCH_DAEMON_INI" serve
  BENCH_DAEMON_PID=$BENCH_LAST_PID
  bench_wait_port "$BENCH_DAEMON_PORT" "$BENCH_DAEMON_PID"
}

bench_cli() { "$BENCH_BUILD/bin/chatglmd" -c "$BENCH_DAEMON_INI" "$@"; }

# chatglmd-sim on a free port (extra ARGS passed on); sets BENCH_SIM_PORT.
bench_sim_start() {
  bench_spawn "$BENCH_BUILD/bin/chatglmd-sim" --port 0 --port-file "$BENCH_TMP/sim.port" --threads 2 "$@"
  local pid=$BENCH_LAST_PID
  for _ in $(seq 200); do [ -s "$BENCH_TMP/sim.port" ] && break; sleep 0.05; done
  BENCH_SIM_PORT=$(cat "$BENCH_TMP/sim.port")
  bench_wait_port "$BENCH_SIM_PORT" "$pid"
}

# A chat daemon (not yet serving) relaying to the simulator on SIM_PORT with KEY, no rate
# limit, and a user "bench" with QUOTA chats; sets BENCH_TOKEN.
bench_glm_daemon_start() {  # SIM_PORT KEY QUOTA
  echo "$2" > "$BENCH_TMP/glm_key"
  bench_daemon_start "
[chatglm]
base_url = http://127.0.0.1:$1/api/paas/v4
api_key_file = $BENCH_TMP/glm_key
models = glm-4

[chat]
rate_limit = 0"
  bench_cli user add bench --quota "$3" --models glm-4 > /dev/null
  BENCH_TOKEN=$(bench_cli user token bench 2> /dev/null)
}
