// The page itself, wired to a fake API over a real local socket, in jsdom: login, models,
// streamed answer into #answer, refusal in #error, Stop, quota refresh, QR and form payment
// with the "payment received" notice, conversations. Skipped when jsdom is not installed
// (`npm install` in web/test/ brings it); app.test.mjs and vendor.test.mjs need nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let JSDOM = null;
try {
  ({ JSDOM } = await import('jsdom'));
} catch (e) {
  JSDOM = null;
}

// The fake back end: envelope endpoints, raw-text streaming, quota that rises after payment.
function fakeBackend() {
  const state = { surplus: 3, total: 3, polls: 0, payMode: 'qr', chatMode: 'stream', sawClose: false, chats: [] };
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    const env = (data, code = '0000', info = 'ok') => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ code, info, data }));
    };
    const authed = req.headers.authorization === 'Bearer TOKEN';
    switch (req.url) {
      case '/api/v1/auth/login':
        return body === 'code=123456' ? env('TOKEN') : env(null, '0003', 'login code is wrong or expired');
      case '/api/v1/sale/query_product_list':
        return env([
          { productId: 1, productName: '体验包', productDesc: '50 次对话', quota: 50, price: 9.99, priceFen: 999 },
          { productId: 2, productName: '畅聊包', productDesc: '', quota: 500, price: 50, priceFen: 5000 },
        ]);
      case '/v1/models':
        res.setHeader('Content-Type', 'application/json');
        return res.end(JSON.stringify({ object: 'list', data: [
          { id: 'glm-4-flash', object: 'model', owned_by: 'zhipu' }, { id: 'glm-4', object: 'model', owned_by: 'zhipu' }] }));
      case '/api/v1/account/query_account_quota':
        if (!authed) return env(null, '0003', '未授权');
        if (state.payMode === 'paying' && ++state.polls >= 2) {
          state.surplus += 50;
          state.total += 50;
          state.payMode = 'paid';
        }
        return env({ totalQuota: state.total, surplusQuota: state.surplus, modelTypes: 'glm-4', status: 0 });
      case '/api/v1/sale/create_pay_order':
        if (!authed) return env(null, '0003', '未授权');
        if (state.payMode === 'form') {
          return env('<form name="punchout_form" method="post" action="https://openapi.alipay.com/gateway.do?charset=utf-8">' +
            '<input type="hidden" name="biz_content" value="{&quot;out_trade_no&quot;:&quot;42&quot;}">' +
            '<input type="submit" value="立即支付" style="display:none"></form><script>document.forms[0].submit();</script>');
        }
        state.payMode = 'paying';
        state.polls = 0;
        return env('https://qr.alipay.com/bax08888' + 'x'.repeat(90));
      case '/api/v1/chatgpt/chat/completions': {
        const request = JSON.parse(body);
        state.chats.push(request);
        if (state.chatMode === 'refuse') return env(null, '0006', 'no chats left, buy more to continue');
        res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' });
        if (state.chatMode === 'hold') {
          res.on('close', () => { state.sawClose = true; });
          return res.write('部分');
        }
        state.surplus--;
        res.write('你好');
        return setImmediate(() => res.end('，' + request.model));
      }
      default: {
        const file = path.join(WEB, req.url === '/' ? 'index.html' : req.url.slice(1));
        if (!file.startsWith(WEB) || !fs.existsSync(file)) {
          res.statusCode = 404;
          return res.end();
        }
        const type = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html; charset=utf-8' };
        res.setHeader('Content-Type', type[path.extname(file)] || 'application/octet-stream');
        return res.end(fs.readFileSync(file));
      }
    }
  });
  return { server, state };
}

test('the chat and buy page against a fake back end', { skip: JSDOM ? false : 'jsdom not installed' }, async () => {
  const { server, state } = fakeBackend();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  let dom;
  const submitted = [];
  try {
    dom = await JSDOM.fromURL(base + '/', {
      runScripts: 'dangerously',
      resources: 'usable',
      pretendToBeVisual: true,
      beforeParse(w) {
        // What jsdom lacks and every browser has.
        w.fetch = (p, init) => fetch(new URL(p, base), init);
        w.TextDecoder = TextDecoder;
        w.TextEncoder = TextEncoder;
        w.AbortController = AbortController;
        w.HTMLFormElement.prototype.submit = function () {
          submitted.push({ action: this.action, target: this.target });
        };
        w.HTMLCanvasElement.prototype.getContext = function () {
          return { fillStyle: '', fillRect() {} };
        };
        // The payment watch polls every 2 s; compress the page's timers instead of waiting.
        const setTimer = w.setTimeout.bind(w);
        w.setTimeout = (fn, ms, ...args) => setTimer(fn, Math.min(ms || 0, 5), ...args);
      },
    });
    const w = dom.window;
    const d = w.document;
    const $ = (s) => d.querySelector(s);
    // Waits for the page to get somewhere (it talks to the server asynchronously).
    const until = async (predicate, what) => {
      const end = Date.now() + 15000;
      while (!predicate()) {
        if (Date.now() > end) assert.fail(`${what}; error=${$('#error').textContent} notice=${$('#notice').textContent}`);
        await new Promise((r) => setImmediate(r));
      }
    };

    await until(() => d.querySelectorAll('#products .buy').length === 2, 'products listed');
    assert.deepEqual([...d.querySelectorAll('#products .buy')].map((b) => b.dataset.productId), ['1', '2']);
    assert.match($('#products').textContent, /¥9\.99/);
    await until(() => $('#model').options.length === 2, 'models listed');

    $('#login-code').value = '999';
    $('#login-btn').click();
    await until(() => !$('#error').hidden, 'bad code refused');
    assert.equal($('#error').textContent, '验证码错误或已过期，请在公众号重新获取。');
    $('#login-code').value = '123456';
    $('#login-btn').click();
    await until(() => $('#quota').textContent === '3', 'quota after login');
    assert.equal(w.localStorage.getItem('chatglmd.token'), 'TOKEN');
    assert.equal($('#login-panel').hidden, true);

    $('#model').value = 'glm-4';
    $('#model').dispatchEvent(new w.Event('change'));
    $('#prompt').value = '你好吗';
    $('#send').click();
    await until(() => $('#answer') && !$('#answer').classList.contains('streaming') && $('#answer').textContent, 'answer');
    assert.equal($('#answer').textContent, '你好，glm-4');
    assert.ok($('#answer').classList.contains('msg-assistant'));
    await until(() => $('#quota').textContent === '2', 'quota refreshed after the answer');
    assert.deepEqual(state.chats[0], { model: 'glm-4', messages: [{ role: 'user', content: '你好吗' }] });

    state.chatMode = 'refuse';
    $('#prompt').value = '敏感问题';
    $('#send').click();
    await until(() => !$('#error').hidden, 'refusal shown');
    assert.equal($('#error').textContent, '对话次数已用完，请购买额度后继续。', 'the page says what the code means, in Chinese');
    assert.equal($('#prompt').value, '敏感问题', 'a refused question goes back to the prompt');

    state.chatMode = 'hold';
    $('#prompt').value = '讲个长故事';
    $('#send').click();
    await until(() => $('#answer').textContent === '部分', 'partial answer');
    assert.equal($('#stop').hidden, false);
    assert.equal($('#send').disabled, true);
    $('#stop').click();
    await until(() => $('#answer').classList.contains('stopped') && state.sawClose, 'stopped');
    assert.equal($('#send').disabled, false);
    assert.equal(d.querySelectorAll('.msg-assistant').length, 2);
    // The refused question was not sent again with the next one.
    assert.deepEqual(state.chats.at(-1).messages.map((m) => m.content), ['你好吗', '你好，glm-4', '讲个长故事']);

    d.querySelector('#products .buy[data-product-id="1"]').click();
    await until(() => $('#pay-area canvas') && $('#pay-area a'), 'QR shown');
    assert.match($('#pay-area a').href, /^https:\/\/qr\.alipay\.com\//);
    await until(() => /支付成功/.test($('#notice').textContent), 'payment received');
    assert.match($('#notice').textContent, /50/);
    assert.equal($('#quota').textContent, '52');

    state.payMode = 'form';
    d.querySelector('#products .buy[data-product-id="2"]').click();
    await until(() => $('#pay-area form'), 'pay form shown');
    const form = $('#pay-area form');
    assert.equal(form.action, 'https://openapi.alipay.com/gateway.do?charset=utf-8');
    assert.equal(form.target, '_blank');
    assert.equal(form.querySelector('input[name=biz_content]').value, '{"out_trade_no":"42"}');
    assert.equal(d.querySelectorAll('#pay-area script').length, 0);
    assert.deepEqual(submitted, [{ action: form.action, target: '_blank' }], 'submitted once, into a new tab');

    $('#new-conversation').click();
    assert.equal(d.querySelectorAll('#conversations li').length, 2);
    assert.equal(d.querySelectorAll('#messages .msg').length, 0);
    d.querySelector('#conversations li:not(.active) .conv-open').click();
    assert.ok(d.querySelectorAll('#messages .msg').length >= 4);
    d.querySelector('#conversations li.active .conv-delete').click();
    assert.equal(d.querySelectorAll('#conversations li').length, 1);

    $('#logout-btn').click();
    assert.equal(w.localStorage.getItem('chatglmd.token'), null);
    assert.equal($('#login-panel').hidden, false);
  } finally {
    if (dom) dom.window.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
