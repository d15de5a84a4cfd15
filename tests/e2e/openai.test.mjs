// The official `openai` npm client against chatglmd's /v1 endpoints: what a user of any
// OpenAI-compatible tool sees. The daemon relays chatglmd-sim, whose answer to a question is
// "Echo: <question>" (tests/sim/glm_sim.hpp).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack } from './harness.mjs';

let stack;
let token;
const client = (apiKey) => new OpenAI({ baseURL: `${stack.base}/v1`, apiKey, maxRetries: 0, timeout: 15000 });
const quotaOf = async (t) => (await stack.envelope('/api/v1/account/query_account_quota', { token: t, form: {} })).data;

before(async () => {
  // A little pacing so the deltas really travel as separate chunks.
  stack = await startStack({ simArgs: ['--chunk-delay-ms', '3'] });
  await stack.addUser('openai-user', { quota: 10 });
  token = await stack.token('openai-user');
});
after(() => stack?.stop());

test('streaming: deltas arrive in several chunks and add up to the answer', async () => {
  const question = 'How do streams work? 你好，流式输出';
  const stream = await client(token).chat.completions.create({
    model: 'glm-4',
    messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: question }],
    stream: true,
  });
  const deltas = [];
  const ids = new Set();
  let finish = null;
  for await (const chunk of stream) {
    ids.add(chunk.id);
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.model, 'glm-4');
    const choice = chunk.choices[0];
    if (choice.delta?.content) deltas.push(choice.delta.content);
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  assert.equal(deltas.join(''), `Echo: ${question}`);
  assert.ok(deltas.length >= 5, `expected several chunks, got ${deltas.length}: ${JSON.stringify(deltas)}`);
  assert.equal(ids.size, 1, 'one completion id for the whole stream');
  assert.equal(finish, 'stop');
  // The sim saw the whole conversation, system message included.
  const sent = JSON.parse((await stack.sim.glm('stats')).last_request_body);
  assert.deepEqual(sent.messages.map((m) => m.role), ['system', 'user']);
  assert.equal(sent.stream, true);
});

test('non-streaming: one chat.completion with the whole answer', async () => {
  const before = await quotaOf(token);
  const completion = await client(token).chat.completions.create({
    model: 'glm-3-turbo',
    messages: [{ role: 'user', content: 'plain answer please' }],
  });
  assert.equal(completion.object, 'chat.completion');
  assert.equal(completion.model, 'glm-3-turbo');
  assert.equal(completion.choices.length, 1);
  assert.equal(completion.choices[0].message.role, 'assistant');
  assert.equal(completion.choices[0].message.content, 'Echo: plain answer please');
  assert.equal(completion.choices[0].finish_reason, 'stop');
  // The sim counts one token per character of the answer.
  assert.equal(completion.usage.completion_tokens, [...'Echo: plain answer please'].length);
  const after = await quotaOf(token);
  assert.equal(after.surplusQuota, before.surplusQuota - 1, 'one answer costs one chat');
});

test('models.list() names the configured models', async () => {
  const ids = [];
  for await (const model of client(token).models.list()) {
    assert.equal(model.object, 'model');
    ids.push(model.id);
  }
  assert.deepEqual(ids, ['glm-4', 'glm-3-turbo']);
});

test('a bad token is an AuthenticationError (401)', async () => {
  const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  for (const key of ['not-a-token', forged]) {
    await assert.rejects(
      client(key).chat.completions.create({ model: 'glm-4', messages: [{ role: 'user', content: 'hi' }] }),
      (e) => {
        assert.ok(e instanceof OpenAI.AuthenticationError, `${e.constructor.name}: ${e.message}`);
        assert.equal(e.status, 401);
        return true;
      },
    );
  }
  assert.equal((await stack.sim.glm('stats')).last_request_body.includes('"hi"'), false, 'never reached the model');
});

test('quota used up: 429 insufficient_quota, streaming or not', async () => {
  await stack.addUser('openai-last-chat', { quota: 1 });
  const last = await stack.token('openai-last-chat');
  const ok = await client(last).chat.completions.create({ model: 'glm-4', messages: [{ role: 'user', content: 'one' }] });
  assert.equal(ok.choices[0].message.content, 'Echo: one');
  for (const stream of [false, true]) {
    await assert.rejects(
      client(last).chat.completions.create({ model: 'glm-4', messages: [{ role: 'user', content: 'two' }], stream }),
      (e) => {
        assert.ok(e instanceof OpenAI.RateLimitError, `${e.constructor.name}: ${e.message}`);
        assert.equal(e.status, 429);
        assert.equal(e.code, 'insufficient_quota');
        assert.equal(e.type, 'insufficient_quota');
        return true;
      },
    );
  }
  assert.equal((await quotaOf(last)).surplusQuota, 0);
});

test('an unknown model is refused with a 4xx, and costs nothing', async () => {
  const before = await quotaOf(token);
  await assert.rejects(
    client(token).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    (e) => {
      assert.ok(e instanceof OpenAI.APIError, String(e));
      assert.ok(e.status >= 400 && e.status < 500, `status ${e.status}`);
      assert.ok(e.message, 'the refusal says why');
      return true;
    },
  );
  assert.equal((await quotaOf(token)).surplusQuota, before.surplusQuota);
});
