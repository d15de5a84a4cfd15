// Checks web/qr.js against ISO/IEC 18004 with facts written down here independently of the
// encoder (capacities, alignment positions, format and version words, a published RS vector),
// and decodes every symbol with a small reader to prove the round trip.
// Run: node --test web/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const QR = require('../qr.js');

// ---- ISO facts, versions 1-10 ----
const TOTAL_CODEWORDS = [0, 26, 44, 70, 100, 134, 172, 196, 242, 292, 346];
const ECC = {
  L: { perBlock: [0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18], blocks: [0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4] },
  M: { perBlock: [0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26], blocks: [0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5] },
};
// Published byte-mode capacities.
const BYTE_CAPACITY = {
  L: [0, 17, 32, 53, 78, 106, 134, 154, 192, 230, 271],
  M: [0, 14, 26, 42, 62, 84, 106, 122, 152, 180, 213],
};
const ALIGNMENT = [null, [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38],
  [6, 24, 42], [6, 26, 46], [6, 28, 50]];
const VERSION_WORDS = { 7: 0x07c94, 8: 0x085bc, 9: 0x09a99, 10: 0x0a4d3 };
const FORMAT_LEVEL_BITS = { L: 1, M: 0 };

// ---- GF(256), written again here so the reader does not trust the encoder's arithmetic ----
const EXP = [];
const LOG = [];
for (let i = 0, x = 1; i < 255; i++) {
  EXP[i] = x;
  LOG[x] = i;
  x = (x << 1) ^ (x & 0x80 ? 0x11d : 0);
}
const mul = (a, b) => (a && b ? EXP[(LOG[a] + LOG[b]) % 255] : 0);

// A block is a valid codeword when c(a^i) = 0 for i < ecc (generator roots a^0..a^(ecc-1)).
function syndromesZero(block, ecc) {
  for (let i = 0; i < ecc; i++) {
    let value = 0;
    for (const c of block) value = mul(value, EXP[i]) ^ c;
    if (value !== 0) return false;
  }
  return true;
}

// BCH(15,5) format word for level/mask, straight from the definition (polynomial division).
function formatWord(level, mask) {
  const data = (FORMAT_LEVEL_BITS[level] << 3) | mask;
  let rem = data << 10;
  for (let bit = 14; bit >= 10; bit--) if (rem & (1 << bit)) rem ^= 0x537 << (bit - 10);
  return ((data << 10) | rem) ^ 0x5412;
}

// Which modules belong to function patterns, built from the ISO layout.
function functionMap(version) {
  const n = version * 4 + 17;
  const map = Array.from({ length: n }, () => new Array(n).fill(false));
  const mark = (x0, y0, w, h) => {
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) map[y][x] = true;
  };
  mark(0, 0, 9, 9); // finder + separator + format
  mark(n - 8, 0, 8, 9);
  mark(0, n - 8, 9, 8);
  mark(6, 0, 1, n);
  mark(0, 6, n, 1);
  const pos = ALIGNMENT[version];
  for (const ax of pos) {
    for (const ay of pos) {
      const corner = (ax === 6 && ay === 6) || (ax === 6 && ay === n - 7) || (ax === n - 7 && ay === 6);
      if (corner) continue; // would overlap a finder
      mark(ax - 2, ay - 2, 5, 5);
    }
  }
  if (version >= 7) {
    mark(n - 11, 0, 3, 6);
    mark(0, n - 11, 6, 3);
  }
  return map;
}

const ISO_MASKS = [
  (i, j) => (i + j) % 2 === 0,
  (i) => i % 2 === 0,
  (i, j) => j % 3 === 0,
  (i, j) => (i + j) % 3 === 0,
  (i, j) => (Math.floor(i / 2) + Math.floor(j / 3)) % 2 === 0,
  (i, j) => ((i * j) % 2) + ((i * j) % 3) === 0,
  (i, j) => (((i * j) % 2) + ((i * j) % 3)) % 2 === 0,
  (i, j) => (((i + j) % 2) + ((i * j) % 3)) % 2 === 0,
];

// Reads a symbol back: checks the fixed patterns, format and version words, unmasks, collects
// codewords, de-interleaves, checks Reed-Solomon, parses the byte segment.
function decode(qr) {
  const n = qr.size;
  const version = (n - 17) / 4;
  const dark = (x, y) => qr.isDark(x, y);

  for (const [fx, fy] of [[0, 0], [n - 7, 0], [0, n - 7]]) {
    for (let dy = 0; dy < 7; dy++) {
      for (let dx = 0; dx < 7; dx++) {
        const ring = Math.max(Math.abs(dx - 3), Math.abs(dy - 3));
        assert.equal(dark(fx + dx, fy + dy), ring !== 2, `finder at ${fx},${fy}`);
      }
    }
  }
  for (let i = 0; i < 8; i++) {
    assert.equal(dark(7, i), false, 'separator');
    assert.equal(dark(i, 7), false, 'separator');
    assert.equal(dark(n - 8, i), false, 'separator');
    assert.equal(dark(7, n - 1 - i), false, 'separator');
  }
  for (let i = 8; i < n - 8; i++) {
    assert.equal(dark(6, i), i % 2 === 0, 'vertical timing');
    assert.equal(dark(i, 6), i % 2 === 0, 'horizontal timing');
  }
  assert.equal(dark(8, n - 8), true, 'dark module');
  const pos = ALIGNMENT[version];
  for (const ax of pos) {
    for (const ay of pos) {
      if ((ax === 6 && ay === 6) || (ax === 6 && ay === n - 7) || (ax === n - 7 && ay === 6)) continue;
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) {
          assert.equal(dark(ax + dx, ay + dy), Math.max(Math.abs(dx), Math.abs(dy)) !== 1, 'alignment');
        }
      }
    }
  }

  // Format word, both copies; bit 14 is read first around the top-left finder.
  let first = 0;
  const firstCells = [[0, 8], [1, 8], [2, 8], [3, 8], [4, 8], [5, 8], [7, 8], [8, 8], [8, 7],
    [8, 5], [8, 4], [8, 3], [8, 2], [8, 1], [8, 0]];
  for (const [x, y] of firstCells) first = (first << 1) | (dark(x, y) ? 1 : 0);
  let second = 0;
  for (let y = n - 1; y >= n - 7; y--) second = (second << 1) | (dark(8, y) ? 1 : 0);
  for (let x = n - 8; x < n; x++) second = (second << 1) | (dark(x, 8) ? 1 : 0);
  assert.equal(first, second, 'both format copies agree');
  let level = null;
  let mask = -1;
  for (const l of ['L', 'M']) for (let k = 0; k < 8; k++) if (formatWord(l, k) === first) [level, mask] = [l, k];
  assert.ok(level, `format word ${first.toString(2)} is valid`);

  if (version >= 7) {
    let a = 0;
    let b = 0;
    for (let i = 17; i >= 0; i--) {
      a = (a << 1) | (dark(n - 11 + (i % 3), Math.floor(i / 3)) ? 1 : 0);
      b = (b << 1) | (dark(Math.floor(i / 3), n - 11 + (i % 3)) ? 1 : 0);
    }
    assert.equal(a, VERSION_WORDS[version], 'version word (top right)');
    assert.equal(b, VERSION_WORDS[version], 'version word (bottom left)');
  }

  // Zig-zag read of the data area, unmasking as we go (i = row, j = column in ISO terms).
  const map = functionMap(version);
  const bits = [];
  for (let right = n - 1, pair = 0; right >= 1; right -= 2, pair++) {
    if (right === 6) right = 5; // the vertical timing column is skipped whole
    const upward = pair % 2 === 0;
    for (let k = 0; k < n; k++) {
      const y = upward ? n - 1 - k : k;
      for (const x of [right, right - 1]) {
        if (map[y][x]) continue;
        bits.push((dark(x, y) ? 1 : 0) ^ (ISO_MASKS[mask](y, x) ? 1 : 0));
      }
    }
  }
  const total = TOTAL_CODEWORDS[version];
  assert.equal(Math.floor(bits.length / 8), total, 'data area holds the total codewords');
  assert.ok(bits.slice(total * 8).every((b) => b === 0), 'remainder bits are light');
  const codewords = [];
  for (let i = 0; i < total; i++) {
    let byte = 0;
    for (let j = 0; j < 8; j++) byte = (byte << 1) | bits[i * 8 + j];
    codewords.push(byte);
  }

  const eccLen = ECC[level].perBlock[version];
  const blockCount = ECC[level].blocks[version];
  const dataTotal = total - eccLen * blockCount;
  const shortData = Math.floor(dataTotal / blockCount);
  const longBlocks = dataTotal % blockCount;
  const blocks = Array.from({ length: blockCount }, (_, b) => ({
    data: [], ecc: [], dataLen: shortData + (b >= blockCount - longBlocks ? 1 : 0),
  }));
  let at = 0;
  for (let i = 0; i <= shortData; i++) {
    for (const block of blocks) if (i < block.dataLen) block.data.push(codewords[at++]);
  }
  for (let i = 0; i < eccLen; i++) for (const block of blocks) block.ecc.push(codewords[at++]);
  assert.equal(at, total);
  const data = [];
  for (const block of blocks) {
    assert.ok(syndromesZero([...block.data, ...block.ecc], eccLen), 'Reed-Solomon block is valid');
    data.push(...block.data);
  }

  let bitPos = 0;
  const read = (count) => {
    let v = 0;
    for (let i = 0; i < count; i++, bitPos++) v = (v << 1) | ((data[bitPos >> 3] >> (7 - (bitPos & 7))) & 1);
    return v;
  };
  assert.equal(read(4), 0b0100, 'byte mode');
  const length = read(version <= 9 ? 8 : 16);
  const bytes = [];
  for (let i = 0; i < length; i++) bytes.push(read(8));
  const end = Math.ceil((bitPos + Math.min(4, data.length * 8 - bitPos)) / 8);
  for (let i = end, pad = 0xec; i < data.length; i++, pad ^= 0xec ^ 0x11) {
    assert.equal(data[i], pad, 'pad codewords alternate EC 11');
  }
  return { text: new TextDecoder().decode(Uint8Array.from(bytes)), level, mask, version };
}

test('Reed-Solomon matches the published 1-M "HELLO WORLD" vector', () => {
  const data = [32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17];
  assert.deepEqual(QR._internal.reedSolomon(data, 10), [196, 35, 39, 119, 235, 215, 231, 226, 93, 23]);
});

test('format and version words match the ISO tables', () => {
  assert.equal(QR._internal.formatBits('M', 0), 0b101010000010010);
  assert.equal(QR._internal.formatBits('L', 0), 0b111011111000100);
  for (const l of ['L', 'M']) for (let k = 0; k < 8; k++) assert.equal(QR._internal.formatBits(l, k), formatWord(l, k));
  for (const [v, word] of Object.entries(VERSION_WORDS)) assert.equal(QR._internal.versionBits(Number(v)), word);
});

test('alignment positions and data modules for versions 1-10', () => {
  for (let v = 1; v <= 10; v++) {
    assert.deepEqual(QR._internal.alignmentPositions(v), ALIGNMENT[v], `version ${v}`);
    assert.equal(Math.floor(QR._internal.rawDataModules(v) / 8), TOTAL_CODEWORDS[v], `version ${v}`);
  }
});

test('capacities: the longest text of each version fits it, one byte more moves up', () => {
  for (const level of ['L', 'M']) {
    for (let v = 1; v <= 10; v++) {
      const cap = BYTE_CAPACITY[level][v];
      assert.equal(QR.byteCapacity(v, level), cap, `${level} v${v}`);
      const fits = QR.encode('x'.repeat(cap), { level });
      assert.equal(fits.version, v, `${level} v${v} full`);
      assert.equal(decode(fits).text, 'x'.repeat(cap));
      assert.equal(QR.encode('x'.repeat(cap + 1), { level }).version, v + 1);
    }
  }
});

test('round trip of pay URLs, Chinese text and every forced mask', () => {
  const url = 'https://qr.alipay.com/bax03431ljhokirwl38f00a7?out_trade_no=20240601123456789012&' +
    'sign=abcdefghijklmnopqrstuvwxyz0123456789ABCDEF';
  assert.ok(url.length >= 120);
  for (const level of ['L', 'M']) {
    const qr = QR.encode(url, { level });
    const back = decode(qr);
    assert.equal(back.text, url);
    assert.equal(back.level, level);
    assert.equal(back.mask, qr.mask);
  }
  assert.equal(decode(QR.encode('支付宝扫码支付 ¥9.99 😀')).text, '支付宝扫码支付 ¥9.99 😀');
  for (let mask = 0; mask < 8; mask++) {
    for (const text of ['a', 'https://example.com/pay?id=' + 'z'.repeat(60 + mask * 15)]) {
      const qr = QR.encode(text, { mask });
      assert.equal(qr.mask, mask);
      assert.equal(decode(qr).text, text);
    }
  }
});

test('the chosen mask is the one with the lowest penalty', () => {
  const text = 'https://openapi.alipay.com/gateway.do?qr=123456';
  const chosen = QR.encode(text);
  const scores = [];
  for (let mask = 0; mask < 8; mask++) {
    const qr = QR.encode(text, { mask });
    scores.push(QR._internal.penalty({ size: qr.size, dark: qr.modules }));
  }
  assert.equal(scores[chosen.mask], Math.min(...scores));
});

test('refuses what cannot be encoded', () => {
  assert.throws(() => QR.encode('x'.repeat(3000)), RangeError);
  assert.throws(() => QR.encode('x', { level: 'H' }), RangeError);
});

test('drawToCanvas paints the quiet zone light and dark modules black', () => {
  const qr = QR.encode('hello');
  const rects = [];
  const ctx = { fillStyle: '', fillRect: (x, y, w, h) => rects.push([ctx.fillStyle, x, y, w, h]) };
  const canvas = { getContext: () => ctx };
  QR.drawToCanvas(canvas, qr, { scale: 2, margin: 4 });
  assert.equal(canvas.width, (qr.size + 8) * 2);
  assert.deepEqual(rects[0], ['#fff', 0, 0, canvas.width, canvas.height]);
  const darkCount = qr.modules.reduce((a, b) => a + b, 0);
  assert.equal(rects.length - 1, darkCount);
  assert.ok(rects.slice(1).every(([style, x, y]) => style === '#000' && x >= 8 && y >= 8));
});
