// Shared harness of the e2e suites: a real chatglmd-sim and a real `chatglmd serve` on free
// loopback ports in a temp folder, wired the way tests/sim/demo.sh wires them, seeded through
// the admin CLI, and stopped at the end of the test file (also when a test fails, and also when
// the node process dies).
//
//   const stack = await startStack({ simArgs: ['--chunk-delay-ms', '20'], config: { 'alipay.mode': 'precreate' } });
//   await stack.cli('product', 'add', '--id', '1002', ...);
//   const token = await stack.token('buyer-1');
//   ...
//   await stack.stop();
//
// Binaries come from $CHATGLMD_BUILD_DIR/bin; a missing binary is an error, not a skip.
import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const sourceDir = resolve(here, '../..');
export const fixtures = join(sourceDir, 'tests/fixtures');
export const buildDir = resolve(process.env.CHATGLMD_BUILD_DIR ?? join(sourceDir, 'build'));

// The pages' Content-Security-Policy refuses inline styles and event handlers, and Chromium
// reports every one it meets, also in the inert documents where foreign HTML is parsed before
// use: DOMPurify's parse of a model's answer, and the page-pay form read out of the gateway's
// page with DOMParser. Those two places' refusals are of foreign markup, not errors of the page;
// the same refusal anywhere else (the page's own script setting a style or a handler), and any
// other refusal, stays an error. Playwright counts lines from 0.
const payFormParseLine = readFileSync(join(sourceDir, 'web/app.js'), 'utf8').split('\n')
  .findIndex((line) => line.includes('DOMParser().parseFromString'));
export const isForeignMarkupRefusal = (message) => {
  if (!/^(Applying inline style|Executing inline event handler) violates the following Content Security Policy directive/.test(message.text())) return false;
  const { url, lineNumber } = message.location();
  const path = url ? new URL(url).pathname : '';
  return path === '/vendor/purify.min.js' || (path === '/app.js' && lineNumber === payFormParseLine);
};

export const bin = (name) => {
  const path = join(buildDir, 'bin', name);
  if (!existsSync(path)) throw new Error(`${path} is missing: build it (CHATGLMD_BUILD_DIR=${buildDir})`);
  return path;
};

export const APP_ID = '2021000000000001';
export const SELLER_ID = '2088102177649450';
export const GLM_API_KEY = 'e2e-key-id.e2e-key-secret-0123456789';
export const WECHAT_TOKEN = 'e2e-wechat-token';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Children still alive when node exits (a crash, an uncaught error, the test runner's timeout
// signal) are killed with it.
const children = new Set();
const killChildren = () => {
  for (const child of children) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
};
process.on('exit', killChildren);
for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15]]) {
  process.once(signal, () => {
    killChildren();
    process.exit(128 + number);
  });
}

function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

// Polls `check` until it returns a truthy value or `ms` pass; the value is returned.
export async function eventually(check, { ms = 10000, every = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(every);
  }
}

// chatglmd reads every CHATGLMD_* variable as a config key and refuses unknown ones
// (CHATGLMD_BUILD_DIR among them): the daemon and the sim get an environment without them.
export const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CHATGLMD_')));

function startProcess(path, args, logFile) {
  const child = track(spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv }));
  const log = [];
  const keep = (d) => {
    log.push(d);
    writeFileSync(logFile, Buffer.concat(log));
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  child.logText = () => Buffer.concat(log).toString('utf8');
  return child;
}

async function stopProcess(child, ms = 10000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const result = await child.exited;
  clearTimeout(timer);
  return result;
}

// chatglmd-sim alone (both halves, fixture keys), on a port it picks itself.
export async function startSim({ args = [], dir } = {}) {
  const own = !dir;
  dir ??= mkdtempSync(join(tmpdir(), 'chatglmd-e2e-sim-'));
  const portFile = join(dir, 'sim.port');
  const child = startProcess(bin('chatglmd-sim'), [
    '--port', '0', '--port-file', portFile,
    '--alipay-key', join(fixtures, 'ali_pkcs1.pem'), '--app-public-key', join(fixtures, 'app_pub.pem'),
    '--seller-id', SELLER_ID, '--glm-api-key', GLM_API_KEY,
    '--exit-after-idle', '300',  // an orphan (node killed with SIGKILL) still goes away by itself
    ...args,
  ], join(dir, 'sim.log'));
  const port = await eventually(() => {
    if (child.exitCode !== null) throw new Error(`chatglmd-sim exited: ${child.logText()}`);
    return existsSync(portFile) && Number(readFileSync(portFile, 'utf8').trim());
  }, { what: 'chatglmd-sim port file' }).catch(async (e) => {
    await stopProcess(child);
    throw e;
  });
  const base = `http://127.0.0.1:${port}`;
  const control = async (path, body) => {
    const r = await fetch(base + path, body === undefined ? {} : {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`sim ${path}: HTTP ${r.status} ${text}`);
    return JSON.parse(text);
  };
  return {
    port, base, dir, child,
    glm: (path, body) => control(`/sim/glm/${path}`, body),
    alipay: (path, body) => control(`/sim/alipay/${path}`, body),
    log: () => child.logText(),
    stop: async () => {
      await stopProcess(child);
      if (own) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function iniText(config) {
  const sections = new Map();
  for (const [key, value] of Object.entries(config)) {
    const dot = key.lastIndexOf('.');
    const section = key.slice(0, dot);
    if (!sections.has(section)) sections.set(section, []);
    sections.get(section).push(`${key.slice(dot + 1)} = ${value}`);
  }
  return [...sections].map(([s, lines]) => `[${s}]\n${lines.join('\n')}\n`).join('\n');
}

// A sim plus `chatglmd serve` wired to it. `config` overrides INI keys ("section.key": value).
export async function startStack({ simArgs = [], config = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'chatglmd-e2e-'));
  chmodSync(dir, 0o700);
  let sim;
  let serve;
  const stack = { dir };
  try {
    sim = await startSim({ args: simArgs, dir });
    writeFileSync(join(dir, 'token_secret'), 'e2e-token-secret-0123456789abcdef\n', { mode: 0o600 });
    writeFileSync(join(dir, 'glm_key'), `${GLM_API_KEY}\n`, { mode: 0o600 });
    const ini = join(dir, 'chatglmd.ini');
    const cli = (...args) => new Promise((resolveCli, reject) => {
      execFile(bin('chatglmd'), ['-c', ini, ...args], { encoding: 'utf8', env: childEnv }, (error, stdout, stderr) => {
        if (error) reject(new Error(`chatglmd ${args.join(' ')} failed (${error.code}): ${stderr}${stdout}`));
        else resolveCli(stdout);
      });
    });

    // The port is picked, then bound by serve: another process may take it in between, so a
    // serve that exits at once is tried again on a new port.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      writeFileSync(ini, iniText({
        'store.path': join(dir, 'chatglmd.db'),
        'store.synchronous': 'NORMAL',
        'http.listen': `127.0.0.1:${port}`,
        'http.web_dir': join(sourceDir, 'web'),
        'auth.token_secret_file': join(dir, 'token_secret'),
        'auth.wechat_token': WECHAT_TOKEN,
        'alipay.gateway': `${sim.base}/gateway.do`,
        'alipay.app_id': APP_ID,
        'alipay.private_key_file': join(fixtures, 'app_pkcs1.pem'),
        'alipay.alipay_public_key_file': join(fixtures, 'ali_pub.pem'),
        'alipay.seller_id': SELLER_ID,
        'alipay.notify_url': `${base}/api/v1/sale/pay_notify`,
        'alipay.return_url': `${base}/`,
        'alipay.mode': 'page',
        'alipay.timeout': '5s',
        'chatglm.base_url': `${sim.base}/api/paas/v4`,
        'chatglm.api_key_file': join(dir, 'glm_key'),
        'chatglm.models': 'glm-4,glm-3-turbo',
        'chat.rate_limit': '0',
        ...config,
      }));
      if (attempt === 1) await cli('migrate');
      serve = startProcess(bin('chatglmd'), ['-c', ini, 'serve'], join(dir, 'serve.log'));
      const up = await eventually(async () => {
        if (serve.exitCode !== null) return 'exited';
        const r = await fetch(`${base}/healthz`);
        return r.status === 200 && 'up';
      }, { ms: 15000, what: 'chatglmd serve /healthz' });
      if (up === 'up') {
        Object.assign(stack, { port, base, ini });
        break;
      }
      if (attempt >= 3) throw new Error(`chatglmd serve did not start:\n${serve.logText()}`);
    }

    Object.assign(stack, {
      sim,
      cli,
      serveLog: () => serve.logText(),
      // A user token for any openid, as `chatglmd user token` prints it.
      token: async (openid) => (await cli('user', 'token', openid)).trim(),
      addUser: (openid, { quota = 0, models = 'glm-4,glm-3-turbo' } = {}) =>
        cli('user', 'add', openid, '--quota', String(quota), '--models', models),
      addProduct: ({ id, name, price, quota, models = 'glm-4,glm-3-turbo', desc }) =>
        cli('product', 'add', '--id', String(id), '--name', name, '--price', price, '--quota', String(quota),
          '--models', models, ...(desc ? ['--desc', desc] : [])),
      loginCode: (openid) => wechatLoginCode(stack.base, openid),
      // An envelope endpoint: {code, info, data}.
      envelope: async (path, { token, form, method = form ? 'POST' : 'GET' } = {}) => {
        const r = await fetch(stack.base + path, {
          method,
          headers: token ? { authorization: `Bearer ${token}` } : {},
          body: form ? new URLSearchParams(form) : undefined,
        });
        const body = await r.json();
        return { status: r.status, ...body };
      },
      stop: async () => {
        const served = await stopProcess(serve, 30000);
        await sim.stop();
        rmSync(dir, { recursive: true, force: true });
        return served;
      },
    });
    return stack;
  } catch (e) {
    await stopProcess(serve);
    await sim?.stop();
    const logs = existsSync(join(dir, 'serve.log')) ? readFileSync(join(dir, 'serve.log'), 'utf8') : '';
    rmSync(dir, { recursive: true, force: true });
    e.message += logs ? `\nserve.log:\n${logs}` : '';
    throw e;
  }
}

// What a WeChat user does: a text message to the official account (signed the way the WeChat
// server signs: sha1 of the sorted token, timestamp and nonce) answers a login code.
export async function wechatLoginCode(base, openid) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = String(Math.floor(Math.random() * 1e9));
  const signature = createHash('sha1').update([WECHAT_TOKEN, timestamp, nonce].sort().join('')).digest('hex');
  const xml = `<xml><ToUserName><![CDATA[gh_e2e]]></ToUserName><FromUserName><![CDATA[${openid}]]></FromUserName>` +
    `<CreateTime>${timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[login]]></Content></xml>`;
  const r = await fetch(`${base}/api/v1/wx/portal/e2e?signature=${signature}&timestamp=${timestamp}&nonce=${nonce}`, {
    method: 'POST', headers: { 'content-type': 'text/xml' }, body: xml,
  });
  const reply = await r.text();
  if (r.status !== 200) throw new Error(`wx portal answered HTTP ${r.status}: ${reply}`);
  const content = /<Content><!\[CDATA\[([\s\S]*?)\]\]><\/Content>/.exec(reply)?.[1] ?? '';
  const code = /\d{4,8}/.exec(content)?.[0];
  if (!code) throw new Error(`no login code in the portal reply: ${reply}`);
  return code;
}

// The form a browser would submit: action and hidden inputs of the first <form> in `html`.
export function parseForm(html) {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error(`no form in: ${html.slice(0, 300)}`);
  const attr = (tag, name) => {
    const m = new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'i').exec(tag);
    return m ? decodeEntities(m[2] ?? m[3]) : undefined;
  };
  const fields = [];
  for (const input of form[2].matchAll(/<input\b[^>]*>/gi)) {
    const name = attr(input[0], 'name');
    if (name) fields.push([name, attr(input[0], 'value') ?? '']);
  }
  return { action: attr(form[1], 'action'), method: (attr(form[1], 'method') ?? 'get').toLowerCase(), fields };
}

function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#\d+|quot|amp|lt|gt|apos|#39);/gi, (_, e) => {
    const k = e.toLowerCase();
    if (k.startsWith('#x')) return String.fromCodePoint(parseInt(k.slice(2), 16));
    if (k.startsWith('#')) return String.fromCodePoint(parseInt(k.slice(1), 10));
    return { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" }[k];
  });
}
