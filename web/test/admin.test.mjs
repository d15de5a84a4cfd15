// The dashboard's script in jsdom with a summary from a fake fetch: the chats chart keeps the
// models with the most chats and sums the rest as one series, adding up to the same totals.
// Skipped when jsdom is not installed (`npm install` in web/test/ brings it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
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

function summary() {
  const days = ['2026-11-30', '2026-12-01'];
  const rows = [];
  // Nine models; m0 has the most chats, m8 the fewest.
  for (let i = 0; i < 9; i++) {
    for (const day of days) rows.push({ day, model: `m${i}`, chats: 20 - i, answered: 20 - i, promptTokens: 0, completionTokens: 0 });
  }
  return {
    days: 2, since: days[0], until: days[1], generatedAt: 0,
    revenue: { days: days.map((day) => ({ day, orders: 0, fen: 0, yuan: '0.00' })), orders: 0, totalFen: 0, totalYuan: '0.00' },
    funnel: { created: 0, paid: 0, delivered: 0, closed: 0, latePayments: 0, refundsRequested: 0, refunded: 0 },
    chats: { days, rows, total: rows.reduce((a, r) => a + r.chats, 0), answered: rows.reduce((a, r) => a + r.chats, 0) - 3 },
    ttft: { samples: 0, p50: null, p90: null, p99: null },
    'top-users': [], jobs: [], 'notify-rejections': [],
  };
}

test('the chats chart shows the top models and sums the others', { skip: !JSDOM && 'jsdom not installed' }, async () => {
  const html = fs.readFileSync(path.join(WEB, 'admin', 'index.html'), 'utf8').replace(/<script[^>]*src=[^>]*><\/script>/g, '');
  const dom = new JSDOM(html, { runScripts: 'outside-only', url: 'http://127.0.0.1/admin/' });
  const { window } = dom;
  window.sessionStorage.setItem('chatglmd.admin.token', 'T');
  window.fetch = async () => ({ status: 200, ok: true, json: async () => summary() });
  window.eval(fs.readFileSync(path.join(WEB, 'admin', 'admin.js'), 'utf8'));
  const doc = window.document;
  for (let i = 0; i < 50 && !doc.body.dataset.loaded; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(doc.body.dataset.loaded, 'the summary was rendered');
  const legend = [...doc.querySelectorAll('#chart-chats .legend span')].map((e) => e.textContent);
  assert.deepEqual(legend, ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', '其他']);
  const bars = [...doc.querySelectorAll('#chart-chats rect.bar')].map((e) => [e.dataset.day, e.dataset.series, Number(e.dataset.value)]);
  const other = bars.filter(([day, series]) => day === '2026-12-01' && series === '其他');
  assert.deepEqual(other.map((b) => b[2]), [14 + 13 + 12], 'm6, m7 and m8 summed');
  assert.equal(bars.filter(([day]) => day === '2026-12-01').reduce((a, b) => a + b[2], 0), (20 + 12) * 9 / 2);
  assert.equal(doc.getElementById('kpi-answered').textContent, '成功 285，拒绝或失败 3');
});
