#!/usr/bin/env bash
# GET /api/v1/sale/query_product_list under wrk -t2 -c100, beside nginx (1 worker) returning the
# very same JSON with `return 200`. Target: >= 0.5x nginx's requests/s.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../nginx.sh"
source "$(dirname "$0")/../daemon.sh"
bench_need nginx wrk
secs=10; [ "$BENCH_QUICK" = 1 ] && secs=1
bench_daemon_start
bench_cli product add --id 1001 --name "体验包 10 次" --price 0.99 --quota 10 --models glm-3-turbo --desc "glm-3-turbo, 10 questions" --sort 1 > /dev/null
bench_cli product add --id 1002 --name "标准包 100 次" --price 9.99 --quota 100 --models glm-3-turbo,glm-4 --desc "glm-3-turbo and glm-4, 100 questions" --sort 2 > /dev/null
bench_cli product add --id 1003 --name "畅聊包 500 次" --price 39.90 --quota 500 --models glm-3-turbo,glm-4 --desc "500 questions" --sort 3 > /dev/null
bench_daemon_serve
url="http://127.0.0.1:$BENCH_DAEMON_PORT/api/v1/sale/query_product_list"
json=$(curl -fsS "$url")
case "$json" in *"'"* | *'$'* | *'\'*) echo "the JSON needs quoting for nginx: $json" >&2; exit 1 ;; esac
nginx_port=$(bench_free_port)
bench_nginx_start "$nginx_port" "    location = /tiny.json { default_type application/json; return 200 '$json'; }"
peer_url="http://127.0.0.1:$nginx_port/tiny.json"
[ "$(curl -fsS "$peer_url")" = "$json" ] || { echo "nginx does not answer the same JSON" >&2; exit 1; }

ours=() peer=() ratios=()
for _ in $(seq "$BENCH_RUNS"); do
  bench_wait_quiet
  a=$(bench_wrk "$url" "$secs")
  b=$(bench_wrk "$peer_url" "$secs")
  ours+=("$a") peer+=("$b") ratios+=("$(bench_ratio "$a" "$b")")
done
bench_figure product_list "query_product_list" req/s "$(bench_median "${ours[@]}")" \
  "nginx return 200, 1 worker" "$(bench_median "${peer[@]}")" "$(bench_median "${ratios[@]}")" 0.5 \
  "$(bench_spread "${ratios[@]}")"
bench_done
