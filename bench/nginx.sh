# nginx as the benchmarks' peer (Debian nginx-light), set up as /work/shared/reference/peers.md
# says: one worker, worker_connections 16384, access_log off, keepalive_requests 1000000,
# 127.0.0.1 with backlog=4096; its prefix, config, pid and logs in a temp folder.
# bench_nginx_start PORT LOCATIONS [HTTP]: LOCATIONS is the text of the server block's locations,
# HTTP more text for the http block (an upstream).
bench_nginx_start() {
  local port=$1 locations=$2 http_extra=${3:-} dir="$BENCH_TMP/nginx-$1"
  command -v nginx > /dev/null || { echo "nginx is not installed (make bench-deps)" >&2; return 1; }
  mkdir -p "$dir/logs"
  cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile 65536;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
$http_extra
  server {
    listen 127.0.0.1:$port backlog=4096;
$locations
  }
}
CONF
  bench_spawn nginx -p "$dir" -e "$dir/logs/error.log" -c "$dir/nginx.conf" -g 'daemon off;'
  bench_wait_port "$port" "$BENCH_LAST_PID"
}

# Requests/s that wrk reports for URL (wrk -t2 -c100 -d SECONDS --latency, as for every peer).
bench_wrk() {
  command -v wrk > /dev/null || { echo "wrk is not installed (make bench-deps)" >&2; return 1; }
  wrk -t2 -c100 -d"$2"s --latency "$1" | awk '/^Requests\/sec:/ { printf "%.0f", $2 }'
}
