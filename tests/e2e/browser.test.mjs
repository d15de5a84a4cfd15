// The chat and buy page in a real browser (Debian's Chromium driven by playwright-core) against
// a real daemon and simulator: log in with a WeChat code, watch an answer stream in, stop one
// mid-stream (the upstream request is cancelled), buy quota on the simulated Alipay page that the
// page opens in a new tab. Screenshots go to $CHATGLMD_BUILD_DIR/e2e-screenshots/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { buildDir, eventually, isForeignMarkupRefusal, sleep, startStack } from './harness.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const shots = join(buildDir, 'e2e-screenshots');
const CHUNK_DELAY_MS = 40;  // per 4-character piece: an answer of 160 characters takes ~1.6 s

// The sim's answer to "len:N" (tests/sim/glm_sim.cpp).
const ALPHABET = [...'你好，世界！这是模拟的回答。ChatGLM sim 123 '];
const longAnswer = (n) => Array.from({ length: n }, (_, i) => ALPHABET[i % ALPHABET.length]).join('');

let stack;
let browser;
let context;
let page;
const problems = [];

// caret 'initial': Playwright would hide the caret with an inline <style>, which the page's
// Content-Security-Policy refuses (and reports as a console error).
const shot = (p, name) => p.screenshot({ path: join(shots, name), fullPage: true, caret: 'initial' });
const text = (selector) => page.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector);
const answerText = () => text('#answer');
const quotaShown = async () => Number(await text('#quota'));

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (make deps)`);
  mkdirSync(shots, { recursive: true });
  stack = await startStack({ simArgs: ['--chunk-delay-ms', String(CHUNK_DELAY_MS)] });
  await stack.addProduct({ id: 1001, name: '体验包 10 次', price: '0.99', quota: 10, models: 'glm-4', desc: 'glm-4, 10 questions' });
  await stack.addProduct({ id: 1002, name: '标准包 100 次', price: '9.99', quota: 100, desc: 'glm-4 and glm-3-turbo, 100 questions' });
  await stack.addUser('browser-user', { quota: 3 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  context.setDefaultTimeout(15000);
  page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !isForeignMarkupRefusal(m)) problems.push(`console: ${m.text()} (at ${m.location().url}:${m.location().lineNumber})`);
  });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('the page loads the products and logs in with a WeChat code', async () => {
  await page.goto(`${stack.base}/`);
  await page.waitForSelector('.product button.buy[data-product-id="1002"]');
  const prices = await page.$$eval('.product-price', (els) => els.map((e) => e.textContent));
  assert.deepEqual(prices, ['¥0.99', '¥9.99']);
  assert.equal(await text('#quota'), '–');

  const code = await stack.loginCode('browser-user');
  await page.fill('#login-code', code);
  await page.click('#login-btn');
  await eventually(async () => (await text('#quota')) === '3', { what: '#quota 3' });
  assert.equal(await page.isHidden('#login-panel'), true);
  const models = await page.$$eval('#model option', (els) => els.map((e) => e.value));
  assert.deepEqual(models, ['glm-4', 'glm-3-turbo']);
  await shot(page, '1-logged-in.png');
});

test('an answer grows on the page while it streams', async () => {
  const n = 160;
  const expected = longAnswer(n);
  await page.fill('#prompt', `len:${n}`);
  await page.click('#send');
  // Sample the answer as it arrives: each sample must extend the previous one.
  const seen = [];
  const deadline = Date.now() + 15000;
  for (;;) {
    const now = (await answerText()) ?? '';
    if (now !== (seen.at(-1) ?? '')) {
      assert.ok(now.startsWith(seen.at(-1) ?? ''), `the answer was rewritten: ${JSON.stringify(seen.at(-1))} -> ${JSON.stringify(now)}`);
      seen.push(now);
    }
    if (now === expected || Date.now() > deadline) break;
    await sleep(CHUNK_DELAY_MS * 2);
  }
  assert.equal(seen.at(-1), expected);
  const partial = seen.filter((s) => s.length > 0 && s.length < n);
  assert.ok(partial.length >= 3, `expected at least three partial states, saw ${partial.map((s) => s.length)}`);
  await eventually(async () => !(await page.isVisible('#stop')), { what: 'stop button hidden after the answer' });
  assert.equal(await page.$eval('#answer', (e) => e.classList.contains('streaming')), false);
  await eventually(async () => (await quotaShown()) === 2, { what: 'quota 2 after one answer' });
  const question = await page.$$eval('.msg-user', (els) => els.at(-1).textContent);
  assert.equal(question, `len:${n}`);
  await shot(page, '2-answer.png');
});

test('Stop ends the answer and cancels the upstream stream', async () => {
  await stack.sim.glm('reset', {});
  await page.fill('#prompt', 'len:4000');  // ~40 s of answer at this pace
  await page.click('#send');
  await eventually(async () => ((await answerText()) ?? '').length >= 20, { what: 'the answer started' });
  assert.equal(await page.isVisible('#stop'), true);
  await page.click('#stop');
  await eventually(async () => page.$eval('#answer', (e) => e.classList.contains('stopped')), { what: 'answer marked stopped' });
  const stoppedAt = await answerText();
  assert.ok(stoppedAt.length < 4000 && longAnswer(4000).startsWith(stoppedAt), `stopped text: ${stoppedAt.length}`);
  const stats = await eventually(async () => {
    const s = await stack.sim.glm('stats');
    return s.streams_cancelled >= 1 && s.streams_open === 0 && s;
  }, { what: 'the sim saw the stream cancelled' });
  assert.equal(stats.streams_completed, 0);
  await sleep(CHUNK_DELAY_MS * 5);
  assert.equal(await answerText(), stoppedAt, 'nothing arrives after Stop');
  assert.equal(await page.isEnabled('#send'), true);
  await shot(page, '3-stopped.png');
});

test('buying on the simulated Alipay page raises the quota', async () => {
  await eventually(async () => (await quotaShown()) === 1, { what: 'quota 1 before buying' });
  const [popup] = await Promise.all([
    context.waitForEvent('page'),
    page.click('.product button.buy[data-product-id="1001"]'),
  ]);
  await popup.waitForSelector('#pay');
  assert.equal(await popup.textContent('#amount'), '0.99');
  const orderId = await popup.textContent('#out_trade_no');
  await shot(popup, '4-alipay.png');
  await popup.click('#pay');
  await popup.waitForSelector('#status');
  assert.equal(await popup.textContent('#status'), 'TRADE_SUCCESS');
  await popup.close();

  // The page polls the quota after an order and shows it when the payment has landed.
  await eventually(async () => (await quotaShown()) === 11, { ms: 20000, what: '#quota 11 after paying' });
  assert.match(await text('#notice'), /支付成功/);
  assert.equal(JSON.parse(await stack.cli('order', 'show', orderId, '--json')).status, 'DELIVERED');
  await shot(page, '5-paid.png');
});

test('on a phone-sized screen the panels stack without overlapping', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  const box = (selector) => page.$eval(selector, (e) => {
    const r = e.getBoundingClientRect();
    return { top: r.top, bottom: r.bottom, left: r.left, right: r.right };
  });
  const sidebar = await box('.sidebar');
  const button = await box('#new-conversation');
  const chat = await box('.chat');
  const panel = await box('.side-panel');
  assert.ok(button.top >= sidebar.top && button.bottom <= sidebar.bottom, `button ${JSON.stringify(button)} outside the sidebar ${JSON.stringify(sidebar)}`);
  assert.ok(sidebar.bottom <= chat.top, 'sidebar above the chat');
  assert.ok(chat.bottom <= panel.top, 'chat above the buy panel');
  assert.ok(chat.bottom - chat.top >= 400, `chat height ${chat.bottom - chat.top}`);
  await shot(page, '6-phone.png');
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('no script errors on the page', () => {
  assert.deepEqual(problems, []);
});
