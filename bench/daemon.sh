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
