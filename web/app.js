// The chat and buy page. Plain script, no build step, same-origin API only.
// The logic that does not touch the DOM (API envelope, streaming, conversations, payment
// watching) is exported for node tests (web/test/app.test.mjs); boot() wires it to the page.
(function (root) {
  'use strict';

  const OK = '0000';
  const UNAUTHORISED = '0003';
  const KEYS = {
    token: 'chatglmd.token',
    conversations: 'chatglmd.conversations',
    current: 'chatglmd.current',
    model: 'chatglmd.model',
  };
  const MAX_CONVERSATIONS = 50;
  // How much history goes with a question: enough for context, well under the body limit.
  const HISTORY_MESSAGES = 20;
  const HISTORY_CHARS = 60000;
  const PAY_POLL_MS = 2000;
  const PAY_WATCH_MS = 10 * 60 * 1000;

  // ---------------------------------------------------------------- messages in Chinese

  // The API keeps its own (English) messages for scripts; the page says what each code means.
  const CODE_TEXT = {
    '0001': '服务器出错了，请稍后再试。',
    '0002': '请求有误，请检查后重试。',
    '0003': '未登录或登录已过期，请重新登录。',
    '0004': '请求的接口不存在。',
    '0005': '操作太频繁，请稍等一分钟再试。',
    '0006': '对话次数已用完，请购买额度后继续。',
    '0007': '账户已被冻结，请联系客服。',
    '0008': '当前套餐不包含所选模型，请换一个模型或购买对应套餐。',
    '0009': '模型服务暂时出错，本次未扣除对话次数，请稍后再试。',
    '0010': '服务暂时无法保存数据，本次未扣除对话次数，请稍后再试。',
    OE001: '该商品已下架。',
    HTTP413: '内容太长，请缩短后再试。',
    NETWORK: '网络错误，请检查网络后重试。',
  };
  // The /v1 paths answer OpenAI errors; their `type` (and `code` where it says more).
  const OPENAI_TEXT = {
    invalid_api_key: CODE_TEXT['0003'],
    account_frozen: CODE_TEXT['0007'],
    model_not_allowed: CODE_TEXT['0008'],
    insufficient_quota: CODE_TEXT['0006'],
    rate_limit_exceeded: CODE_TEXT['0005'],
    store_unavailable: CODE_TEXT['0010'],
    content_filter: '问题包含不允许的内容，请修改后再试。',
    timeout: '模型服务响应超时，请稍后再试。',
    invalid_request_error: CODE_TEXT['0002'],
    authentication_error: CODE_TEXT['0003'],
    permission_error: '没有权限进行此操作。',
    rate_limit_error: CODE_TEXT['0005'],
    server_error: CODE_TEXT['0001'],
    upstream_error: '模型服务暂时出错，请稍后再试。',
  };

  // The Chinese text for an envelope result {code} or an OpenAI error {error: {type, code}}.
  function chineseError(result) {
    if (result && result.error && typeof result.error === 'object') {
      const e = result.error;
      return OPENAI_TEXT[e.code] || OPENAI_TEXT[e.type] || '请求失败，请稍后再试。';
    }
    const code = result && result.code;
    if (CODE_TEXT[code]) return CODE_TEXT[code];
    if (typeof code === 'string' && code.startsWith('HTTP')) return '服务暂时不可用（HTTP ' + code.slice(4) + '），请稍后再试。';
    return '请求失败（' + (code || '未知错误') + '），请稍后再试。';
  }

  // ---------------------------------------------------------------- Markdown

  // Markdown -> sanitised DOM: marked builds HTML, DOMPurify keeps only harmless elements and
  // attributes and hands back a fragment (no HTML string is ever assigned to the page).
  function renderMarkdown(text, libs) {
    // Trimmed: the newline marked puts after the last block would be text after the answer.
    const html = libs.marked.parse(String(text), { gfm: true, breaks: true, async: false }).trim();
    // An allowlist, not a denylist: DOMPurify's default profile keeps video/audio/source,
    // SVG <image> and src/poster/srcset/background, any of which would make the browser fetch
    // a URL the model was talked into writing. Links stay (they load only when clicked).
    return libs.DOMPurify.sanitize(html, {
      RETURN_DOM_FRAGMENT: true,
      ALLOWED_TAGS: ['p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'strong', 'em', 'del',
        's', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'table', 'thead', 'tbody', 'tr',
        'th', 'td', 'span'],
      ALLOWED_ATTR: ['href', 'title', 'class', 'start', 'align'],
      ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
    });
  }

  // ---------------------------------------------------------------- API

  function authHeaders(token) {
    return token ? { Authorization: 'Bearer ' + token } : {};
  }

  function form(fields) {
    return new URLSearchParams(fields);
  }

  // Every envelope endpoint answers {code, info, data}; anything else (a proxy error page, a
  // 413) becomes an envelope too so callers handle one shape.
  async function readEnvelope(response) {
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      body = null;
    }
    if (body && typeof body.code === 'string') {
      return { ok: body.code === OK, code: body.code, info: body.info || '', data: body.data };
    }
    if (response.status === 413) return { ok: false, code: 'HTTP413', info: CODE_TEXT.HTTP413, data: null };
    return { ok: false, code: 'HTTP' + response.status, info: '服务暂时不可用 (HTTP ' + response.status + ')', data: null };
  }

  function networkFailure(error) {
    return { ok: false, code: 'NETWORK', info: '网络错误：' + (error && error.message ? error.message : error), data: null };
  }

  class Api {
    constructor(fetchFn, getToken) {
      this.fetch = fetchFn;
      this.getToken = getToken;
    }

    async envelope(method, path, fields) {
      const init = { method, headers: authHeaders(this.getToken()) };
      if (fields) init.body = form(fields);
      try {
        return await readEnvelope(await this.fetch(path, init));
      } catch (e) {
        return networkFailure(e);
      }
    }

    login(code) { return this.envelope('POST', '/api/v1/auth/login', { code }); }
    products() { return this.envelope('GET', '/api/v1/sale/query_product_list'); }
    createOrder(productId) {
      return this.envelope('POST', '/api/v1/sale/create_pay_order', { productId: String(productId) });
    }
    quota() { return this.envelope('POST', '/api/v1/account/query_account_quota'); }

    // /v1/models speaks OpenAI, not the envelope.
    async models() {
      try {
        const response = await this.fetch('/v1/models', { headers: authHeaders(this.getToken()) });
        if (!response.ok) return [];
        const body = await response.json();
        return Array.isArray(body && body.data) ? body.data.map((m) => m.id).filter(Boolean) : [];
      } catch (e) {
        return [];
      }
    }

    // Streams an answer: onChunk(text) for each piece as it arrives. Resolves to
    // {ok:true, text, stopped} or a refusal {ok:false, code, info} (sent as a JSON envelope).
    async chat(model, messages, { signal, onChunk }) {
      let response;
      try {
        response = await this.fetch('/api/v1/chatgpt/chat/completions', {
          method: 'POST',
          headers: Object.assign({ 'Content-Type': 'application/json' }, authHeaders(this.getToken())),
          body: JSON.stringify({ model, messages }),
          signal,
        });
      } catch (e) {
        if (isAbort(e)) return { ok: true, text: '', stopped: true };
        return networkFailure(e);
      }
      const type = response.headers.get('Content-Type') || '';
      if (type.includes('application/json') || !response.ok || !response.body) {
        return readEnvelope(response);
      }
      return readStream(response.body, onChunk);
    }
  }

  function isAbort(e) {
    return e && (e.name === 'AbortError' || e.code === 20);
  }

  // Raw text chunks, no framing; the end of the body is the end of the answer. A multi-byte
  // character split across chunks is held back by the streaming decoder until it is whole.
  async function readStream(body, onChunk) {
    const reader = body.getReader();
    const decoder = new TextDecoder('utf-8');
    let text = '';
    const emit = (piece) => {
      if (!piece) return;
      text += piece;
      if (onChunk) onChunk(piece);
    };
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        emit(decoder.decode(value, { stream: true }));
      }
    } catch (e) {
      emit(decoder.decode());
      if (isAbort(e)) return { ok: true, text, stopped: true };
      return { ok: false, code: 'NETWORK', info: '回答中断：' + (e.message || e), text };
    }
    emit(decoder.decode());
    return { ok: true, text, stopped: false };
  }

  // create_pay_order answers either a QR URL (precreate mode) or an auto-submit form (page mode).
  function classifyPayData(data) {
    if (typeof data !== 'string' || data.trim() === '') return { kind: 'none' };
    const text = data.trim();
    if (/^https?:\/\//i.test(text)) return { kind: 'qr', url: text };
    if (/<form[\s>]/i.test(text)) return { kind: 'form', html: text };
    return { kind: 'none' };
  }

  // The form Alipay gives us, rebuilt from its action and fields only: its own script would
  // submit document.forms[0], which on this page is not its form.
  function extractPayForm(html, parseHtml) {
    const doc = parseHtml(html);
    const source = doc && doc.querySelector('form');
    if (!source) return null;
    const action = source.getAttribute('action') || '';
    if (!/^https?:\/\//i.test(action)) return null;
    const fields = [];
    for (const input of source.querySelectorAll('input[name], textarea[name]')) {
      fields.push([input.getAttribute('name'), input.value !== undefined ? input.value : input.getAttribute('value') || '']);
    }
    const method = (source.getAttribute('method') || 'post').toLowerCase() === 'get' ? 'get' : 'post';
    return { action, method, fields };
  }

  // ---------------------------------------------------------------- conversations

  function newId() {
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
  }

  function titleOf(text) {
    const line = String(text).trim().split('\n')[0];
    return line.length > 24 ? line.slice(0, 24) + '…' : line || '新对话';
  }

  // Conversations live in localStorage; a full or unavailable storage degrades to memory.
  class ConversationStore {
    constructor(storage) {
      this.storage = storage;
      this.items = [];
      try {
        const saved = JSON.parse(storage.getItem(KEYS.conversations) || '[]');
        if (Array.isArray(saved)) this.items = saved.filter((c) => c && c.id && Array.isArray(c.messages));
      } catch (e) {
        this.items = [];
      }
      this.currentId = storage.getItem(KEYS.current);
      if (!this.get(this.currentId)) this.currentId = this.items.length ? this.items[0].id : null;
    }

    list() { return this.items.slice().sort((a, b) => b.updatedAt - a.updatedAt); }
    get(id) { return this.items.find((c) => c.id === id) || null; }
    current() { return this.get(this.currentId); }

    create() {
      const conversation = { id: newId(), title: '新对话', messages: [], updatedAt: Date.now() };
      this.items.push(conversation);
      this.currentId = conversation.id;
      this.trim();
      this.save();
      return conversation;
    }

    select(id) {
      if (!this.get(id)) return false;
      this.currentId = id;
      this.save();
      return true;
    }

    remove(id) {
      this.items = this.items.filter((c) => c.id !== id);
      if (this.currentId === id) {
        const rest = this.list();
        this.currentId = rest.length ? rest[0].id : null;
      }
      this.save();
    }

    // Adds a message to a conversation; the first user message names it.
    append(id, role, content) {
      const conversation = this.get(id);
      if (!conversation) return null;
      const message = { role, content };
      conversation.messages.push(message);
      if (role === 'user' && conversation.title === '新对话') conversation.title = titleOf(content);
      conversation.updatedAt = Date.now();
      this.save();
      return message;
    }

    // Takes back the last message if it has this role (a refused question goes back to the
    // prompt box instead of poisoning the history sent with every later question).
    removeLast(id, role) {
      const conversation = this.get(id);
      const last = conversation && conversation.messages[conversation.messages.length - 1];
      if (!last || last.role !== role) return null;
      conversation.messages.pop();
      this.save();
      return last;
    }

    // Oldest conversations go first when there are too many.
    trim() {
      if (this.items.length <= MAX_CONVERSATIONS) return;
      const keep = new Set(this.list().slice(0, MAX_CONVERSATIONS).map((c) => c.id));
      this.items = this.items.filter((c) => keep.has(c.id));
    }

    save() {
      try {
        this.storage.setItem(KEYS.conversations, JSON.stringify(this.items));
        if (this.currentId) this.storage.setItem(KEYS.current, this.currentId);
        else this.storage.removeItem(KEYS.current);
      } catch (e) {
        // Storage full or blocked: the conversation still works for this visit.
      }
    }
  }

  // The messages sent with a question: the latest ones, within a size budget, starting with a
  // user message so the model never sees an orphan answer first.
  function historyFor(messages) {
    const picked = [];
    let chars = 0;
    for (let i = messages.length - 1; i >= 0 && picked.length < HISTORY_MESSAGES; i--) {
      const m = messages[i];
      if (!m.content) continue;
      if (chars + m.content.length > HISTORY_CHARS && picked.length > 0) break;
      chars += m.content.length;
      picked.unshift({ role: m.role, content: m.content });
    }
    while (picked.length > 1 && picked[0].role !== 'user') picked.shift();
    return picked;
  }

  // ---------------------------------------------------------------- payment watch

  // After an order, polls the quota until surplusQuota rises above what it was (paid) or the
  // watch ends. Time and timers are injected so tests need no waiting.
  class PaymentWatcher {
    constructor({ fetchQuota, onPaid, onTimeout, onQuota, now, setTimer, clearTimer,
      interval = PAY_POLL_MS, limit = PAY_WATCH_MS }) {
      Object.assign(this, { fetchQuota, onPaid, onTimeout, onQuota, now, setTimer, clearTimer, interval, limit });
      this.timer = null;
      this.active = false;
    }

    start(baseline) {
      this.stop();
      this.baseline = baseline;
      this.deadline = this.now() + this.limit;
      this.active = true;
      this.schedule();
    }

    stop() {
      this.active = false;
      if (this.timer !== null) this.clearTimer(this.timer);
      this.timer = null;
    }

    schedule() {
      this.timer = this.setTimer(() => this.poll(), this.interval);
    }

    async poll() {
      this.timer = null;
      if (!this.active) return;
      const quota = await this.fetchQuota();
      if (!this.active) return;
      if (quota && typeof quota.surplusQuota === 'number') {
        if (this.onQuota) this.onQuota(quota);
        if (quota.surplusQuota > this.baseline) {
          this.active = false;
          this.onPaid(quota.surplusQuota - this.baseline, quota);
          return;
        }
      }
      if (this.now() >= this.deadline) {
        this.active = false;
        if (this.onTimeout) this.onTimeout();
        return;
      }
      this.schedule();
    }
  }

  function formatPrice(product) {
    if (typeof product.priceFen === 'number') return (product.priceFen / 100).toFixed(2);
    const price = Number(product.price);
    return Number.isFinite(price) ? price.toFixed(2) : String(product.price);
  }

  // ---------------------------------------------------------------- page

  function boot(document, window) {
    const $ = (id) => document.getElementById(id);
    const storage = safeStorage(window);
    let token = storage.getItem(KEYS.token) || '';
    const api = new Api(window.fetch.bind(window), () => token);
    const conversations = new ConversationStore(storage);
    let controller = null;
    let lastQuota = null;

    const ui = {
      loginPanel: $('login-panel'), session: $('session'), logout: $('logout-btn'),
      code: $('login-code'), token: $('login-token'), loginBtn: $('login-btn'),
      model: $('model'), prompt: $('prompt'), send: $('send'), stop: $('stop'),
      messages: $('messages'), quota: $('quota'), quotaTotal: $('quota-total'),
      products: $('products'), payArea: $('pay-area'), notice: $('notice'), error: $('error'),
      convList: $('conversations'), newConv: $('new-conversation'), composer: $('composer'),
    };

    const watcher = new PaymentWatcher({
      fetchQuota: async () => {
        const r = await api.quota();
        return r.ok ? r.data : null;
      },
      onQuota: showQuota,
      onPaid: (added) => {
        showNotice('支付成功，已到账 ' + added + ' 次额度。', 'success');
        ui.payArea.replaceChildren();
      },
      onTimeout: () => showNotice('未检测到付款。若已付款，请稍后刷新页面查看额度。', 'info'),
      now: () => Date.now(),
      setTimer: (fn, ms) => window.setTimeout(fn, ms),
      clearTimer: (t) => window.clearTimeout(t),
    });

    function showError(text) {
      ui.error.textContent = text || '';
      ui.error.hidden = !text;
    }

    function showNotice(text, kind) {
      ui.notice.textContent = text || '';
      ui.notice.dataset.kind = kind || 'info';
      ui.notice.hidden = !text;
    }

    function handleRefusal(result) {
      if (result.code === UNAUTHORISED) setToken('');
      showError(chineseError(result));
    }

    function setToken(value) {
      token = value;
      if (value) storage.setItem(KEYS.token, value);
      else storage.removeItem(KEYS.token);
      renderSession();
    }

    function renderSession() {
      const loggedIn = Boolean(token);
      document.body.classList.toggle('logged-in', loggedIn);
      ui.loginPanel.hidden = loggedIn;
      ui.session.hidden = !loggedIn;
      if (!loggedIn) {
        ui.quota.textContent = '–';
        ui.quotaTotal.textContent = '';
        lastQuota = null;
      }
    }

    function showQuota(q) {
      lastQuota = q;
      ui.quota.textContent = String(q.surplusQuota);
      ui.quota.dataset.surplus = String(q.surplusQuota);
      ui.quotaTotal.textContent = '/ ' + q.totalQuota;
      ui.quota.classList.toggle('empty', q.surplusQuota <= 0);
      if (q.status === 1) showError('账户已被冻结，请联系客服。');
    }

    async function refreshQuota() {
      if (!token) return null;
      const r = await api.quota();
      if (r.ok && r.data) {
        showQuota(r.data);
        return r.data;
      }
      if (r.code === UNAUTHORISED) handleRefusal(r);
      return null;
    }

    // The list is loaded at start and again after a login; only the newest load fills the
    // menu, and data-loaded marks it filled (the browser tests wait for it).
    let modelLoads = 0;
    async function loadModels() {
      const mine = ++modelLoads;
      delete ui.model.dataset.loaded;
      const models = await api.models();
      if (mine !== modelLoads) return;
      const saved = storage.getItem(KEYS.model);
      ui.model.replaceChildren();
      const list = models.length ? models : ['glm-4'];
      for (const id of list) {
        const option = document.createElement('option');
        option.value = id;
        option.textContent = id;
        ui.model.append(option);
      }
      if (saved && list.includes(saved)) ui.model.value = saved;
      ui.model.dataset.loaded = 'true';
    }

    async function loadProducts() {
      const r = await api.products();
      ui.products.replaceChildren();
      if (!r.ok) {
        ui.products.textContent = '商品列表加载失败：' + chineseError(r);
        return;
      }
      for (const p of r.data || []) {
        const card = document.createElement('div');
        card.className = 'product';
        const name = document.createElement('div');
        name.className = 'product-name';
        name.textContent = p.productName;
        const desc = document.createElement('div');
        desc.className = 'product-desc';
        desc.textContent = p.productDesc || (p.quota + ' 次对话');
        const price = document.createElement('div');
        price.className = 'product-price';
        price.textContent = '¥' + formatPrice(p);
        const buy = document.createElement('button');
        buy.type = 'button';
        buy.className = 'buy';
        buy.dataset.productId = String(p.productId);
        buy.textContent = '购买';
        buy.addEventListener('click', () => buyProduct(p, buy));
        card.append(name, desc, price, buy);
        ui.products.append(card);
      }
      if (!ui.products.children.length) ui.products.textContent = '暂无可购买的商品';
    }

    async function buyProduct(product, button) {
      showError('');
      if (!token) {
        showError('请先登录再购买。');
        ui.code.focus();
        return;
      }
      button.disabled = true;
      const before = lastQuota || (await refreshQuota());
      const r = await api.createOrder(product.productId);
      button.disabled = false;
      if (!r.ok) {
        handleRefusal(r);
        return;
      }
      const pay = classifyPayData(r.data);
      ui.payArea.replaceChildren();
      const title = document.createElement('div');
      title.className = 'pay-title';
      title.textContent = product.productName + ' · ¥' + formatPrice(product);
      ui.payArea.append(title);
      if (pay.kind === 'qr') renderQr(pay.url);
      else if (pay.kind === 'form') renderPayForm(pay.html);
      else {
        showError('支付信息无法识别，请稍后重试。');
        return;
      }
      showNotice('等待付款… 付款后额度会自动到账。', 'info');
      watcher.start(before ? before.surplusQuota : 0);
    }

    // The QR code from qrcode-generator (web/vendor/qrcode.js), drawn module by module.
    function renderQr(url) {
      const canvas = document.createElement('canvas');
      canvas.className = 'pay-qr';
      canvas.setAttribute('aria-label', '支付宝付款二维码');
      try {
        const qr = root.qrcode(0, 'M');
        qr.addData(url, 'Byte');
        qr.make();
        const n = qr.getModuleCount();
        const scale = 5;
        const quiet = 4;
        canvas.width = canvas.height = (n + 2 * quiet) * scale;
        const g = canvas.getContext('2d');
        if (g) {  // null where canvases are not drawn (jsdom); the link below still works
          g.fillStyle = '#fff';
          g.fillRect(0, 0, canvas.width, canvas.height);
          g.fillStyle = '#000';
          for (let r = 0; r < n; r++) {
            for (let c = 0; c < n; c++) {
              if (qr.isDark(r, c)) g.fillRect((c + quiet) * scale, (r + quiet) * scale, scale, scale);
            }
          }
        }
        canvas.dataset.modules = String(n);
        ui.payArea.append(canvas);
      } catch (e) {
        // Too long for a QR code: the link below still works.
        root.console.warn('QR code not drawn:', e);
      }
      const hint = document.createElement('p');
      hint.textContent = '请用支付宝扫码付款，或打开链接：';
      const link = document.createElement('a');
      link.href = url;
      link.target = '_blank';
      link.rel = 'noopener';
      link.className = 'pay-link';
      link.textContent = url;
      ui.payArea.append(hint, link);
    }

    function renderPayForm(html) {
      const parsed = extractPayForm(html, (h) => new window.DOMParser().parseFromString(h, 'text/html'));
      if (!parsed) {
        showError('支付表单无效，请稍后重试。');
        return;
      }
      const f = document.createElement('form');
      f.action = parsed.action;
      f.method = parsed.method;
      f.target = '_blank';
      f.className = 'pay-form';
      for (const [name, value] of parsed.fields) {
        const input = document.createElement('input');
        input.type = 'hidden';
        input.name = name;
        input.value = value;
        f.append(input);
      }
      const submit = document.createElement('button');
      submit.type = 'submit';
      submit.className = 'primary';
      submit.textContent = '前往支付宝付款';
      f.append(submit);
      const hint = document.createElement('p');
      hint.textContent = '支付页面会在新窗口打开；若未打开，请点击上方按钮。';
      ui.payArea.append(f, hint);
      // Still inside the click's user activation in current browsers, so the new tab is allowed;
      // when a blocker stops it, the button above does the same with a fresh click.
      try {
        f.submit();
      } catch (e) {
        root.console.warn('pay form not submitted automatically:', e);
      }
    }

    // ---- conversations and messages

    function renderConversations() {
      ui.convList.replaceChildren();
      for (const c of conversations.list()) {
        const item = document.createElement('li');
        item.className = 'conv' + (c.id === conversations.currentId ? ' active' : '');
        const open = document.createElement('button');
        open.type = 'button';
        open.className = 'conv-open';
        open.textContent = c.title;
        open.title = c.title;
        open.addEventListener('click', () => {
          if (controller) return;
          conversations.select(c.id);
          renderConversations();
          renderMessages();
        });
        const del = document.createElement('button');
        del.type = 'button';
        del.className = 'conv-delete';
        del.textContent = '×';
        del.title = '删除对话';
        del.setAttribute('aria-label', '删除对话');
        del.addEventListener('click', () => {
          if (controller && c.id === conversations.currentId) return;
          conversations.remove(c.id);
          renderConversations();
          renderMessages();
        });
        item.append(open, del);
        ui.convList.append(item);
      }
    }

    const libs = { marked: root.marked, DOMPurify: root.DOMPurify, hljs: root.hljs };

    // An answer as Markdown: sanitised, links opened in a new tab, code highlighted (by
    // highlight.js, which escapes what it colours) and given a copy button.
    function renderAnswer(el, text) {
      if (!libs.marked || !libs.DOMPurify) {
        el.textContent = text;
        return;
      }
      el.replaceChildren(renderMarkdown(text, libs));
      for (const a of el.querySelectorAll('a[href]')) {
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
      }
      for (const code of el.querySelectorAll('pre > code')) {
        if (libs.hljs) {
          try {
            libs.hljs.highlightElement(code);
          } catch (e) {
            // An unknown language stays plain text.
          }
        }
        const copy = document.createElement('button');
        copy.type = 'button';
        copy.className = 'copy-code';
        copy.textContent = '复制';
        copy.addEventListener('click', async () => {
          try {
            await root.navigator.clipboard.writeText(code.textContent);
            copy.textContent = '已复制';
          } catch (e) {
            copy.textContent = '复制失败';
          }
          root.setTimeout(() => { copy.textContent = '复制'; }, 1500);
        });
        code.parentElement.classList.add('has-copy');
        code.parentElement.append(copy);
      }
    }

    function messageElement(role, content) {
      const el = document.createElement('div');
      el.className = 'msg ' + (role === 'user' ? 'msg-user' : 'msg-assistant');
      if (role === 'user') el.textContent = content;
      else renderAnswer(el, content);
      return el;
    }

    function markLatestAnswer(el) {
      const previous = document.getElementById('answer');
      if (previous && previous !== el) previous.removeAttribute('id');
      el.id = 'answer';
    }

    function renderMessages() {
      ui.messages.replaceChildren();
      const c = conversations.current();
      if (!c || !c.messages.length) {
        const empty = document.createElement('div');
        empty.className = 'empty-state';
        empty.textContent = '有什么可以帮你的？';
        ui.messages.append(empty);
        return;
      }
      let last = null;
      for (const m of c.messages) {
        const el = messageElement(m.role, m.content);
        ui.messages.append(el);
        if (m.role === 'assistant') last = el;
      }
      if (last) markLatestAnswer(last);
      ui.messages.scrollTop = ui.messages.scrollHeight;
    }

    function setBusy(busy) {
      ui.send.disabled = busy;
      ui.stop.disabled = !busy;
      ui.stop.hidden = !busy;
      ui.composer.classList.toggle('busy', busy);
    }

    async function send() {
      const text = ui.prompt.value.trim();
      if (!text || controller) return;
      showError('');
      if (!token) {
        showError('请先登录。');
        ui.code.focus();
        return;
      }
      const conversation = conversations.current() || conversations.create();
      conversations.append(conversation.id, 'user', text);
      ui.prompt.value = '';
      renderConversations();
      renderMessages();

      const answerEl = messageElement('assistant', '');
      answerEl.classList.add('streaming');
      ui.messages.append(answerEl);
      markLatestAnswer(answerEl);
      // Re-rendered at most once a frame while the answer streams in.
      let streamed = '';
      let frame = null;
      const paint = () => {
        frame = null;
        const nearBottom = ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 80;
        renderAnswer(answerEl, streamed);
        if (nearBottom) ui.messages.scrollTop = ui.messages.scrollHeight;
      };

      controller = new AbortController();
      setBusy(true);
      const model = ui.model.value;
      const result = await api.chat(model, historyFor(conversation.messages), {
        signal: controller.signal,
        onChunk: (piece) => {
          streamed += piece;
          if (frame === null) frame = root.requestAnimationFrame(paint);
        },
      });
      if (frame !== null) root.cancelAnimationFrame(frame);
      if (streamed) paint();
      controller = null;
      setBusy(false);
      answerEl.classList.remove('streaming');

      if (result.ok || result.text) {
        const text = result.text || '';
        if (text) conversations.append(conversation.id, 'assistant', text);
        if (result.stopped) answerEl.classList.add('stopped');
        if (!text) answerEl.classList.add('no-text');
      }
      if (!result.ok) {
        answerEl.classList.add('refused');
        if (!result.text) {
          answerEl.textContent = chineseError(result);
          const taken = conversations.removeLast(conversation.id, 'user');
          if (taken && !ui.prompt.value) ui.prompt.value = taken.content;
        }
        handleRefusal(result);
      }
      refreshQuota();
      ui.prompt.focus();
    }

    function stop() {
      if (controller) controller.abort();
    }

    // ---- events

    ui.loginBtn.addEventListener('click', async () => {
      showError('');
      const pasted = ui.token.value.trim();
      if (pasted) {
        setToken(pasted);
        ui.token.value = '';
        const q = await refreshQuota();
        if (q || token) afterLogin();
        return;
      }
      const code = ui.code.value.trim();
      if (!code) {
        showError('请输入公众号回复的登录验证码，或粘贴令牌。');
        return;
      }
      ui.loginBtn.disabled = true;
      const r = await api.login(code);
      ui.loginBtn.disabled = false;
      if (!r.ok || typeof r.data !== 'string' || !r.data) {
        showError(r.code === UNAUTHORISED ? '验证码错误或已过期，请在公众号重新获取。' : chineseError(r));
        return;
      }
      ui.code.value = '';
      setToken(r.data);
      afterLogin();
    });
    for (const input of [ui.code, ui.token]) {
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') ui.loginBtn.click();
      });
    }
    ui.logout.addEventListener('click', () => {
      watcher.stop();
      setToken('');
      showNotice('');
    });
    ui.send.addEventListener('click', send);
    ui.stop.addEventListener('click', stop);
    ui.prompt.addEventListener('keydown', (e) => {
      // Enter sends, Shift+Enter breaks the line; never while an input method is composing.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        send();
      }
    });
    ui.model.addEventListener('change', () => storage.setItem(KEYS.model, ui.model.value));
    ui.newConv.addEventListener('click', () => {
      if (controller) return;
      conversations.create();
      renderConversations();
      renderMessages();
      ui.prompt.focus();
    });

    function afterLogin() {
      showNotice('');
      refreshQuota();
      loadModels();
    }

    renderSession();
    setBusy(false);
    renderConversations();
    renderMessages();
    loadModels();
    loadProducts();
    if (token) refreshQuota();
  }

  // localStorage can throw (privacy modes); the page then remembers nothing between visits.
  function safeStorage(window) {
    try {
      const s = window.localStorage;
      const probe = '__chatglmd_probe__';
      s.setItem(probe, '1');
      s.removeItem(probe);
      return s;
    } catch (e) {
      const map = new Map();
      return {
        getItem: (k) => (map.has(k) ? map.get(k) : null),
        setItem: (k, v) => map.set(k, String(v)),
        removeItem: (k) => map.delete(k),
      };
    }
  }

  const exported = {
    Api, ConversationStore, PaymentWatcher, readEnvelope, readStream, classifyPayData,
    extractPayForm, historyFor, formatPrice, KEYS, chineseError, renderMarkdown, CODE_TEXT, OPENAI_TEXT,
  };
  if (typeof module === 'object' && module.exports) {
    module.exports = exported;
  } else {
    root.ChatApp = exported;
    const start = () => boot(root.document, root);
    if (root.document.readyState === 'loading') root.document.addEventListener('DOMContentLoaded', start);
    else start();
  }
})(typeof self !== 'undefined' ? self : this);
