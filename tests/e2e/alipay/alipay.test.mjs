// Cross-check of chatglmd's Alipay code against the official alipay-sdk 4.14.0.
//   (a) sdkExecute signatures equal ours (chatglmd-paytool sign) for awkward values
//   (b) checkNotifySignV2 accepts the notifies chatglmd-sim sends
//   (c) our notify verifier accepts node-signed notifies the SDK accepts, and rejects altered ones
//   (d) exec(..., {validateSign: true}) accepts chatglmd-sim's answers
//   (e) our alipay.trade.refund request is the one sdkExecute signs, and the SDK accepts the
//       sim's refund and refund-query answers
// Binaries come from $CHATGLMD_BUILD_DIR/bin (default ../../../build/bin).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { createSign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AlipaySdk } from 'alipay-sdk';

const here = dirname(fileURLToPath(import.meta.url));
const buildDir = resolve(here, process.env.CHATGLMD_BUILD_DIR ?? '../../../build');
const fixtures = resolve(here, '../../fixtures');
const paytool = resolve(buildDir, 'bin/chatglmd-paytool');
const simBin = resolve(buildDir, 'bin/chatglmd-sim');
const key = (name) => readFileSync(resolve(fixtures, name), 'utf8');
const bare = (pem) => pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');

const APP_ID = '2021000000000001';
const SELLER_ID = '2088102177649450';

function tool(command, input) {
  const out = execFileSync(paytool, [command], { input: JSON.stringify(input) });
  return JSON.parse(out.toString('utf8'));
}

function sdk(gateway = 'https://openapi.alipay.com/gateway.do') {
  return new AlipaySdk({
    appId: APP_ID,
    privateKey: bare(key('app_pkcs1.pem')),  // bare base64, as the console shows it
    alipayPublicKey: bare(key('ali_pub.pem')),
    gateway,
    timeout: 5000,
  });
}

// ---- (a) request signatures ----

const awkward = [
  { outTradeNo: 'ORDER-0001', totalAmount: '88.88', subject: '测试商品 A&B', productCode: 'FAST_INSTANT_TRADE_PAY' },
  { outTradeNo: 'A+B', totalAmount: '0.01', subject: '100% off & more + spaces  here', body: 'a=b&c=d?e' },
  { outTradeNo: '中文单号', totalAmount: '100000000.00', subject: '"quoted" \\ back\\slash / slash', passbackParams: '%41%' },
];

test('(a) sdkExecute and chatglmd sign the same bytes with the same signature', () => {
  assert.ok(existsSync(paytool), `build ${paytool} first`);
  for (const bizContent of awkward) {
    const query = sdk().sdkExecute('alipay.trade.page.pay', {
      timestamp: '2024-01-02 03:04:05',
      notifyUrl: 'https://example.com/alipay/notify',
      returnUrl: 'https://example.com/return?a=1&b=2',
      bizContent,
    });
    const params = Object.fromEntries(new URLSearchParams(query));
    const sdkSign = params.sign;
    delete params.sign;
    for (const keyFile of ['app_pkcs1.pem', 'app_pkcs8.pem']) {
      const ours = tool('sign', { private_key_file: resolve(fixtures, keyFile), params });
      assert.equal(ours.sign, sdkSign, `${keyFile} ${JSON.stringify(bizContent)}`);
    }
  }
});

test('(a) protocols.md vector 1 comes out of the SDK and of chatglmd alike', () => {
  const query = sdk().sdkExecute('alipay.trade.page.pay', {
    timestamp: '2024-01-02 03:04:05',
    notifyUrl: 'https://example.com/alipay/notify',
    returnUrl: 'https://example.com/return?a=1&b=2',
    bizContent: awkward[0],
  });
  const params = Object.fromEntries(new URLSearchParams(query));
  const vector1 = 'cltuaP4e9Qc/UV81ygAobxhYF1TfzYtvwcfnvF1yfGuq260ck9gZQ31bKwwQmrxF+iR3emXFzDbMxmv3qRvzUNVaOQPV0El0z8eO5PoMl+/Si3/fKJfBhNG2bqdh03KGKei42uJz4ra2wDG3bw3BrCBScZxBl9duMwRX0j+nK6IepX0jZNpMdjQWkGvRIS6myxn9Ax9MfymJDcjd0Et5isQJPNXXdpWO0PF0W2aFXxrF6eMo7Il4I3+5bLKFn/HEbkgejbVgctMO7oMaXIhLBbXMHlW61jt2SLRV5QJ28Q9UVL0mgCFJB1Kct61gcdVTadpQ52fljAwa+8r1rEH4Mw==';
  assert.equal(params.sign, vector1);
  delete params.sign;
  assert.equal(tool('sign', { private_key_file: resolve(fixtures, 'app_pkcs1.pem'), params }).sign, vector1);
});

// ---- (c) notifies signed in node ----

// Alipay's rule: drop sign and sign_type, drop empties, sort, join raw, SHA256withRSA.
function signNotify(fields, privatePem) {
  const content = Object.keys(fields)
    .filter((k) => k !== 'sign' && k !== 'sign_type' && fields[k] !== '')
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join('&');
  const sign = createSign('RSA-SHA256').update(content, 'utf8').sign(privatePem, 'base64');
  return { ...fields, sign, sign_type: 'RSA2' };
}

function notifyFields(overrides = {}) {
  return {
    gmt_create: '2024-01-02 03:04:10', charset: 'utf-8', seller_email: 'seller@example.com',
    subject: '测试商品 A+B 100% & more', buyer_id: '2088102177846880', notify_id: 'N-1',
    fund_bill_list: '[{"amount":"9.99","fundChannel":"ALIPAYACCOUNT"}]', notify_type: 'trade_status_sync',
    trade_status: 'TRADE_SUCCESS', app_id: APP_ID, seller_id: SELLER_ID,
    gmt_payment: '2024-01-02 03:04:15', notify_time: '2024-01-02 03:04:16', version: '1.0',
    out_trade_no: '100000000001', total_amount: '9.99', trade_no: '2024010222001446880500000001',
    ...overrides,
  };
}

const verifyOurs = (form, order = { out_trade_no: '100000000001', total_amount: '9.99' }) =>
  tool('verify-notify', {
    public_key_file: resolve(fixtures, 'ali_pub.pem'), body: form.toString(), app_id: APP_ID,
    seller_id: SELLER_ID, order,
  });

test('(c) chatglmd accepts notifies the SDK accepts, and rejects altered ones', () => {
  const signed = signNotify(notifyFields(), key('ali_pkcs1.pem'));
  assert.equal(sdk().checkNotifySignV2(signed), true);
  const form = new URLSearchParams(signed);  // encodes space as +, as Alipay does
  const ours = verifyOurs(form);
  assert.equal(ours.signature_ok, true);
  assert.equal(ours.verdict, 'ok');

  for (const [k, v] of [['total_amount', '9.98'], ['out_trade_no', '100000000002'], ['subject', 'x']]) {
    const altered = { ...signed, [k]: v };
    assert.equal(sdk().checkNotifySignV2(altered), false, k);
    const r = verifyOurs(new URLSearchParams(altered));
    assert.equal(r.signature_ok, false, k);
    assert.equal(r.verdict, 'bad_signature', k);
  }
  // Signed by someone else.
  const forged = signNotify(notifyFields(), key('app_pkcs1.pem'));
  assert.equal(sdk().checkNotifySignV2(forged), false);
  assert.equal(verifyOurs(new URLSearchParams(forged)).verdict, 'bad_signature');
  // Correctly signed but for a different amount than our order: a merchant check, not a signature.
  const cheap = signNotify(notifyFields({ total_amount: '9.98' }), key('ali_pkcs1.pem'));
  assert.equal(verifyOurs(new URLSearchParams(cheap)).verdict, 'wrong_amount');
});

// ---- (b), (d): against a running chatglmd-sim ----

// CHATGLMD_SIM_URL=http://127.0.0.1:PORT uses a sim that is already running; otherwise one is
// started on a port it picks itself (flags as in tests/sim/main.cpp and tests/sim/demo.sh).
async function startSim() {
  if (process.env.CHATGLMD_SIM_URL) {
    const base = process.env.CHATGLMD_SIM_URL.replace(/\/$/, '');
    await control(base, 'reset', {});
    return { base, stop: async () => {} };
  }
  assert.ok(existsSync(simBin), `${simBin} is missing: build chatglmd-sim (CHATGLMD_BUILD_DIR=${buildDir})`);
  const dir = mkdtempSync(join(tmpdir(), 'chatglmd-e2e-alipay-'));
  const portFile = join(dir, 'sim.port');
  const child = spawn(simBin, [
    '--port', '0', '--port-file', portFile,
    '--alipay-key', resolve(fixtures, 'ali_pkcs1.pem'),
    '--app-public-key', resolve(fixtures, 'app_pub.pem'),
    '--seller-id', SELLER_ID,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => child.on('exit', r));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 200 && child.exitCode === null; i++) {
    if (existsSync(portFile)) {
      const base = `http://127.0.0.1:${readFileSync(portFile, 'utf8').trim()}`;
      const health = await (await fetch(`${base}/sim/health`)).json();
      assert.equal(health.alipay, true, 'the sim runs without its Alipay half');
      return { base, stop };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`chatglmd-sim did not start: ${stderr}`);
}

const control = async (base, path, body) => {
  const r = await fetch(`${base}/sim/alipay/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return r.json();
};

test('(b) checkNotifySignV2 accepts the notifies chatglmd-sim sends', async () => {
  const sim = await startSim();
  const received = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      received.push({ contentType: req.headers['content-type'], body });
      // Refuse the first one so the sim has to retry with the same notify_id.
      res.end(received.length === 1 ? 'fail' : 'success');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    const notifyUrl = `http://127.0.0.1:${receiver.address().port}/notify`;
    await control(sim.base, 'trade', {
      out_trade_no: '100000000009', total_amount: '12.34', subject: '测试 A&B+100%', app_id: APP_ID,
      notify_url: notifyUrl,
    });
    const paid = await fetch(`${sim.base}/sim/alipay/pay`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ out_trade_no: '100000000009' }),
    });
    assert.equal(paid.status, 200);
    for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(received.length, 2);
    for (const n of received) {
      assert.match(n.contentType, /^application\/x-www-form-urlencoded; text\/html/);
      const post = Object.fromEntries(new URLSearchParams(n.body));
      assert.equal(sdk().checkNotifySignV2(post), true);
      assert.equal(post.trade_status, 'TRADE_SUCCESS');
      assert.equal(post.total_amount, '12.34');
      assert.equal(verifyOurs(new URLSearchParams(n.body), { out_trade_no: '100000000009', total_amount: '12.34' }).verdict, 'ok');
    }
    assert.equal(new URLSearchParams(received[0].body).get('notify_id'),
      new URLSearchParams(received[1].body).get('notify_id'));
    const log = await control(sim.base, 'notifies');
    assert.deepEqual(log.notifies.map((n) => n.ok), [false, true]);
  } finally {
    receiver.close();
    await sim.stop();
  }
});

test('(d) exec with validateSign accepts chatglmd-sim answers', async () => {
  const sim = await startSim();
  try {
    const client = sdk(`${sim.base}/gateway.do`);
    const pre = await client.exec('alipay.trade.precreate', {
      notifyUrl: 'http://127.0.0.1:9/notify',
      bizContent: { outTradeNo: '100000000010', totalAmount: '9.99', subject: '测试 & 100%' },
    }, { validateSign: true });
    assert.equal(pre.code, '10000');
    assert.match(pre.qrCode, /\/sim\/alipay\/scan\?out_trade_no=100000000010$/);

    const missing = await client.exec('alipay.trade.query', { bizContent: { outTradeNo: '100000000010' } }, { validateSign: true });
    assert.equal(missing.subCode, 'ACQ.TRADE_NOT_EXIST');

    await control(sim.base, 'scan', { out_trade_no: '100000000010' });
    const waiting = await client.exec('alipay.trade.query', { bizContent: { outTradeNo: '100000000010' } }, { validateSign: true });
    assert.equal(waiting.tradeStatus, 'WAIT_BUYER_PAY');
    assert.equal(waiting.totalAmount, '9.99');

    const closed = await client.exec('alipay.trade.close', { bizContent: { outTradeNo: '100000000010' } }, { validateSign: true });
    assert.equal(closed.code, '10000');
    const again = await client.exec('alipay.trade.close', { bizContent: { outTradeNo: '100000000010' } }, { validateSign: true });
    assert.equal(again.subCode, 'ACQ.TRADE_STATUS_ERROR');

    // A damaged signature is caught by the SDK as well.
    await control(sim.base, 'fault', { kind: 'bad_sign', count: 1 });
    await assert.rejects(client.exec('alipay.trade.query', { bizContent: { outTradeNo: '100000000010' } }, { validateSign: true }));
  } finally {
    await sim.stop();
  }
});

// ---- (e) refunds ----

test('(e) our alipay.trade.refund request equals what sdkExecute builds and signs', () => {
  const cases = [
    { outTradeNo: '123456789012', refundAmount: '9.99', outRequestNo: 'RF123456789012', refundReason: '客户投诉 A&B + 100%' },
    { outTradeNo: '900000000001', refundAmount: '100000000.00', outRequestNo: 'RF900000000001' },
  ];
  for (const bizContent of cases) {
    const query = sdk().sdkExecute('alipay.trade.refund', { timestamp: '2024-01-02 03:04:05', bizContent });
    const theirs = Object.fromEntries(new URLSearchParams(query));
    const fen = Math.round(Number(bizContent.refundAmount) * 100);
    const ours = tool('refund-request', {
      private_key_file: resolve(fixtures, 'app_pkcs8.pem'),
      app_id: APP_ID,
      timestamp_ms: 1704135845000,  // 2024-01-02 03:04:05 in GMT+8, the time Alipay reads
      out_trade_no: bizContent.outTradeNo,
      out_request_no: bizContent.outRequestNo,
      refund_amount_fen: fen,
      refund_reason: bizContent.refundReason ?? '',
    }).params;
    assert.equal(ours.biz_content, theirs.biz_content, JSON.stringify(bizContent));
    assert.equal(ours.sign, theirs.sign, JSON.stringify(bizContent));
    assert.deepEqual(ours, theirs);
  }
});

test('(e) exec with validateSign accepts chatglmd-sim refund answers', async () => {
  const sim = await startSim();
  try {
    const client = sdk(`${sim.base}/gateway.do`);
    await control(sim.base, 'trade', { out_trade_no: '100000000020', total_amount: '9.99', status: 'TRADE_SUCCESS', app_id: APP_ID });
    const bizContent = { outTradeNo: '100000000020', refundAmount: '9.99', outRequestNo: 'RF100000000020', refundReason: 'test' };
    const none = await client.exec('alipay.trade.fastpay.refund.query', { bizContent: { outTradeNo: '100000000020', outRequestNo: 'RF100000000020' } }, { validateSign: true });
    assert.equal(none.code, '10000');
    assert.equal(none.refundStatus, undefined);
    const first = await client.exec('alipay.trade.refund', { bizContent }, { validateSign: true });
    assert.equal(first.code, '10000');
    assert.equal(first.fundChange, 'Y');
    assert.equal(first.refundFee, '9.99');
    const again = await client.exec('alipay.trade.refund', { bizContent }, { validateSign: true });
    assert.equal(again.fundChange, 'N');
    const done = await client.exec('alipay.trade.fastpay.refund.query', { bizContent: { outTradeNo: '100000000020', outRequestNo: 'RF100000000020' } }, { validateSign: true });
    assert.equal(done.refundStatus, 'REFUND_SUCCESS');
    assert.equal(done.refundAmount, '9.99');
    const trade = await control(sim.base, 'trade?out_trade_no=100000000020');
    assert.equal(trade.trade.refund_count, 1);
    await control(sim.base, 'trade', { out_trade_no: '100000000021', total_amount: '1.00', status: 'TRADE_FINISHED', app_id: APP_ID });
    const finished = await client.exec('alipay.trade.refund', { bizContent: { outTradeNo: '100000000021', refundAmount: '1.00', outRequestNo: 'RF100000000021' } }, { validateSign: true });
    assert.equal(finished.subCode, 'ACQ.TRADE_HAS_FINISHED');
  } finally {
    await sim.stop();
  }
});
