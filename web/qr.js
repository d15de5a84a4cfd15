// A small QR Code Model 2 encoder (ISO/IEC 18004), written for the pay page so it needs no CDN:
// byte mode (UTF-8), error correction L or M, versions 1-40, mask chosen by the standard penalty.
// Loaded as a classic <script> (sets window.ChatQr) and by node tests (module.exports).
(function (root) {
  'use strict';

  const LEVELS = {
    // index into the tables below, and the two level bits of the format information
    L: { index: 0, formatBits: 1 },
    M: { index: 1, formatBits: 0 },
  };

  // Per version (index 0 unused): error-correction codewords per block, and blocks.
  const ECC_PER_BLOCK = [
    [-1, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28,
      28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
    [-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
      26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
  ];
  const BLOCKS = [
    [-1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8,
      8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
    [-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
      17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
  ];

  // ---- GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1 ----
  const EXP = new Uint8Array(512);
  const LOG = new Uint8Array(256);
  for (let i = 0, x = 1; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
  const gfMul = (a, b) => (a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]]);

  // Generator (x - a^0)(x - a^1)...(x - a^(n-1)), highest coefficient (1) dropped.
  function rsGenerator(degree) {
    let poly = [1];
    for (let i = 0; i < degree; i++) {
      const next = new Array(poly.length + 1).fill(0);
      for (let j = 0; j < poly.length; j++) {
        next[j] ^= poly[j];
        next[j + 1] ^= gfMul(poly[j], EXP[i]);
      }
      poly = next;
    }
    return poly.slice(1);
  }

  // The error-correction codewords of one block: data * x^n mod generator.
  function reedSolomon(data, degree) {
    const gen = rsGenerator(degree);
    const rem = new Array(degree).fill(0);
    for (const byte of data) {
      const factor = byte ^ rem.shift();
      rem.push(0);
      for (let i = 0; i < degree; i++) rem[i] ^= gfMul(gen[i], factor);
    }
    return rem;
  }

  // ---- sizes ----
  const sizeOf = (version) => version * 4 + 17;

  function alignmentPositions(version) {
    if (version === 1) return [];
    const count = Math.floor(version / 7) + 2;
    const step = version === 32 ? 26
      : Math.floor((version * 4 + count * 2 + 1) / (count * 2 - 2)) * 2;
    const positions = [6];
    for (let pos = sizeOf(version) - 7; positions.length < count; pos -= step) {
      positions.splice(1, 0, pos);
    }
    return positions;
  }

  // Modules left for codewords once the function patterns are drawn.
  function rawDataModules(version) {
    let modules = (16 * version + 128) * version + 64;
    if (version >= 2) {
      const align = Math.floor(version / 7) + 2;
      modules -= (25 * align - 10) * align - 55;
      if (version >= 7) modules -= 36;
    }
    return modules;
  }

  function dataCodewords(version, level) {
    const l = LEVELS[level].index;
    return Math.floor(rawDataModules(version) / 8) - ECC_PER_BLOCK[l][version] * BLOCKS[l][version];
  }

  const countBits = (version) => (version <= 9 ? 8 : 16);

  // The largest byte payload of a version at a level.
  function byteCapacity(version, level) {
    return Math.floor((dataCodewords(version, level) * 8 - 4 - countBits(version)) / 8);
  }

  // ---- codewords ----
  function dataBits(bytes, version, level) {
    const capacity = dataCodewords(version, level) * 8;
    const bits = [];
    const put = (value, length) => {
      for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
    };
    put(0b0100, 4);
    put(bytes.length, countBits(version));
    for (const b of bytes) put(b, 8);
    put(0, Math.min(4, capacity - bits.length));
    put(0, (8 - (bits.length % 8)) % 8);
    const codewords = [];
    for (let i = 0; i < bits.length; i += 8) {
      let byte = 0;
      for (let j = 0; j < 8; j++) byte = (byte << 1) | bits[i + j];
      codewords.push(byte);
    }
    for (let pad = 0xec; codewords.length < capacity / 8; pad ^= 0xec ^ 0x11) codewords.push(pad);
    return codewords;
  }

  // Splits the data into blocks, appends each block's ECC and interleaves them column by column.
  function interleave(data, version, level) {
    const l = LEVELS[level].index;
    const blockCount = BLOCKS[l][version];
    const eccLength = ECC_PER_BLOCK[l][version];
    const raw = Math.floor(rawDataModules(version) / 8);
    const shortBlocks = blockCount - (raw % blockCount);
    const shortData = Math.floor(raw / blockCount) - eccLength;
    const dataBlocks = [];
    const eccBlocks = [];
    for (let b = 0, at = 0; b < blockCount; b++) {
      const length = shortData + (b < shortBlocks ? 0 : 1);
      const block = data.slice(at, at + length);
      at += length;
      dataBlocks.push(block);
      eccBlocks.push(reedSolomon(block, eccLength));
    }
    const out = [];
    for (let i = 0; i <= shortData; i++) {
      for (const block of dataBlocks) if (i < block.length) out.push(block[i]);
    }
    for (let i = 0; i < eccLength; i++) for (const ecc of eccBlocks) out.push(ecc[i]);
    return out;
  }

  // ---- matrix ----
  function formatBits(level, mask) {
    const data = (LEVELS[level].formatBits << 3) | mask;
    let rem = data;
    for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
    return ((data << 10) | rem) ^ 0x5412;
  }

  function versionBits(version) {
    let rem = version;
    for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
    return (version << 12) | rem;
  }

  const MASKS = [
    (x, y) => (x + y) % 2 === 0,
    (x, y) => y % 2 === 0,
    (x) => x % 3 === 0,
    (x, y) => (x + y) % 3 === 0,
    (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
    (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
    (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
    (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
  ];

  class Matrix {
    constructor(version) {
      this.version = version;
      this.size = sizeOf(version);
      this.dark = new Uint8Array(this.size * this.size);
      this.reserved = new Uint8Array(this.size * this.size); // function patterns
    }
    get(x, y) { return this.dark[y * this.size + x] === 1; }
    set(x, y, dark) { this.dark[y * this.size + x] = dark ? 1 : 0; }
    fn(x, y, dark) {
      this.set(x, y, dark);
      this.reserved[y * this.size + x] = 1;
    }
    isReserved(x, y) { return this.reserved[y * this.size + x] === 1; }
  }

  function drawFunctionPatterns(m) {
    const n = m.size;
    // Finder patterns with their light separators.
    for (const [cx, cy] of [[3, 3], [n - 4, 3], [3, n - 4]]) {
      for (let dy = -4; dy <= 4; dy++) {
        for (let dx = -4; dx <= 4; dx++) {
          const x = cx + dx;
          const y = cy + dy;
          if (x < 0 || y < 0 || x >= n || y >= n) continue;
          const ring = Math.max(Math.abs(dx), Math.abs(dy));
          m.fn(x, y, ring !== 2 && ring !== 4);
        }
      }
    }
    // Timing patterns.
    for (let i = 8; i < n - 8; i++) {
      m.fn(6, i, i % 2 === 0);
      m.fn(i, 6, i % 2 === 0);
    }
    // Alignment patterns, except where they would overlap a finder.
    const pos = alignmentPositions(m.version);
    const last = pos.length - 1;
    for (let i = 0; i < pos.length; i++) {
      for (let j = 0; j < pos.length; j++) {
        if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) continue;
        for (let dy = -2; dy <= 2; dy++) {
          for (let dx = -2; dx <= 2; dx++) {
            m.fn(pos[i] + dx, pos[j] + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
          }
        }
      }
    }
    // Reserve the format areas (drawn per mask later) and the dark module.
    drawFormat(m, 0);
    m.fn(8, n - 8, true);
    if (m.version >= 7) {
      const bits = versionBits(m.version);
      for (let i = 0; i < 18; i++) {
        const dark = ((bits >>> i) & 1) === 1;
        const a = n - 11 + (i % 3);
        const b = Math.floor(i / 3);
        m.fn(a, b, dark);
        m.fn(b, a, dark);
      }
    }
  }

  // Format information: bit 0 is the least significant of the 15.
  function drawFormat(m, bits) {
    const n = m.size;
    const bit = (i) => ((bits >>> i) & 1) === 1;
    for (let i = 0; i <= 5; i++) m.fn(8, i, bit(i));
    m.fn(8, 7, bit(6));
    m.fn(8, 8, bit(7));
    m.fn(7, 8, bit(8));
    for (let i = 9; i < 15; i++) m.fn(14 - i, 8, bit(i));
    for (let i = 0; i < 8; i++) m.fn(n - 1 - i, 8, bit(i));
    for (let i = 8; i < 15; i++) m.fn(8, n - 15 + i, bit(i));
  }

  // Codeword bits go up and down two-module columns from the right, skipping the timing column.
  function drawCodewords(m, codewords) {
    const n = m.size;
    let i = 0;
    for (let right = n - 1; right >= 1; right -= 2) {
      if (right === 6) right = 5;
      const upward = ((right + 1) & 2) === 0;
      for (let vert = 0; vert < n; vert++) {
        const y = upward ? n - 1 - vert : vert;
        for (let j = 0; j < 2; j++) {
          const x = right - j;
          if (m.isReserved(x, y)) continue;
          // Remainder bits past the last codeword stay light.
          const dark = i < codewords.length * 8 && ((codewords[i >>> 3] >>> (7 - (i & 7))) & 1) === 1;
          m.set(x, y, dark);
          i++;
        }
      }
    }
  }

  function applyMask(m, mask) {
    const f = MASKS[mask];
    for (let y = 0; y < m.size; y++) {
      for (let x = 0; x < m.size; x++) {
        if (!m.isReserved(x, y) && f(x, y)) m.dark[y * m.size + x] ^= 1;
      }
    }
  }

  // ISO 18004 penalty rules N1..N4: long runs, 2x2 blocks, finder look-alikes, dark balance.
  function penalty(m) {
    const n = m.size;
    let score = 0;
    const lines = [];
    for (let a = 0; a < n; a++) {
      const row = [];
      const col = [];
      for (let b = 0; b < n; b++) {
        row.push(m.dark[a * n + b]);
        col.push(m.dark[b * n + a]);
      }
      lines.push(row, col);
    }
    const finderA = [1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0];
    const finderB = [0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1];
    for (const line of lines) {
      let run = 1;
      for (let i = 1; i <= n; i++) {
        if (i < n && line[i] === line[i - 1]) {
          run++;
        } else {
          if (run >= 5) score += 3 + (run - 5);
          run = 1;
        }
      }
      for (let i = 0; i + 11 <= n; i++) {
        let a = true;
        let b = true;
        for (let k = 0; k < 11 && (a || b); k++) {
          if (line[i + k] !== finderA[k]) a = false;
          if (line[i + k] !== finderB[k]) b = false;
        }
        if (a) score += 40;
        if (b) score += 40;
      }
    }
    for (let y = 0; y + 1 < n; y++) {
      for (let x = 0; x + 1 < n; x++) {
        const c = m.dark[y * n + x];
        if (c === m.dark[y * n + x + 1] && c === m.dark[(y + 1) * n + x] &&
            c === m.dark[(y + 1) * n + x + 1]) {
          score += 3;
        }
      }
    }
    let darkCount = 0;
    for (const d of m.dark) darkCount += d;
    const percent = (darkCount * 100) / (n * n);
    score += 10 * Math.floor(Math.abs(percent - 50) / 5);
    return score;
  }

  function utf8(text) {
    return Array.from(new TextEncoder().encode(text));
  }

  // Encodes text; options.level 'M' (default) or 'L', options.mask 0-7 forces a mask.
  // Throws RangeError when the text does not fit version 40.
  function encode(text, options = {}) {
    const level = options.level || 'M';
    if (!LEVELS[level]) throw new RangeError('level must be L or M');
    const bytes = typeof text === 'string' ? utf8(text) : Array.from(text);
    let version = 1;
    while (version <= 40 && byteCapacity(version, level) < bytes.length) version++;
    if (version > 40) throw new RangeError('text too long for a QR code');
    const codewords = interleave(dataBits(bytes, version, level), version, level);

    const m = new Matrix(version);
    drawFunctionPatterns(m);
    drawCodewords(m, codewords);
    let mask = options.mask;
    if (mask === undefined) {
      let best = Infinity;
      for (let candidate = 0; candidate < 8; candidate++) {
        applyMask(m, candidate);
        drawFormat(m, formatBits(level, candidate));
        const score = penalty(m);
        if (score < best) {
          best = score;
          mask = candidate;
        }
        applyMask(m, candidate); // masking twice restores the unmasked symbol
      }
    }
    applyMask(m, mask);
    drawFormat(m, formatBits(level, mask));
    return {
      version,
      level,
      mask,
      size: m.size,
      modules: m.dark,
      isDark: (x, y) => m.get(x, y),
    };
  }

  // Draws the symbol with a light quiet zone (4 modules, as the standard asks).
  function drawToCanvas(canvas, qr, options = {}) {
    const scale = options.scale || 4;
    const margin = options.margin === undefined ? 4 : options.margin;
    const side = (qr.size + margin * 2) * scale;
    canvas.width = side;
    canvas.height = side;
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, side, side);
    ctx.fillStyle = '#000';
    for (let y = 0; y < qr.size; y++) {
      for (let x = 0; x < qr.size; x++) {
        if (qr.isDark(x, y)) ctx.fillRect((x + margin) * scale, (y + margin) * scale, scale, scale);
      }
    }
  }

  const api = {
    encode,
    drawToCanvas,
    byteCapacity,
    // exposed for tests
    _internal: { reedSolomon, formatBits, versionBits, alignmentPositions, rawDataModules, penalty },
  };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.ChatQr = api;
})(typeof self !== 'undefined' ? self : this);
