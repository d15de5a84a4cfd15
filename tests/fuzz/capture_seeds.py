#!/usr/bin/env python3
"""Captures real seed inputs from chatglmd-sim into tests/fuzz/corpus/: an SSE chat stream, the
chat request that asked for it, signed gateway answers (query, precreate, close, refund query) and
a signed notify as the sim delivers it. Run once after changing the sim, then minimise with
`make fuzz-merge`. Usage: capture_seeds.py BUILD_DIR"""
import base64, hashlib, hmac, http.client, http.server, json, os, subprocess, sys, tempfile
import threading, time, urllib.parse
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
CORPUS = os.path.join(HERE, "corpus")
APP_ID = "2021000000000001"
# The first byte of a gateway_answer input chooses the method (gateway_answer_fuzz.cpp).
METHODS = ["alipay.trade.query", "alipay.trade.close", "alipay.trade.precreate",
           "alipay.trade.fastpay.refund.query"]


def save(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def zhipu_token(key_id, secret):
    now = int(time.time() * 1000)
    header = b64url(json.dumps({"alg": "HS256", "sign_type": "SIGN"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps({"api_key": key_id, "exp": now + 600000, "timestamp": now},
                                separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(sig)}"


def request(port, method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


class Receiver(http.server.BaseHTTPRequestHandler):
    bodies = []

    def do_POST(self):
        Receiver.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"success")

    def log_message(self, *args):
        pass


def main(build):
    with open(os.path.join(FIXTURES, "app_pkcs8.pem"), "rb") as f:
        app_key = serialization.load_pem_private_key(f.read(), password=None)
    tmp = tempfile.mkdtemp()
    port_file = os.path.join(tmp, "port")
    sim = subprocess.Popen([os.path.join(build, "bin", "chatglmd-sim"), "--port-file", port_file,
                            "--exit-after-idle", "30",
                            "--alipay-key", os.path.join(FIXTURES, "ali_pkcs1.pem"),
                            "--app-public-key", os.path.join(FIXTURES, "app_pub.pem"),
                            "--seller-id", "2088000000000001"])
    try:
        for _ in range(100):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        port = int(open(port_file).read())

        chat = json.dumps({"model": "glm-4", "stream": True, "messages": [
            {"role": "system", "content": "你是一个助手"},
            {"role": "user", "content": "你好, tell me a story with emoji 🐉"}]},
            ensure_ascii=False).encode()
        save("chat_request", "sim_chat", chat)
        status, sse = request(port, "POST", "/api/paas/v4/chat/completions", chat, {
            "Authorization": "Bearer " + zhipu_token("sim-key-id", "sim-key-secret"),
            "Content-Type": "application/json"})
        assert status == 200, (status, sse)
        save("sse", "sim_stream", b"\x03\x05\x11\x2f" + sse)  # three cuts, then the stream

        server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        notify_url = f"http://127.0.0.1:{server.server_port}/alipay/notify"
        trade = {"out_trade_no": "202401020001", "total_amount": "9.99", "app_id": APP_ID,
                 "notify_url": notify_url, "status": "TRADE_SUCCESS"}
        request(port, "POST", "/sim/alipay/trade", json.dumps(trade).encode())
        request(port, "POST", "/sim/alipay/notify", b'{"out_trade_no":"202401020001"}')
        for _ in range(100):
            if Receiver.bodies:
                break
            time.sleep(0.1)
        server.shutdown()
        save("notify", "sim_notify", Receiver.bodies[0])
        save("form", "sim_notify", Receiver.bodies[0])

        biz = {"alipay.trade.query": {"out_trade_no": "202401020001"},
               "alipay.trade.close": {"out_trade_no": "202401020001"},
               "alipay.trade.precreate": {"out_trade_no": "202401020002", "total_amount": "9.99",
                                          "subject": "会员 A&B"},
               "alipay.trade.fastpay.refund.query": {"out_trade_no": "202401020001",
                                                     "out_request_no": "R1"}}
        for index, method in enumerate(METHODS):
            params = {"app_id": APP_ID, "method": method, "charset": "utf-8", "sign_type": "RSA2",
                      "timestamp": "2024-01-02 03:04:05", "version": "1.0",
                      "biz_content": json.dumps(biz[method], ensure_ascii=False)}
            content = "&".join(f"{k}={params[k]}" for k in sorted(params))
            signature = app_key.sign(content.encode(), padding.PKCS1v15(), hashes.SHA256())
            params["sign"] = base64.b64encode(signature).decode()
            body = urllib.parse.urlencode(params).encode()
            if index == 0:
                save("form", "gateway_request", body)
                save("http_request", "gateway_request",
                     b"POST /gateway.do HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     b"application/x-www-form-urlencoded;charset=utf-8\r\nContent-Length: " +
                     str(len(body)).encode() + b"\r\n\r\n" + body)
            status, answer = request(port, "POST", "/gateway.do", body,
                                     {"Content-Type": "application/x-www-form-urlencoded"})
            assert status == 200, (status, answer)
            save("gateway_answer", "sim_" + method.replace(".", "_"), bytes([index]) + answer)
    finally:
        sim.terminate()
        sim.wait()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build")
