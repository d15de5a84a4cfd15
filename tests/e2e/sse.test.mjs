// chatglmd's /v1/chat/completions stream read the hard way: raw fetch bytes, cut into small random
// slices, decoded and fed to `eventsource-parser`, the parser most JS SSE clients use. Every event
// must be one JSON chunk, the last `[DONE]`, and the deltas must add up to the sim's deterministic
// answer, also when the sim cuts its own SSE bytes inside UTF-8 characters (--split-bytes).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createParser } from 'eventsource-parser';
import { eventually, startStack } from './harness.mjs';

// The sim's answer to "len:N" (glm_sim_answer in tests/sim/glm_sim.cpp): N code points cycling
// through this alphabet.
const ALPHABET = [...'你好，世界！这是模拟的回答。ChatGLM sim 123 '];
const longAnswer = (n) => Array.from({ length: n }, (_, i) => ALPHABET[i % ALPHABET.length]).join('');

// Reproducible randomness: the seed is printed so a failure can be replayed.
const seed = Number(process.env.E2E_SEED ?? Date.now() % 100000);
function rng(s) {
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

let stack;
let token;

before(async () => {
  // split-bytes 5: the daemon's upstream reader gets the sim's SSE in 5-byte writes, cut inside
  // UTF-8 characters and inside "data:" lines.
  stack = await startStack({ simArgs: ['--split-bytes', '5'] });
  await stack.addUser('sse-user', { quota: 10 });
  token = await stack.token('sse-user');
});
after(() => stack?.stop());

// Streams one question and parses it slice by slice. Returns the events and byte statistics.
async function streamEvents(question, random) {
  const response = await fetch(`${stack.base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'glm-4', stream: true, messages: [{ role: 'user', content: question }] }),
  });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type'), /^text\/event-stream/);
  const events = [];
  const parser = createParser({ onEvent: (e) => events.push(e) });
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let slices = 0;
  let reads = 0;
  let bytes = 0;
  for await (const chunk of response.body) {
    reads++;
    bytes += chunk.length;
    for (let at = 0; at < chunk.length;) {
      const size = 1 + Math.floor(random() * 7);
      parser.feed(decoder.decode(chunk.subarray(at, at + size), { stream: true }));
      at += size;
      slices++;
    }
  }
  parser.feed(decoder.decode());
  return { events, slices, reads, bytes };
}

function checkStream(events, expected) {
  assert.ok(events.length >= 3, `only ${events.length} events`);
  assert.equal(events.at(-1).data, '[DONE]', 'the stream ends with [DONE]');
  const chunks = events.slice(0, -1).map((e, i) => {
    assert.equal(e.event, undefined, `event ${i} has no event name`);
    try {
      return JSON.parse(e.data);
    } catch (err) {
      assert.fail(`event ${i} is not JSON: ${e.data}`);
    }
  });
  for (const c of chunks) {
    assert.equal(c.object, 'chat.completion.chunk');
    assert.equal(c.id, chunks[0].id);
    assert.equal(c.model, 'glm-4');
    assert.equal(c.choices.length, 1);
    assert.equal(c.error, undefined, `error event: ${JSON.stringify(c.error)}`);
  }
  const text = chunks.map((c) => c.choices[0].delta?.content ?? '').join('');
  assert.equal(text.length, expected.length, 'answer length');
  assert.equal(text, expected);
  assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
  assert.ok(chunks.slice(0, -1).every((c) => c.choices[0].finish_reason === null), 'only the last chunk finishes');
  return chunks;
}

test('a short answer: JSON events, [DONE] last, deltas equal the answer', async () => {
  const random = rng(seed);
  const { events, slices } = await streamEvents('slice me, 请', random);
  const chunks = checkStream(events, 'Echo: slice me, 请');
  assert.ok(chunks.length >= 4, `several deltas, got ${chunks.length}`);
  assert.ok(slices > events.length, 'the parser got more slices than events');
});

test(`a long multi-byte answer split at random byte offsets (seed ${seed})`, async () => {
  const random = rng(seed + 1);
  const n = 3000;
  const { events, bytes } = await streamEvents(`len:${n}`, random);
  const expected = longAnswer(n);
  const chunks = checkStream(events, expected);
  // 4 characters per piece in the sim, relayed one delta per piece.
  assert.equal(chunks.length - 1, Math.ceil(n / 4));
  assert.ok(bytes > Buffer.byteLength(expected), 'framing on top of the text');
  // The sim ran both streams to their end (none cut short by the daemon).
  await eventually(async () => {
    const s = await stack.sim.glm('stats');
    return s.streams_completed === 2 && s.streams_cancelled === 0 && s.streams_server_closed === 0;
  }, { what: 'two completed streams at the sim' });
});

test('every split size of the sim gives the same answer', async () => {
  // Writes of 1, 2, 3 and 7 bytes: every way a 3-byte character can be cut.
  const expected = longAnswer(200);
  for (const split of [1, 2, 3, 7]) {
    await stack.sim.glm('config', { split_bytes: split });
    const { events } = await streamEvents('len:200', rng(seed + split));
    checkStream(events, expected);
  }
  await stack.sim.glm('config', { split_bytes: 5 });
});
