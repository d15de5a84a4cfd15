#!/usr/bin/env bash
# Several nodes on one PostgreSQL (issue 11 item 10), beside SQLite in the same run:
#  - durable notifies through POST /api/v1/sale/pay_notify (as bench/rows/notify.sh: RSA2 verify,
#    save, PAID, deliver), 64 keep-alive connections spread over 1 or 3 `serve` nodes sharing
#    the PostgreSQL store; the peer is one `serve` on SQLite (synchronous=FULL) on the same disk;
#  - the timeout-close drain (as bench/rows/sweep.sh: chatglmd-sim answering after 20 ms,
#    concurrency 16, batch 256) by 1 or 3 `jobs run timeout-close` one-shots at once, which
#    claim the overdue orders per item; the peer is the same drain on SQLite (one runner: the job
#    lease keeps the others out there).
# The PostgreSQL server is a throwaway cluster started here (initdb + pg_ctl in a temp folder,
# as `nobody` when run as root, on a free port of 127.0.0.1, fsync on) and stopped when the row
# ends, also when it fails. No target: the figures are recorded beside their peers.
# Skipped (77) when the PostgreSQL server binaries are not installed or chatglmd was built
# without the PostgreSQL backend.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../daemon.sh"
count=4000 latency_ms=20 overdue=2000 fresh=18000
[ "$BENCH_QUICK" = 1 ] && count=300 overdue=200 fresh=800
fixtures="$BENCH_ROOT/tests/fixtures"

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -n 1)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  echo "  PostgreSQL server binaries not installed (make deps installs postgresql): row skipped" >&2
  exit 77
fi
if ! grep -q '^CHATGLMD_POSTGRES:BOOL=ON' "$BENCH_BUILD/CMakeCache.txt" 2> /dev/null; then
  echo "  chatglmd built without the PostgreSQL backend (CHATGLMD_POSTGRES): row skipped" >&2
  exit 77
fi

# The server refuses to run as root: as `nobody` then, in a folder of its own.
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/chatglmd-bench-pg.XXXXXX")
as_pg() { (cd "$pg_dir" && if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi); }
[ "$(id -u)" = 0 ] && chown nobody "$pg_dir"
pg_stop() {
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop > /dev/null 2>&1 || true
  rm -rf "$pg_dir"
}
trap 'pg_stop; bench_cleanup' EXIT
as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust > "$pg_dir/initdb.log" 2>&1 ||
  { cat "$pg_dir/initdb.log" >&2; exit 1; }
pg_port=$(bench_free_port)
as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
  -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=200" start > /dev/null ||
  { cat "$pg_dir/log" >&2; exit 1; }

pg_database() {  # NAME: a new empty database; prints its url
  "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres "$1"
  echo "postgresql://postgres@127.0.0.1:$pg_port/$1"
}

# node_ini DIR STORE_LINE PORT EXTRA: one node's config (the store shared, the rest its own);
# STORE_LINE is "url = postgresql://..." or "path = FILE".
node_ini() {
  mkdir -p "$1"
  head -c 32 /dev/urandom | base64 > "$1/token_secret"
  cat > "$1/chatglmd.ini" << INI
[store]
$2

[http]
listen = 127.0.0.1:$3

[auth]
token_secret_file = $1/token_secret

[log]
level = warn

[alipay]
app_id = 2021000000000001
private_key_file = $fixtures/app_pkcs1.pem
alipay_public_key_file = $fixtures/ali_pub.pem
seller_id = 2088102177649450
notify_url = http://127.0.0.1:$3/api/v1/sale/pay_notify
$4
INI
}

chatglmd() { "$BENCH_BUILD/bin/chatglmd" "$@"; }
count_status() {  # INI STATUS
  chatglmd -c "$1" order list --status "$2" --limit 1000000 --json | grep -o '"orderId"' | wc -l
}

# Notifies/s through NODES serve nodes on one fresh PostgreSQL database, into $result. Not run
# in a subshell, so the nodes are stopped by the EXIT trap when it fails.
pg_notify() {
  local nodes=$1 dir="$BENCH_TMP/pgn$1-$RANDOM" url ports="" pids=() i port
  url=$(pg_database "n$1_$RANDOM")
  for i in $(seq "$nodes"); do
    port=$(bench_free_port)
    node_ini "$dir/$i" "url = $url" "$port" "gateway = http://127.0.0.1:9/gateway.do"
    [ "$i" = 1 ] && chatglmd -c "$dir/1/chatglmd.ini" migrate > /dev/null
    ports="${ports:+$ports,}$port"
  done
  chatglmd -c "$dir/1/chatglmd.ini" product add --id 1002 --name "100 chats" --price 9.99 \
    --quota 100 --models glm-4 > /dev/null
  "$BENCH_BUILD/bin/bench_notify_load" prepare "$url" "$count" "$dir/ids"
  for i in $(seq "$nodes"); do
    bench_spawn "$BENCH_BUILD/bin/chatglmd" -c "$dir/$i/chatglmd.ini" serve
    pids+=("$BENCH_LAST_PID")
    bench_wait_port "$(cut -d, -f"$i" <<< "$ports")" "$BENCH_LAST_PID"
  done
  local rate delivered
  rate=$("$BENCH_BUILD/bin/bench_notify_load" fire "$ports" "$dir/ids" 64)
  for i in "${pids[@]}"; do bench_stop "$i"; done
  delivered=$(count_status "$dir/1/chatglmd.ini" delivered)
  [ "$delivered" = "$count" ] || { echo "only $delivered of $count orders delivered" >&2; exit 1; }
  result=$rate
}

# The same on one SQLite serve (synchronous=FULL), the peer.
sqlite_notify() {
  local saved=$BENCH_TMP rate delivered
  BENCH_TMP="$BENCH_TMP/sqn-$RANDOM"
  mkdir -p "$BENCH_TMP"
  bench_daemon_start "
[alipay]
gateway = http://127.0.0.1:9/gateway.do
app_id = 2021000000000001
private_key_file = $fixtures/app_pkcs1.pem
alipay_public_key_file = $fixtures/ali_pub.pem
seller_id = 2088102177649450
notify_url = http://127.0.0.1:@PORT@/api/v1/sale/pay_notify"
  bench_cli product add --id 1002 --name "100 chats" --price 9.99 --quota 100 --models glm-4 > /dev/null
  "$BENCH_BUILD/bin/bench_notify_load" prepare "$BENCH_TMP/daemon/chatglmd.db" "$count" "$BENCH_TMP/ids"
  bench_daemon_serve
  rate=$("$BENCH_BUILD/bin/bench_notify_load" fire "$BENCH_DAEMON_PORT" "$BENCH_TMP/ids" 64)
  bench_stop "$BENCH_DAEMON_PID"
  delivered=$(bench_cli order list --status delivered --limit 1000000 --json | grep -o '"orderId"' | wc -l)
  BENCH_TMP=$saved
  [ "$delivered" = "$count" ] || { echo "only $delivered of $count orders delivered" >&2; exit 1; }
  result=$rate
}

bench_spawn "$BENCH_BUILD/bin/chatglmd-sim" --port 0 --port-file "$BENCH_TMP/sim.port" --threads 2 \
  --alipay-key "$fixtures/ali_pkcs1.pem" --app-public-key "$fixtures/app_pub.pem" \
  --seller-id 2088102177649450
sim_pid=$BENCH_LAST_PID
for _ in $(seq 200); do [ -s "$BENCH_TMP/sim.port" ] && break; sleep 0.05; done
sim_port=$(cat "$BENCH_TMP/sim.port")
bench_wait_port "$sim_port" "$sim_pid"
curl -fsS -X POST -H 'Content-Type: application/json' \
  --data "{\"kind\":\"latency\",\"delay_ms\":$latency_ms}" "http://127.0.0.1:$sim_port/sim/alipay/fault" > /dev/null
drain_keys="gateway = http://127.0.0.1:$sim_port/gateway.do

[jobs.timeout-close]
concurrency = 16
batch = 256
budget = 10m"

# Closes/s of NODES `jobs run timeout-close` at once over one store, into $result: STORE is
# "sqlite" or "pg".
drain() {
  local store=$1 nodes=$2 dir="$BENCH_TMP/drain-$1-$2-$RANDOM" target line i start end closed
  local pids=() failed=0
  if [ "$store" = pg ]; then
    target=$(pg_database "d$2_$RANDOM")
    line="url = $target"
  else
    target="$dir/1/chatglmd.db"
    line="path = $target"
  fi
  for i in $(seq "$nodes"); do node_ini "$dir/$i" "$line" "$(bench_free_port)" "$drain_keys"; done
  chatglmd -c "$dir/1/chatglmd.ini" migrate > /dev/null
  "$BENCH_BUILD/bin/bench_notify_load" prepare "$target" "$fresh" "$dir/ids" 0
  "$BENCH_BUILD/bin/bench_notify_load" prepare "$target" "$overdue" "$dir/ids" 31
  start=$(date +%s.%N)
  for i in $(seq "$nodes"); do
    chatglmd -c "$dir/$i/chatglmd.ini" jobs run timeout-close > /dev/null &
    pids+=("$!")
  done
  for i in "${pids[@]}"; do wait "$i" || failed=1; done
  end=$(date +%s.%N)
  [ "$failed" = 0 ] || { echo "a jobs run timeout-close failed" >&2; exit 1; }
  closed=$(count_status "$dir/1/chatglmd.ini" closed)
  [ "$closed" = "$overdue" ] || { echo "closed $closed of $overdue overdue orders" >&2; exit 1; }
  result=$(awk -v n="$closed" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }')
}

declare -A values
for run in $(seq "$BENCH_RUNS"); do
  bench_wait_quiet
  sqlite_notify
  values[sq_notify]+=" $result"
  pg_notify 1
  values[pg_notify1]+=" $result"
  pg_notify 3
  values[pg_notify3]+=" $result"
  drain sqlite 1
  values[sq_drain]+=" $result"
  drain pg 1
  values[pg_drain1]+=" $result"
  drain pg 3
  values[pg_drain3]+=" $result"
  echo "  run $run: notifies/s: SQLite ${values[sq_notify]##* }, PostgreSQL 1 node ${values[pg_notify1]##* }, 3 nodes ${values[pg_notify3]##* }; closes/s: SQLite ${values[sq_drain]##* }, PostgreSQL 1 node ${values[pg_drain1]##* }, 3 nodes ${values[pg_drain3]##* }"
done

# figure KEY PEER_KEY NAME UNIT PEER_NAME
figure() {
  local ours peer ratios=() i
  read -ra ours <<< "${values[$1]}"
  read -ra peer <<< "${values[$2]}"
  for i in "${!ours[@]}"; do ratios+=("$(bench_ratio "${ours[$i]}" "${peer[$i]}")"); done
  bench_figure postgres "$3" "$4" "$(bench_median "${ours[@]}")" "$5" "$(bench_median "${peer[@]}")" \
    "$(bench_median "${ratios[@]}")" - "$(bench_spread "${ratios[@]}")" none
}
figure pg_notify1 sq_notify "durable notifies, PG, 1 node" /s "SQLite FULL, 1 node"
figure pg_notify3 sq_notify "durable notifies, PG, 3 nodes" /s "SQLite FULL, 1 node"
figure pg_drain1 sq_drain "timeout-close drain, PG, 1 node" closes/s "SQLite, 1 runner"
figure pg_drain3 sq_drain "timeout-close drain, PG, 3 nodes" closes/s "SQLite, 1 runner"
bench_done
