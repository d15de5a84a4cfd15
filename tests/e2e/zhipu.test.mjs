// ChatGLM SDKs from npm pointed straight at chatglmd-sim: proves the simulator speaks the real
// ChatGLM v4 protocol (the SDKs' own JWTs are accepted, their own SSE handling reads the stream),
// so what the daemon's tests prove against the sim holds against the real service.
//   zhipuai                 (blastZ): "Bearer <jwt>", exp in ms, parses SSE itself
//   zhipuai-sdk-nodejs-v4   (winily): bare "<jwt>", exp far in the future, raw stream
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ZhipuAI } from 'zhipuai';
import { ZhipuAI as ZhipuAIv4 } from 'zhipuai-sdk-nodejs-v4';
import { createParser } from 'eventsource-parser';
import { GLM_API_KEY, eventually, startSim } from './harness.mjs';

let sim;
const baseURL = () => `${sim.base}/api/paas/v4/`;

before(async () => {
  sim = await startSim({ args: ['--chunk-delay-ms', '2'] });
});
after(() => sim?.stop());

test('zhipuai: streaming chat with the SDK\'s JWT and SSE parser', async () => {
  await sim.glm('reset', {});
  const client = new ZhipuAI({ apiKey: GLM_API_KEY, baseURL: baseURL(), maxRetries: 0 });
  const stream = await client.chat.completions.create({
    model: 'glm-4',
    messages: [{ role: 'user', content: '你好，智谱' }],
    stream: true,
  });
  const deltas = [];
  let finish;
  let usage;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (choice.delta?.content) deltas.push(choice.delta.content);
    if (choice.finish_reason) finish = choice.finish_reason;
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(deltas.join(''), 'Echo: 你好，智谱');
  assert.ok(deltas.length >= 3, `several deltas: ${JSON.stringify(deltas)}`);
  assert.equal(finish, 'stop');
  assert.equal(usage.completion_tokens, [...'Echo: 你好，智谱'].length);

  // The sim counts the stream once its last write is done, which may be just after [DONE] is read.
  const stats = await eventually(async () => {
    const s = await sim.glm('stats');
    return s.streams_completed === 1 && s;
  }, { what: 'the sim counted the stream completed' });
  assert.equal(stats.auth_failures, 0);
  assert.match(stats.last_authorization, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  // The SDK's token, decoded: the claims the real service wants.
  const [header, payload] = stats.last_authorization.slice(7).split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url')));
  assert.equal(header.alg, 'HS256');
  assert.equal(header.sign_type, 'SIGN');
  assert.equal(payload.api_key, GLM_API_KEY.split('.')[0]);
});

test('zhipuai: a wrong secret is refused with 401', async () => {
  await sim.glm('reset', {});
  const client = new ZhipuAI({ apiKey: `${GLM_API_KEY.split('.')[0]}.wrong-secret`, baseURL: baseURL(), maxRetries: 0 });
  await assert.rejects(
    client.chat.completions.create({ model: 'glm-4', messages: [{ role: 'user', content: 'hi' }] }),
    (e) => {
      assert.equal(e.status, 401, String(e));
      return true;
    },
  );
  assert.equal((await sim.glm('stats')).auth_failures, 1);
});

test('zhipuai-sdk-nodejs-v4: non-streaming and streaming with a bare token', async () => {
  await sim.glm('reset', {});
  const client = new ZhipuAIv4({ apiKey: GLM_API_KEY, baseUrl: `${sim.base}/api/paas/v4`, cacheToken: false });
  const whole = await client.createCompletions({ model: 'glm-4', messages: [{ role: 'user', content: 'whole' }] });
  assert.equal(whole.choices[0].message.content, 'Echo: whole');
  assert.equal(whole.choices[0].finish_reason, 'stop');

  const raw = await client.createCompletions({
    model: 'glm-4', messages: [{ role: 'user', content: 'len:50' }], stream: true,
  });
  const events = [];
  const parser = createParser({ onEvent: (e) => events.push(e.data) });
  const decoder = new TextDecoder();
  for await (const chunk of raw) parser.feed(decoder.decode(chunk, { stream: true }));
  assert.equal(events.at(-1), '[DONE]');
  const text = events.slice(0, -1).map((d) => JSON.parse(d).choices[0].delta.content).join('');
  assert.equal([...text].length, 50);
  assert.ok(text.startsWith('你好，世界！'), text);

  const stats = await sim.glm('stats');
  assert.equal(stats.auth_failures, 0);
  assert.doesNotMatch(stats.last_authorization, /^Bearer /);
});
