// The whole sale over HTTP only, as a buyer's phone and browser do it: WeChat login code → token,
// product list, pay order, the Alipay form submitted to the (simulated) gateway, Pay pressed, the
// signed notify settles it, the quota rises. Once with the page form (alipay.mode=page) and once
// with the QR code (alipay.mode=precreate).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, parseForm, startStack } from './harness.mjs';

const PRODUCT = { id: 1002, name: '标准包 100 次', price: '9.99', quota: 100, desc: 'glm-4, 100 questions' };

async function login(stack, openid) {
  const code = await stack.loginCode(openid);
  assert.match(code, /^\d{4,8}$/);
  const r = await stack.envelope('/api/v1/auth/login', { form: { code } });
  assert.equal(r.code, '0000', r.info);
  assert.equal(typeof r.data, 'string');
  // The code is single use.
  const again = await stack.envelope('/api/v1/auth/login', { form: { code } });
  assert.equal(again.code, '0003');
  return r.data;
}

async function checkProducts(stack) {
  const raw = await (await fetch(`${stack.base}/api/v1/sale/query_product_list`)).text();
  assert.match(raw, /"price":9\.99,/, 'price is a yuan number with two decimals');
  const list = JSON.parse(raw);
  assert.equal(list.code, '0000');
  const p = list.data.find((x) => x.productId === PRODUCT.id);
  assert.ok(p, JSON.stringify(list.data));
  assert.equal(p.productName, PRODUCT.name);
  assert.equal(p.productDesc, PRODUCT.desc);
  assert.equal(p.quota, PRODUCT.quota);
  assert.equal(p.priceFen, 999);
  assert.equal(p.price, 9.99);
}

const quota = async (stack, token) => {
  const r = await stack.envelope('/api/v1/account/query_account_quota', { token, form: {} });
  assert.equal(r.code, '0000', r.info);
  return r.data;
};

const waitForQuota = (stack, token, surplus) =>
  eventually(async () => (await quota(stack, token)).surplusQuota === surplus, { ms: 15000, what: `surplusQuota ${surplus}` });

const orderOf = async (stack, id) => JSON.parse(await stack.cli('order', 'show', id, '--json'));

describe('page mode: the Alipay form in a browser', () => {
  let stack;
  before(async () => {
    stack = await startStack();
    await stack.addProduct(PRODUCT);
  });
  after(() => stack?.stop());

  test('login, buy, pay on the gateway page, quota delivered once', async () => {
    const token = await login(stack, 'wx-buyer-page');
    await checkProducts(stack);
    const start = await quota(stack, token);
    assert.equal(start.surplusQuota, 0, 'a new user has no quota');

    const created = await stack.envelope('/api/v1/sale/create_pay_order', { token, form: { productId: String(PRODUCT.id) } });
    assert.equal(created.code, '0000', created.info);
    const form = parseForm(created.data);
    assert.equal(form.method, 'post');
    const action = new URL(form.action);
    assert.equal(action.origin, stack.sim.base, 'the form goes to the configured gateway');
    assert.equal(action.searchParams.get('method'), 'alipay.trade.page.pay');
    const biz = JSON.parse(new Map(form.fields).get('biz_content'));
    assert.equal(biz.total_amount, '9.99');
    assert.equal(biz.subject, PRODUCT.name);
    const orderId = biz.out_trade_no;
    assert.equal((await orderOf(stack, orderId)).status, 'CREATED');

    // The same product again while the order is young: the same order, not a second one.
    const reused = await stack.envelope('/api/v1/sale/create_pay_order', { token, form: { productId: String(PRODUCT.id) } });
    assert.equal(JSON.parse(new Map(parseForm(reused.data).fields).get('biz_content')).out_trade_no, orderId);

    // The browser posts the hidden inputs to the action URL and gets the pay page.
    const page = await fetch(form.action, { method: 'POST', body: new URLSearchParams(form.fields) });
    const pageHtml = await page.text();
    assert.equal(page.status, 200, pageHtml);
    assert.match(pageHtml, new RegExp(`<span id="out_trade_no">${orderId}</span>`));
    assert.match(pageHtml, /<span id="amount">9\.99<\/span>/);
    const payForm = parseForm(pageHtml);
    assert.deepEqual(payForm.fields, [['out_trade_no', orderId]]);

    // Pressing Pay.
    const paid = await fetch(new URL(payForm.action, stack.sim.base), { method: 'POST', body: new URLSearchParams(payForm.fields) });
    assert.equal(paid.status, 200);
    assert.match(await paid.text(), /<span id="status">TRADE_SUCCESS<\/span>/);

    await waitForQuota(stack, token, PRODUCT.quota);
    const q = await quota(stack, token);
    assert.equal(q.totalQuota, PRODUCT.quota);
    assert.match(q.modelTypes, /glm-4/);
    assert.equal((await orderOf(stack, orderId)).status, 'DELIVERED');

    // Alipay sends the notify again: answered success, delivered only once.
    const attempts = (await stack.sim.alipay('notifies')).notifies.length;
    await stack.sim.alipay('notify', { out_trade_no: orderId });
    await eventually(async () => {
      const log = (await stack.sim.alipay('notifies')).notifies;
      return log.length > attempts && log.at(-1).ok;
    }, { what: 'the repeated notify answered success' });
    assert.equal((await quota(stack, token)).surplusQuota, PRODUCT.quota);

    // And the quota is spendable.
    const chat = await fetch(`${stack.base}/api/v1/chatgpt/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'glm-4', messages: [{ role: 'user', content: 'paid question' }] }),
    });
    assert.equal(await chat.text(), 'Echo: paid question');
    assert.equal((await quota(stack, token)).surplusQuota, PRODUCT.quota - 1);
  });

  test('a bad login code and a missing token are refused', async () => {
    assert.equal((await stack.envelope('/api/v1/auth/login', { form: { code: '000000' } })).code, '0003');
    const r = await stack.envelope('/api/v1/sale/create_pay_order', { form: { productId: String(PRODUCT.id) } });
    assert.equal(r.code, '0003');
  });
});

describe('precreate mode: the QR code', () => {
  let stack;
  before(async () => {
    stack = await startStack({ config: { 'alipay.mode': 'precreate' } });
    await stack.addProduct(PRODUCT);
  });
  after(() => stack?.stop());

  test('QR URL, scan, pay, quota delivered', async () => {
    const token = await login(stack, 'wx-buyer-qr');
    await checkProducts(stack);
    const created = await stack.envelope('/api/v1/sale/create_pay_order', { token, form: { productId: String(PRODUCT.id) } });
    assert.equal(created.code, '0000', created.info);
    const qr = new URL(created.data);
    assert.equal(qr.origin, stack.sim.base);
    assert.equal(qr.pathname, '/sim/alipay/scan');
    const orderId = qr.searchParams.get('out_trade_no');
    assert.equal((await orderOf(stack, orderId)).status, 'CREATED');
    assert.equal((await stack.sim.alipay(`trade?out_trade_no=${orderId}`)).trade.total_amount, '9.99');

    // The phone scans the code: the pay page.
    const page = await fetch(qr);
    const pageHtml = await page.text();
    assert.equal(page.status, 200, pageHtml);
    assert.match(pageHtml, /<span id="amount">9\.99<\/span>/);
    const payForm = parseForm(pageHtml);
    const paid = await fetch(new URL(payForm.action, qr), { method: 'POST', body: new URLSearchParams(payForm.fields) });
    assert.equal(paid.status, 200);

    await waitForQuota(stack, token, PRODUCT.quota);
    assert.equal((await orderOf(stack, orderId)).status, 'DELIVERED');
  });
});
