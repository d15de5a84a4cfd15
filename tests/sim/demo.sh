#!/usr/bin/env bash
# `make demo`: chatglmd-sim (fake Alipay + fake ChatGLM) and `chatglmd serve` wired to it, on a
# fresh SQLite file under state/demo/, with the demo products, a demo user and a login code.
# Ctrl-C stops both.
set -euo pipefail
build="${1:-$(pwd)/build}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
state="${CHATGLMD_DEMO_STATE:-$root/state/demo}"
port="${CHATGLMD_DEMO_PORT:-8090}"
bin="$build/bin/chatglmd"
sim="$build/bin/chatglmd-sim"
fixtures="$root/tests/fixtures"
# chatglmd reads every CHATGLMD_* variable as a config key and refuses unknown ones.
unset CHATGLMD_DEMO_STATE CHATGLMD_DEMO_PORT

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "port $port is in use (another demo still running?); set CHATGLMD_DEMO_PORT to use another" >&2
  exit 1
fi
rm -rf "$state"
mkdir -p "$state"
chmod 700 "$state"
head -c 32 /dev/urandom | base64 > "$state/token_secret"
echo "sim-key-id.sim-key-secret" > "$state/chatglm_api_key"
wechat_token="demo-wechat-token"
echo "$wechat_token" > "$state/wechat_token"

"$sim" --port 0 --port-file "$state/sim.port" --chunk-delay-ms 40 \
  --alipay-key "$fixtures/ali_pkcs1.pem" --app-public-key "$fixtures/app_pub.pem" \
  --seller-id 2088102177649450 > "$state/sim.log" 2>&1 &
sim_pid=$!
daemon_pid=""
cleanup() {
  trap - INT TERM EXIT
  [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  kill -TERM "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null || true
  echo "demo stopped; state kept in $state"
}
trap cleanup INT TERM EXIT
for _ in $(seq 100); do [ -s "$state/sim.port" ] && break; sleep 0.1; done
sim_port=$(cat "$state/sim.port")

cat > "$state/chatglmd.ini" <<INI
[store]
path = $state/chatglmd.db
synchronous = NORMAL

[http]
listen = 127.0.0.1:$port
web_dir = $root/web

[auth]
token_secret_file = $state/token_secret
wechat_token_file = $state/wechat_token

[alipay]
gateway = http://127.0.0.1:$sim_port/gateway.do
app_id = 2021000000000001
private_key_file = $fixtures/app_pkcs1.pem
alipay_public_key_file = $fixtures/ali_pub.pem
seller_id = 2088102177649450
notify_url = http://127.0.0.1:$port/api/v1/sale/pay_notify
return_url = http://127.0.0.1:$port/
mode = page

[chatglm]
base_url = http://127.0.0.1:$sim_port/api/paas/v4
api_key_file = $state/chatglm_api_key
models = glm-3-turbo,glm-4

[chat]
rate_limit = 60
INI

cli() { "$bin" -c "$state/chatglmd.ini" "$@"; }
cli migrate > /dev/null
# The original project's demo catalogue, in fen-exact prices.
cli product add --id 1001 --name "体验包 10 次" --price 0.99 --quota 10 --models glm-3-turbo --desc "glm-3-turbo, 10 questions" --sort 1 > /dev/null
cli product add --id 1002 --name "标准包 100 次" --price 9.99 --quota 100 --models glm-3-turbo,glm-4 --desc "glm-3-turbo and glm-4, 100 questions" --sort 2 > /dev/null
cli product add --id 1003 --name "畅聊包 500 次" --price 39.90 --quota 500 --models glm-3-turbo,glm-4 --desc "glm-3-turbo and glm-4, 500 questions" --sort 3 > /dev/null
cli user add demo-user --quota 3 --models glm-3-turbo > /dev/null
cli words add 敏感词 badword > /dev/null

cli serve &
daemon_pid=$!
for _ in $(seq 100); do
  kill -0 "$daemon_pid" 2>/dev/null || { echo "chatglmd serve exited; see the log above" >&2; exit 1; }
  curl -fsS "http://127.0.0.1:$port/healthz" > /dev/null 2>&1 && break
  sleep 0.1
done

# Log in the way a WeChat user does: a text message to the official account answers a code.
ts=$(date +%s); nonce=$RANDOM
sig=$(printf '%s\n' "$wechat_token" "$ts" "$nonce" | sort | tr -d '\n' | sha1sum | cut -d' ' -f1)
reply=$(curl -fsS -X POST "http://127.0.0.1:$port/api/v1/wx/portal/demo?signature=$sig&timestamp=$ts&nonce=$nonce" \
  -H 'Content-Type: text/xml' \
  --data "<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><FromUserName><![CDATA[demo-user]]></FromUserName><CreateTime>$ts</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[login]]></Content></xml>")
code=$(printf '%s' "$reply" | sed -n 's/.*<Content><!\[CDATA\[[^0-9]*\([0-9]\{4,8\}\).*/\1/p')

cat <<MSG

chatglmd demo is serving:
  page        http://127.0.0.1:$port/
  login code  ${code:-?}   (valid 3 minutes; user demo-user, 3 chats, then buy more)
  token       $(cli user token demo-user)
  simulator   http://127.0.0.1:$sim_port  (fake Alipay pay page and fake ChatGLM)
  admin       $bin -c $state/chatglmd.ini order list
Ctrl-C stops both.
MSG
wait "$daemon_pid"
