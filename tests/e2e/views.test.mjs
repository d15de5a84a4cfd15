// What people look at, in Debian's Chromium against a real daemon and simulator: the admin
// dashboard over a seeded week of orders and chats (and its token), answers rendered as
// Markdown while they stream (and nothing in an answer runs), the copy button, and every
// refusal in Chinese. Writes the screenshots docs/admin-dashboard.png and docs/chat-markdown.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { buildDir, eventually, isForeignMarkupRefusal, sourceDir, startStack } from './harness.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';
const RATE_LIMIT = 4;
const DAY = 24 * 3600 * 1000;
const shots = join(buildDir, 'e2e-screenshots');

let stack;
let browser;
let context;
let page;
let secrets;
const problems = [];

const sql = (statements) => new Promise((resolve, reject) => {
  execFile('sqlite3', ['-cmd', '.timeout 5000', join(stack.dir, 'chatglmd.db'), statements], (e, out, err) => (e ? reject(new Error(err || e.message)) : resolve(out)));
});
const beijingDay = (ms) => new Date(ms + 8 * 3600 * 1000).toISOString().slice(0, 10);
const text = (selector) => page.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector);

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (make deps)`);
  mkdirSync(shots, { recursive: true });
  secrets = mkdtempSync(join(tmpdir(), 'chatglmd-views-'));
  writeFileSync(join(secrets, 'admin_token'), `${ADMIN_TOKEN}\n`, { mode: 0o600 });
  stack = await startStack({
    simArgs: ['--chunk-delay-ms', '15'],
    config: { 'auth.admin_token_file': join(secrets, 'admin_token'), 'chat.rate_limit': String(RATE_LIMIT) },
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.base });
  context.setDefaultTimeout(15000);
  page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/the server responded with a status of (401|429)/.test(m.text()) && !isForeignMarkupRefusal(m)) problems.push(`console: ${m.text()} (at ${m.location().url}:${m.location().lineNumber})`);
  });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  if (secrets) rmSync(secrets, { recursive: true, force: true });
});

// A week of business written into the store the way the daemon writes it (orders with their
// audit rows, a refund, a rejected notify, usage rows), plus real chats through the daemon.
async function seedWeek() {
  const now = Date.now() - 60_000;
  const expected = { revenueFen: {}, chats: {}, created: 0, paid: 0, delivered: 0, closed: 0, late: 0, refunds: 0, refunded: 0, users: {} };
  const stmts = ['BEGIN;'];
  let n = 0;
  const order = (openid, at, status, pay, paidAt, fen) => {
    const id = `S${String(++n).padStart(11, '0')}`;
    stmts.push(`INSERT INTO openai_order (order_id, openid, product_id, product_name, product_quota, order_time, order_status, pay_status, total_amount_fen, pay_time, updated_at) VALUES ('${id}', '${openid}', 1001, 'seed', 10, ${at}, ${status}, ${pay}, ${fen}, ${paidAt ?? 'NULL'}, ${at});`);
    stmts.push(`INSERT INTO order_event (order_id, from_status, to_status, cause, at) VALUES ('${id}', NULL, 0, 'seed', ${at});`);
    expected.created++;
    if (paidAt) {
      expected.paid++;
      const day = beijingDay(paidAt);
      expected.revenueFen[day] = (expected.revenueFen[day] ?? 0) + fen;
    }
    if (status === 2) expected.delivered++;
    if (status === 3) expected.closed++;
    return id;
  };
  const chat = (openid, model, at, outcome, ttft) => {
    stmts.push(`INSERT INTO chat_log (openid, model, endpoint, started_at, ttft_ms, duration_ms, prompt_tokens, completion_tokens, outcome) VALUES ('${openid}', '${model}', 'original', ${at}, ${ttft ?? 'NULL'}, 800, 12, 40, '${outcome}');`);
    const day = beijingDay(at);
    expected.chats[day] ??= {};
    expected.chats[day][model] = (expected.chats[day][model] ?? 0) + 1;
    expected.users[openid] = (expected.users[openid] ?? 0) + 1;
  };
  for (let d = 0; d < 7; d++) {
    const at = now - d * DAY;
    for (let i = 0; i <= d; i++) order(`buyer-${i}`, at - 1000, 2, 1, at, 999);
    order('window-shopper', at - 2000, 3, 3, null, 1990);
    for (let i = 0; i < d + 2; i++) chat(`chatter-${i % 3}`, 'glm-4', at - 3000 - i, 'ok', 100 * (i + 1));
    chat('chatter-0', 'glm-3-turbo', at - 4000, 'refused:quota', null);
  }
  // A late payment (closed, then paid) and a refunded order.
  const late = order('late-payer', now - 3 * DAY, 3, 3, null, 500);
  stmts.push(`UPDATE openai_order SET order_status = 2, pay_status = 1, pay_time = ${now - 3 * DAY + 5000} WHERE order_id = '${late}';`);
  stmts.push(`INSERT INTO order_event (order_id, from_status, to_status, cause, at) VALUES ('${late}', 3, 1, 'notify', ${now - 3 * DAY + 5000});`);
  expected.closed--; expected.paid++; expected.delivered++; expected.late++;
  expected.revenueFen[beijingDay(now - 3 * DAY + 5000)] += 500;
  const refunded = order('refunder', now - 2 * DAY, 4, 4, now - 2 * DAY, 2990);
  stmts.push(`INSERT INTO refund (refund_id, order_id, amount_fen, status, requested_at, updated_at) VALUES ('RF${refunded}', '${refunded}', 2990, 'succeeded', ${now - DAY}, ${now - DAY});`);
  expected.refunds++; expected.refunded++;
  expected.revenueFen[beijingDay(now - 2 * DAY)] -= 2990;  // revenue leaves refunded orders out
  stmts.push(`INSERT INTO pay_notify (notify_id, out_trade_no, trade_status, verdict, raw_body, received_at) VALUES ('seed-notify-1', 'S00000000001', 'TRADE_SUCCESS', 'wrong_amount', 'x', ${now});`);
  stmts.push('COMMIT;');
  await sql(stmts.join('\n'));
  return expected;
}

test('the dashboard refuses a wrong token, then shows the seeded week', async () => {
  const expected = await seedWeek();
  // Two real chats of today through the daemon: they reach the usage log by themselves.
  await stack.addUser('live-user', { quota: 1 });
  const token = await stack.token('live-user');
  for (let i = 0; i < 2; i++) {
    const r = await fetch(`${stack.base}/api/v1/chatgpt/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'glm-4', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await r.text();
  }
  const today = beijingDay(Date.now());
  expected.chats[today]['glm-4'] += 2;
  const usage = await eventually(async () => {
    const rows = JSON.parse(await stack.cli('usage', '--by', 'user', '--json'));
    return rows.find((r) => r.openid === 'live-user' && r.chats === 2) && rows;
  }, { what: 'the live chats in the usage log' });
  assert.equal(usage.find((r) => r.openid === 'live-user').answered, 1, 'one answered, one refused for quota');

  // The API: no token, a wrong token, the right one.
  assert.equal((await fetch(`${stack.base}/admin/api/summary`)).status, 401);
  assert.equal((await fetch(`${stack.base}/admin/api/summary`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  const api = await (await fetch(`${stack.base}/admin/api/summary?days=7`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json();
  const totalFen = Object.values(expected.revenueFen).reduce((a, b) => a + b, 0);
  assert.equal(api.revenue.totalFen, totalFen);
  assert.deepEqual(api.funnel, { created: expected.created, paid: expected.paid, delivered: expected.delivered, closed: expected.closed,
    latePayments: expected.late, refundsRequested: expected.refunds, refunded: expected.refunded });

  await page.goto(`${stack.base}/admin/`);
  await page.fill('#token', 'not-the-token');
  await page.click('#login button[type=submit]');
  await eventually(async () => (await text('#login-error')) === '令牌错误，请重新输入。', { what: 'wrong token refused' });
  assert.equal(await page.isHidden('#dashboard'), true);

  await page.fill('#token', ADMIN_TOKEN);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#chart-revenue svg');
  assert.equal(await text('#kpi-revenue'), `¥${(totalFen / 100).toFixed(2)}`);
  const chatsTotal = Object.values(expected.chats).flatMap((m) => Object.values(m)).reduce((a, b) => a + b, 0);
  assert.equal(await text('#kpi-chats'), String(chatsTotal));

  const revenueBars = await page.$$eval('#chart-revenue rect.bar', (els) => els.map((e) => [e.dataset.day, Number(e.dataset.value)]));
  assert.deepEqual(Object.fromEntries(revenueBars), Object.fromEntries(Object.entries(expected.revenueFen).map(([d, f]) => [d, f / 100])));
  const chatBars = await page.$$eval('#chart-chats rect.bar', (els) => els.map((e) => [e.dataset.day, e.dataset.series, Number(e.dataset.value)]));
  const shown = {};
  for (const [day, model, value] of chatBars) (shown[day] ??= {})[model] = value;
  assert.deepEqual(shown, expected.chats);
  const steps = await page.$$eval('#chart-funnel rect.bar', (els) => els.map((e) => Number(e.dataset.value)));
  assert.deepEqual(steps, [expected.created, expected.paid, expected.delivered, expected.closed, expected.late, expected.refunds, expected.refunded]);

  const top = await page.$$eval('#top-users tbody tr', (rows) => rows.map((r) => [r.cells[0].textContent, Number(r.cells[1].textContent)]));
  const topExpected = Object.entries(expected.users).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  assert.deepEqual(top[0], topExpected[0]);
  const jobs = await page.$$eval('#jobs tbody tr', (rows) => rows.map((r) => r.cells[0].textContent));
  assert.ok(jobs.includes('chat-log-prune') && jobs.includes('timeout-close'), jobs.join());
  assert.match(await text('#rejections tbody'), /wrong_amount/);
  assert.ok(/ms/.test(await text('#kpi-ttft')), 'time to first token shown');
  await page.screenshot({ path: join(sourceDir, 'docs', 'admin-dashboard.png'), caret: 'initial' });
});

async function chatLogin(openid, quota, models) {
  await stack.addUser(openid, { quota, ...(models ? { models } : {}) });
  const token = await stack.token(openid);
  await page.goto(`${stack.base}/`);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.evaluate((t) => { document.getElementById('login-token').value = t; }, token);
  await page.click('#login-btn');
  await eventually(async () => (await text('#quota')) === String(quota), { what: `quota ${quota} shown` });
  // The model menu is refilled after the login; a model picked before that would be lost.
  await page.waitForSelector('#model[data-loaded]', { state: 'attached' });
}

async function ask(prompt) {
  await page.fill('#prompt', prompt);
  await page.click('#send');
}

const MARKDOWN = [
  '如下：',
  '',
  '## 结果',
  '',
  '| 名称 | 数量 |',
  '|------|------|',
  '| 苹果 | 3 |',
  '| 香蕉 | 5 |',
  '',
  '- 第一项',
  '- 第二项',
  '- 第三项',
  '',
  '```python',
  'def add(a, b):',
  '    return a + b',
  '```',
  '',
  '<script>window.__pwned = "script"</script>',
  '<img src="x" onerror="window.__pwned = \'img\'">',
  '[点我](javascript:window.__pwned=\'link\')',
  '<a href="#" onclick="window.__pwned=\'click\'">普通链接</a>',
].join('\n');

test('a streamed answer renders as Markdown and nothing in it runs', async () => {
  await chatLogin('md-user', 5);
  await ask(MARKDOWN);
  // While it streams, the structure is already there (rendered as it arrives, not at the end).
  const sawWhileStreaming = await eventually(async () => page.evaluate(() => {
    const a = document.getElementById('answer');
    return a && a.classList.contains('streaming') && a.querySelector('table, li') !== null;
  }), { what: 'Markdown rendered while streaming' });
  assert.ok(sawWhileStreaming);
  await eventually(async () => page.$eval('#answer', (e) => !e.classList.contains('streaming')), { what: 'answer done' });

  const cells = await page.$$eval('#answer table td', (els) => els.map((e) => e.textContent));
  assert.deepEqual(cells, ['苹果', '3', '香蕉', '5']);
  assert.deepEqual(await page.$$eval('#answer ul > li', (els) => els.map((e) => e.textContent)), ['第一项', '第二项', '第三项']);
  assert.equal(await text('#answer h2'), '结果');
  const code = await page.$eval('#answer pre > code', (e) => ({ text: e.textContent, cls: e.className, spans: e.querySelectorAll('span').length }));
  assert.equal(code.text, 'def add(a, b):\n    return a + b\n');
  assert.match(code.cls, /hljs/);
  assert.ok(code.spans > 0, 'highlighted');

  // Nothing of the hostile part survived or ran.
  await page.click('#answer a:has-text("普通链接")').catch(() => {});
  await page.click('#answer a:has-text("点我")').catch(() => {});
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.$$eval('#answer script, #answer img, #answer [onerror], #answer [onclick]', (els) => els.length), 0);
  const hrefs = await page.$$eval('#answer a', (els) => els.map((e) => e.getAttribute('href') ?? ''));
  assert.ok(hrefs.every((h) => !/^javascript:/i.test(h)), hrefs.join());
  // The question stays plain text.
  assert.match(await page.$$eval('.msg-user', (els) => els.at(-1).textContent), /<script>/);

  await page.click('#answer pre .copy-code');
  await eventually(async () => (await text('#answer pre .copy-code')) === '已复制', { what: 'copied' });
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'def add(a, b):\n    return a + b\n');
  await page.$eval('#answer', (e) => e.scrollIntoView());
  await page.screenshot({ path: join(sourceDir, 'docs', 'chat-markdown.png'), caret: 'initial' });
});

test('every refusal shows its Chinese text', async () => {
  const texts = await page.evaluate(() => window.ChatApp.CODE_TEXT);
  // Every code of the README's table has its own text.
  for (const c of ['0001', '0002', '0003', '0004', '0005', '0006', '0007', '0008', '0009', 'OE001']) assert.ok(texts[c], c);
  const openai = await page.evaluate(() => [
    window.ChatApp.chineseError({ error: { type: 'insufficient_quota', code: 'insufficient_quota' } }),
    window.ChatApp.chineseError({ error: { type: 'permission_error', code: 'account_frozen' } }),
    window.ChatApp.chineseError({ error: { type: 'upstream_error', code: 'timeout' } }),
  ]);
  assert.deepEqual(openai, [texts['0006'], texts['0007'], '模型服务响应超时，请稍后再试。']);

  const refusedWith = async (code, what) => {
    await eventually(async () => (await text('#error')) === texts[code], { what: `${what}: ${texts[code]}` })
      .catch(async (e) => { throw new Error(`${e.message} (shown: ${await text('#error')}; answer: ${await text('#answer')})`); });
    assert.equal(await text('#answer'), texts[code]);
  };

  await chatLogin('no-quota', 0);
  await ask('你好');
  await refusedWith('0006', 'no chats left');

  await chatLogin('frozen-user', 3);
  await stack.cli('user', 'freeze', 'frozen-user');
  await ask('你好');
  await refusedWith('0007', 'frozen');

  await chatLogin('glm4-only', 3, 'glm-4');
  await page.selectOption('#model', 'glm-3-turbo');
  await ask('你好');
  await refusedWith('0008', 'model not allowed');

  await chatLogin('bad-model', 3);
  await page.evaluate(() => {
    const o = document.createElement('option');
    o.value = o.textContent = 'no-such-model';
    document.getElementById('model').append(o);
    document.getElementById('model').value = 'no-such-model';
  });
  await ask('你好');
  await refusedWith('0002', 'model not served');

  await chatLogin('upstream-fails', 3);
  await stack.sim.glm('fault', { kind: 'http_500', count: 1 });
  await ask('你好');
  await refusedWith('0009', 'upstream failed');
  await eventually(async () => (await text('#quota')) === '3', { what: 'the chat given back' });

  await chatLogin('too-fast', 10);
  for (let i = 0; i < RATE_LIMIT; i++) {
    await ask(`第 ${i} 个问题`);
    // Done: this question's answer is on the page and no longer streaming (the button alone can
    // still be enabled before the page has taken the click).
    await eventually(async () => page.evaluate((n) => document.querySelectorAll('.msg-assistant').length === n &&
      !document.querySelector('.msg-assistant.streaming'), i + 1), { what: `answer ${i} done` });
  }
  await ask('再来一个');
  await refusedWith('0005', 'rate limited');

  // A forged token: the page's first call with it (the quota) is refused.
  await page.evaluate(() => localStorage.setItem('chatglmd.token', 'forged.token.value'));
  await page.reload();
  await eventually(async () => (await text('#error')) === texts['0003'], { what: 'not authorised' });
});

test('wrong admin tokens are limited per address', async () => {
  let last = 0;
  for (let i = 0; i < 12; i++) last = (await fetch(`${stack.base}/admin/api/funnel`, { headers: { authorization: `Bearer wrong-${i}` } })).status;
  assert.equal(last, 429);
  // Now even the right token waits out the minute.
  assert.equal((await fetch(`${stack.base}/admin/api/funnel`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status, 429);
});

test('no script errors on the pages', () => {
  assert.deepEqual(problems, []);
});
