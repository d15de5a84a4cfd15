// The libraries the page embeds (web/vendor/) are exactly the pinned packages' files
// (web/deps/package-lock.json; web/deps/update.sh copies them), and they do what the page
// relies on: marked renders GFM tables, qrcode-generator makes a QR code of an Alipay URL.
// The byte-for-byte comparison runs when web/deps has node_modules (`npm ci` there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const vendored = {
  'marked.umd.js': 'marked/lib/marked.umd.js',
  'purify.min.js': 'dompurify/dist/purify.min.js',
  'highlight.min.js': '@highlightjs/cdn-assets/highlight.min.js',
  'highlight-github.min.css': '@highlightjs/cdn-assets/styles/github.min.css',
  'qrcode.js': 'qrcode-generator/dist/qrcode.js',
};

test('every vendored file is the pinned package version', () => {
  const lock = JSON.parse(fs.readFileSync(path.join(WEB, 'deps/package-lock.json'), 'utf8'));
  const pinned = JSON.parse(fs.readFileSync(path.join(WEB, 'deps/package.json'), 'utf8')).dependencies;
  for (const [name, version] of Object.entries(pinned)) {
    assert.equal(lock.packages[`node_modules/${name}`].version, version, `${name} locked at the pinned version`);
  }
  assert.match(fs.readFileSync(path.join(WEB, 'vendor/marked.umd.js'), 'utf8'), new RegExp(`marked v${pinned.marked.replace(/\./g, '\\.')}`));
  const modules = path.join(WEB, 'deps/node_modules');
  if (!fs.existsSync(modules)) return;  // byte comparison needs `npm ci` in web/deps
  for (const [file, source] of Object.entries(vendored)) {
    assert.ok(fs.readFileSync(path.join(WEB, 'vendor', file)).equals(fs.readFileSync(path.join(modules, source))),
      `web/vendor/${file} differs from ${source}: run web/deps/update.sh`);
  }
});

test('marked renders a GFM table and qrcode-generator encodes an Alipay QR URL', () => {
  const { marked } = require(path.join(WEB, 'vendor/marked.umd.js'));
  const html = marked.parse('| a | b |\n|---|---|\n| 1 | 2 |\n');
  assert.match(html, /<table>[\s\S]*<td>1<\/td>[\s\S]*<\/table>/);
  const qrcode = require(path.join(WEB, 'vendor/qrcode.js'));
  const qr = qrcode(0, 'M');
  qr.addData('https://qr.alipay.com/bax08888' + 'x'.repeat(90), 'Byte');
  qr.make();
  // 120 bytes at level M: version 6 holds 106, version 7 holds 122, so 45 modules a side.
  assert.equal(qr.getModuleCount(), 45);
});
