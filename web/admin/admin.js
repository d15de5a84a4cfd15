// The admin dashboard: reads /admin/api/summary with the token kept in sessionStorage and draws
// its charts as inline SVG. Every text goes in through textContent or SVG attributes; nothing
// from the API is parsed as HTML.
(function () {
  'use strict';

  const TOKEN_KEY = 'chatglmd.admin.token';
  const SVG = 'http://www.w3.org/2000/svg';
  const COLORS = ['#0969da', '#1a7f37', '#bf8700', '#8250df', '#cf222e', '#1b7c83', '#953800'];
  const $ = (id) => document.getElementById(id);
  const MAX_MODELS = 6; // one colour each; COLORS keeps one more for OTHER_MODELS
  const OTHER_MODELS = '其他';

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  // The top of a y axis with four round steps (1, 2 or 5 times a power of ten; whole numbers
  // for counts).
  function niceMax(max, whole) {
    if (max <= 0) return 4;
    const raw = max / 4;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    let step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((v) => v >= raw);
    if (whole) step = Math.max(1, Math.ceil(step));
    return step * 4;
  }

  // Bars per day; each bar is a stack of {value, color, label} parts.
  function barChart(container, days, stacks, { format = String, name, width = 640, whole = false }) {
    const height = 220;
    const left = 48;
    const bottom = 24;
    const top = 8;
    const plotH = height - top - bottom;
    const totals = stacks.map((parts) => parts.reduce((a, p) => a + p.value, 0));
    const max = niceMax(Math.max(0, ...totals), whole);
    const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': name, 'data-chart': name });
    for (let i = 0; i <= 4; i++) {
      const y = top + plotH - (plotH * i) / 4;
      root.append(svg('line', { x1: left, x2: width, y1: y, y2: y, stroke: 'currentColor', 'stroke-opacity': 0.12 }));
      root.append(svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, format((max * i) / 4)));
    }
    const slot = (width - left) / Math.max(days.length, 1);
    const barW = Math.max(2, slot * 0.7);
    days.forEach((day, i) => {
      const x = left + i * slot + (slot - barW) / 2;
      let y = top + plotH;
      for (const part of stacks[i]) {
        if (part.value <= 0) continue;
        const h = (plotH * part.value) / max;
        y -= h;
        const rect = svg('rect', { class: 'bar', x, y, width: barW, height: h, fill: part.color,
          'data-day': day, 'data-value': part.value, 'data-series': part.label });
        rect.append(svg('title', {}, `${day} ${part.label}: ${format(part.value)}`));
        root.append(rect);
      }
      if (days.length <= 16 || i % Math.ceil(days.length / 8) === 0) {
        root.append(svg('text', { x: left + i * slot + slot / 2, y: height - 6, 'text-anchor': 'middle' }, day.slice(5)));
      }
    });
    container.replaceChildren(root);
    return root;
  }

  function table(target, headers, rows) {
    const head = el('tr');
    for (const [label, numeric] of headers) head.append(el('th', numeric ? { class: 'num' } : {}, label));
    const body = rows.map((cells) => {
      const tr = el('tr');
      cells.forEach((cell, i) => {
        const td = el('td', headers[i][1] ? { class: 'num' } : {}, cell === null || cell === undefined ? '–' : cell);
        tr.append(td);
      });
      return tr;
    });
    if (!rows.length) {
      const tr = el('tr');
      tr.append(el('td', { colspan: headers.length }, '无'));
      body.push(tr);
    }
    target.replaceChildren(el('thead'), el('tbody'));
    target.tHead.append(head);
    target.tBodies[0].append(...body);
  }

  const when = (ms) => (ms ? new Date(ms).toLocaleString('zh-CN', { hour12: false }) : '–');
  const ms = (v) => (v === null || v === undefined ? '–' : `${v} ms`);

  function render(data) {
    $('kpi-revenue').textContent = '¥' + data.revenue.totalYuan;
    $('kpi-orders').textContent = String(data.revenue.orders);
    $('kpi-chats').textContent = String(data.chats.total);
    $('kpi-answered').textContent = `成功 ${data.chats.answered}，拒绝或失败 ${data.chats.total - data.chats.answered}`;
    $('kpi-ttft').textContent = [data.ttft.p50, data.ttft.p90, data.ttft.p99].map(ms).join(' / ');

    barChart($('chart-revenue'), data.revenue.days.map((d) => d.day),
      data.revenue.days.map((d) => [{ value: d.fen / 100, color: COLORS[0], label: '收入' }]),
      { name: 'revenue', format: (v) => (Math.round(v * 100) / 100).toString() });

    const f = data.funnel;
    const steps = [['创建', f.created], ['已支付', f.paid], ['已发货', f.delivered], ['已关闭', f.closed],
      ['逾期支付', f.latePayments], ['退款申请', f.refundsRequested], ['已退款', f.refunded]];
    const fw = 640;
    const rowH = 26;
    const funnel = svg('svg', { viewBox: `0 0 ${fw} ${steps.length * rowH + 4}`, role: 'img', 'aria-label': 'funnel', 'data-chart': 'funnel' });
    const fmax = Math.max(1, ...steps.map((s) => s[1]));
    steps.forEach(([label, value], i) => {
      const y = i * rowH + 2;
      funnel.append(svg('text', { x: 0, y: y + 16 }, label));
      const w = ((fw - 150) * value) / fmax;
      const bar = svg('rect', { class: 'bar', x: 90, y, width: Math.max(w, value ? 2 : 0), height: rowH - 6, fill: COLORS[i % COLORS.length], 'data-step': label, 'data-value': value });
      funnel.append(bar);
      funnel.append(svg('text', { x: 96 + w, y: y + 16, class: 'funnel-value' }, value));
    });
    $('chart-funnel').replaceChildren(funnel);

    // The MAX_MODELS models with the most chats get a colour each; the rest are summed as one
    // series, so a long list of models neither runs out of colours nor crowds the chart.
    const perModel = new Map();
    for (const r of data.chats.rows) perModel.set(r.model, (perModel.get(r.model) || 0) + r.chats);
    const ranked = [...perModel.keys()].sort((a, b) => perModel.get(b) - perModel.get(a) || (a < b ? -1 : 1));
    const top = ranked.slice(0, MAX_MODELS).sort();
    const models = ranked.length > MAX_MODELS ? [...top, OTHER_MODELS] : top;
    const seriesOf = (m) => (top.includes(m) ? m : OTHER_MODELS);
    const color = (m) => COLORS[models.indexOf(m) % COLORS.length];
    // One pass over the rows, indexed by day and series: each cell is a Map look-up.
    const cells = new Map();
    for (const r of data.chats.rows) {
      const key = `${r.day}\u0000${seriesOf(r.model)}`;
      cells.set(key, (cells.get(key) || 0) + r.chats);
    }
    const stacks = data.chats.days.map((day) => models.map((m) => (
      { value: cells.get(`${day}\u0000${m}`) || 0, color: color(m), label: m })));
    barChart($('chart-chats'), data.chats.days, stacks, { name: 'chats', width: 1280, whole: true, format: (v) => String(Math.round(v)) });
    const legend = el('div', { class: 'legend' });
    for (const m of models) {
      const item = el('span', {}, m);
      item.style.setProperty('--swatch', color(m));
      legend.append(item);
    }
    $('chart-chats').append(legend);

    table($('top-users'), [['用户', false], ['对话', true], ['成功', true], ['提示词 tokens', true], ['回答 tokens', true]],
      data['top-users'].map((u) => [u.openid, u.chats, u.answered, u.promptTokens, u.completionTokens]));
    table($('jobs'), [['任务', false], ['上次运行', false], ['结果', false], ['积压', true], ['最早到期 (秒)', true]],
      data.jobs.map((j) => [j.name, j.lastRun ? when(j.lastRun.finishedAt) : '从未运行',
        j.lastRun ? j.lastRun.outcome : null, j.backlog, Math.round(j.oldestDueSeconds)]));
    for (const row of $('jobs').tBodies[0].rows) {
      if (row.cells[2] && row.cells[2].textContent === 'failed') row.cells[2].className = 'outcome-failed';
    }
    table($('rejections'), [['时间', false], ['订单号', false], ['交易状态', false], ['原因', false], ['通知 ID', false]],
      data['notify-rejections'].map((n) => [when(n.receivedAt), n.outTradeNo, n.tradeStatus, n.verdict, n.notifyId]));
  }

  async function load() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return showLogin('');
    let response;
    try {
      response = await fetch(`/admin/api/summary?days=${encodeURIComponent($('days').value)}`, {
        headers: { Authorization: 'Bearer ' + token },
        cache: 'no-store',
      });
    } catch (e) {
      return showError('网络错误：' + e.message);
    }
    if (response.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      return showLogin('令牌错误，请重新输入。');
    }
    if (response.status === 429) return showLogin('尝试次数过多，请一分钟后再试。');
    if (!response.ok) return showError(`加载失败 (HTTP ${response.status})`);
    const data = await response.json();
    $('login').hidden = true;
    $('dashboard').hidden = false;
    $('logout').hidden = false;
    $('error').hidden = true;
    render(data);
    document.body.dataset.loaded = String(Date.now());
  }

  function showLogin(message) {
    $('dashboard').hidden = true;
    $('logout').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message;
    $('login-error').hidden = !message;
  }

  function showError(message) {
    $('error').textContent = message;
    $('error').hidden = false;
  }

  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('token').value = '';
    load();
  });
  $('logout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin('');
  });
  $('refresh').addEventListener('click', load);
  $('days').addEventListener('change', load);
  load();
})();
