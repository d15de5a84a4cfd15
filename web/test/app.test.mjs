// The page logic that does not need a browser: the API envelope, streaming over a real local
// socket (chunks as they come, split characters, stop), conversations, the payment watch.
// Run: node --test web/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const App = require('../app.js');

// A local server whose handler the test supplies; closes itself when the test ends.
async function withServer(handler, body) {
  const server = http.createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    return await body(base);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function apiFor(base, token = 'tok-1') {
  return new App.Api((path, init) => fetch(base + path, init), () => token);
}

function readBody(req) {
  return new Promise((resolve) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { data += c; });
    req.on('end', () => resolve(data));
  });
}

function memoryStorage(initial = {}) {
  const map = new Map(Object.entries(initial));
  return {
    map,
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => map.set(k, String(v)),
    removeItem: (k) => map.delete(k),
  };
}

test('readEnvelope: ok, refusal, and non-envelope answers', async () => {
  const json = (obj, status = 200) => new Response(JSON.stringify(obj), { status, headers: { 'Content-Type': 'application/json' } });
  assert.deepEqual(await App.readEnvelope(json({ code: '0000', info: 'ok', data: 'T' })),
    { ok: true, code: '0000', info: 'ok', data: 'T' });
  const refused = await App.readEnvelope(json({ code: '0003', info: '未授权', data: null }));
  assert.equal(refused.ok, false);
  assert.equal(refused.code, '0003');
  assert.equal(refused.info, '未授权');
  const gateway = await App.readEnvelope(new Response('<html>bad gateway</html>', { status: 502 }));
  assert.equal(gateway.ok, false);
  assert.equal(gateway.code, 'HTTP502');
  assert.match(gateway.info, /502/);
  assert.equal((await App.readEnvelope(new Response('', { status: 413 }))).code, 'HTTP413');
});

test('login and order requests are forms with the bearer token', async () => {
  const seen = [];
  await withServer(async (req, res) => {
    seen.push({ url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body: await readBody(req) });
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ code: '0000', info: 'ok', data: req.url.endsWith('login') ? 'jwt' : '<form action="https://x/">' }));
  }, async (base) => {
    const api = apiFor(base);
    assert.equal((await api.login('123456')).data, 'jwt');
    assert.equal((await api.createOrder(7)).ok, true);
  });
  assert.equal(seen[0].url, '/api/v1/auth/login');
  assert.equal(seen[0].body, 'code=123456');
  assert.match(seen[0].type, /application\/x-www-form-urlencoded/);
  assert.equal(seen[1].url, '/api/v1/sale/create_pay_order');
  assert.equal(seen[1].body, 'productId=7');
  assert.equal(seen[1].auth, 'Bearer tok-1');
});

test('models come from the OpenAI-style list; failures give an empty list', async () => {
  await withServer((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ object: 'list', data: [{ id: 'glm-4', object: 'model', owned_by: 'zhipu' }, { id: 'glm-4-flash', object: 'model', owned_by: 'zhipu' }] }));
  }, async (base) => {
    assert.deepEqual(await apiFor(base).models(), ['glm-4', 'glm-4-flash']);
  });
  const down = new App.Api(() => Promise.reject(new Error('refused')), () => '');
  assert.deepEqual(await down.models(), []);
});

test('chat streams raw chunks as they arrive, keeping characters split across chunks whole', async () => {
  const text = '你好，世界！Hello 😀';
  const bytes = Buffer.from(text, 'utf8');
  let firstChunkSeen;
  const firstChunk = new Promise((resolve) => { firstChunkSeen = resolve; });
  let request;
  await withServer(async (req, res) => {
    request = { auth: req.headers.authorization, body: JSON.parse(await readBody(req)) };
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' });
    res.write(bytes.subarray(0, 4)); // '你' and the first byte of '好'
    await firstChunk; // the client saw text before the answer ended
    res.write(bytes.subarray(4, bytes.length - 2)); // ends inside the emoji
    res.end(bytes.subarray(bytes.length - 2));
  }, async (base) => {
    const pieces = [];
    const result = await apiFor(base).chat('glm-4', [{ role: 'user', content: 'hi' }], {
      onChunk: (p) => {
        pieces.push(p);
        firstChunkSeen();
      },
    });
    assert.deepEqual(result, { ok: true, text, stopped: false });
    assert.equal(pieces[0], '你');
    assert.equal(pieces.join(''), text);
    assert.ok(pieces.every((p) => !p.includes('\uFFFD')), 'no replacement characters');
  });
  assert.equal(request.auth, 'Bearer tok-1');
  assert.deepEqual(request.body, { model: 'glm-4', messages: [{ role: 'user', content: 'hi' }] });
});

test('chat refusals arrive as JSON envelopes and keep their info', async () => {
  await withServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ code: '0005', info: '对话额度已用完，请购买', data: null }));
  }, async (base) => {
    const result = await apiFor(base).chat('glm-4', [], {});
    assert.equal(result.ok, false);
    assert.equal(result.code, '0005');
    assert.equal(result.info, '对话额度已用完，请购买');
  });
});

test('stop aborts the stream, keeps the partial answer, and the server sees the close', async () => {
  let serverSawClose;
  const closed = new Promise((resolve) => { serverSawClose = resolve; });
  await withServer((req, res) => {
    res.on('close', serverSawClose);
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write('部分回答');
    // never ends by itself: only the client's abort finishes this exchange
  }, async (base) => {
    const controller = new AbortController();
    const result = await apiFor(base).chat('glm-4', [], {
      signal: controller.signal,
      onChunk: () => controller.abort(),
    });
    assert.deepEqual(result, { ok: true, text: '部分回答', stopped: true });
    await closed;
  });
});

test('a network failure is a clear refusal, not an exception', async () => {
  const api = new App.Api(() => Promise.reject(new TypeError('fetch failed')), () => 't');
  const result = await api.chat('glm-4', [], {});
  assert.equal(result.ok, false);
  assert.equal(result.code, 'NETWORK');
  assert.match(result.info, /fetch failed/);
  assert.equal((await api.quota()).code, 'NETWORK');
});

test('pay data: QR URL, form HTML, or nothing usable', () => {
  assert.deepEqual(App.classifyPayData(' https://qr.alipay.com/abc '), { kind: 'qr', url: 'https://qr.alipay.com/abc' });
  const html = '<form name="punchout_form" method="post" action="https://openapi.alipay.com/gateway.do?x=1"></form><script>document.forms[0].submit();</script>';
  assert.equal(App.classifyPayData(html).kind, 'form');
  assert.equal(App.classifyPayData('').kind, 'none');
  assert.equal(App.classifyPayData(null).kind, 'none');
  assert.equal(App.classifyPayData('javascript:alert(1)').kind, 'none');
});

test('the pay form is rebuilt from its action and fields only', () => {
  const fakeForm = (attrs, inputs) => ({
    getAttribute: (n) => attrs[n] ?? null,
    querySelectorAll: () => inputs.map(([name, value]) => ({ getAttribute: (n) => (n === 'name' ? name : value), value })),
  });
  const parsed = App.extractPayForm('ignored', () => ({
    querySelector: () => fakeForm({ action: 'https://openapi.alipay.com/gateway.do?charset=utf-8', method: 'POST' },
      [['biz_content', '{"out_trade_no":"1"}']]),
  }));
  assert.deepEqual(parsed, {
    action: 'https://openapi.alipay.com/gateway.do?charset=utf-8',
    method: 'post',
    fields: [['biz_content', '{"out_trade_no":"1"}']],
  });
  assert.equal(App.extractPayForm('x', () => ({ querySelector: () => fakeForm({ action: 'javascript:x' }, []) })), null);
  assert.equal(App.extractPayForm('x', () => ({ querySelector: () => null })), null);
});

test('conversations: create, name, persist, switch, delete', () => {
  const storage = memoryStorage();
  const store = new App.ConversationStore(storage);
  assert.equal(store.current(), null);
  const a = store.create();
  store.append(a.id, 'user', '如何学习 C++？\n请详细说明');
  store.append(a.id, 'assistant', '从基础开始。');
  assert.equal(store.get(a.id).title, '如何学习 C++？');
  const b = store.create();
  assert.equal(store.currentId, b.id);

  const reloaded = new App.ConversationStore(storage);
  assert.equal(reloaded.currentId, b.id);
  assert.deepEqual(reloaded.get(a.id).messages, [
    { role: 'user', content: '如何学习 C++？\n请详细说明' },
    { role: 'assistant', content: '从基础开始。' },
  ]);
  assert.ok(reloaded.select(a.id));
  assert.equal(reloaded.select('missing'), false);
  reloaded.remove(a.id);
  assert.equal(reloaded.get(a.id), null);
  assert.equal(reloaded.currentId, b.id);
  reloaded.remove(b.id);
  assert.equal(reloaded.currentId, null);
  assert.equal(storage.getItem(App.KEYS.current), null);
});

test('a refused question can be taken back from the conversation', () => {
  const store = new App.ConversationStore(memoryStorage());
  const c = store.create();
  store.append(c.id, 'user', 'q1');
  store.append(c.id, 'assistant', 'a1');
  assert.equal(store.removeLast(c.id, 'user'), null);
  store.append(c.id, 'user', 'refused one');
  assert.deepEqual(store.removeLast(c.id, 'user'), { role: 'user', content: 'refused one' });
  assert.deepEqual(store.get(c.id).messages.map((m) => m.content), ['q1', 'a1']);
});

test('conversations survive corrupt and full storage, and keep at most 50', () => {
  const corrupt = new App.ConversationStore(memoryStorage({ [App.KEYS.conversations]: '{not json' }));
  assert.deepEqual(corrupt.list(), []);

  const full = memoryStorage();
  full.setItem = () => { throw new Error('QuotaExceededError'); };
  const store = new App.ConversationStore(full);
  const c = store.create();
  assert.ok(store.append(c.id, 'user', 'still works'));

  const many = new App.ConversationStore(memoryStorage());
  for (let i = 0; i < 60; i++) many.create();
  assert.equal(many.list().length, 50);
});

test('history sent with a question is recent, bounded, and starts with the user', () => {
  const messages = [];
  for (let i = 0; i < 30; i++) messages.push({ role: i % 2 ? 'assistant' : 'user', content: 'm' + i });
  const history = App.historyFor(messages);
  assert.ok(history.length <= 20);
  assert.equal(history[0].role, 'user');
  assert.equal(history.at(-1).content, 'm29');
  const big = [{ role: 'user', content: 'x'.repeat(70000) }, { role: 'assistant', content: 'a' }, { role: 'user', content: 'q' }];
  assert.deepEqual(App.historyFor(big), [{ role: 'user', content: 'q' }]);
});

// Fake timers and clock: the watcher runs its whole 10 minutes without waiting.
function fakeTime() {
  let now = 0;
  let pending = null;
  return {
    now: () => now,
    setTimer: (fn, ms) => {
      assert.equal(pending, null, 'one timer at a time');
      pending = { fn, at: now + ms };
      return 1;
    },
    clearTimer: () => { pending = null; },
    pending: () => pending,
    async fire() {
      const p = pending;
      pending = null;
      now = p.at;
      await p.fn();
    },
  };
}

test('payment watch: notices the quota rise, then stops polling', async () => {
  const time = fakeTime();
  const answers = [{ surplusQuota: 5 }, null, { surplusQuota: 5 }, { surplusQuota: 55, totalQuota: 105 }];
  let polls = 0;
  let paid = null;
  const watcher = new App.PaymentWatcher({
    fetchQuota: async () => answers[polls++],
    onPaid: (added, q) => { paid = { added, q }; },
    onTimeout: () => assert.fail('no timeout expected'),
    ...time,
  });
  watcher.start(5);
  while (time.pending()) {
    assert.equal(time.pending().at - time.now(), 2000);
    await time.fire();
  }
  assert.equal(polls, 4);
  assert.deepEqual(paid, { added: 50, q: { surplusQuota: 55, totalQuota: 105 } });
});

test('payment watch: gives up after 10 minutes of 2 s polls; stop cancels', async () => {
  const time = fakeTime();
  let polls = 0;
  let timeouts = 0;
  const watcher = new App.PaymentWatcher({
    fetchQuota: async () => { polls++; return { surplusQuota: 3 }; },
    onPaid: () => assert.fail('not paid'),
    onTimeout: () => { timeouts++; },
    ...time,
  });
  watcher.start(3);
  while (time.pending()) await time.fire();
  assert.equal(timeouts, 1);
  assert.equal(polls, 300);
  assert.equal(time.now(), 10 * 60 * 1000);

  watcher.start(3);
  assert.ok(time.pending());
  watcher.stop();
  assert.equal(time.pending(), null);
});

test('prices show two decimals, from fen when given', () => {
  assert.equal(App.formatPrice({ priceFen: 999, price: 9.99 }), '9.99');
  assert.equal(App.formatPrice({ price: 10 }), '10.00');
  assert.equal(App.formatPrice({ priceFen: 5 }), '0.05');
});
