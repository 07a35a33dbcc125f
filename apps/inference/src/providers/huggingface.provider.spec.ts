import { newId } from '@parley/contracts';
import { LlmSimClient, collect, startService, type ServiceHandle } from '@parley/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HuggingFaceProvider } from './huggingface.provider.js';
import type { GenerateInput } from './provider.js';

let sim: ServiceHandle;
let simUrl: string;
let simClient: LlmSimClient;
let provider: HuggingFaceProvider;

const input = (overrides: Partial<GenerateInput> = {}): GenerateInput => ({
  model: 'sim-model',
  messages: [{ role: 'user', content: 'hello' }],
  params: {},
  includeUsage: true,
  signal: new AbortController().signal,
  ...overrides,
});

beforeAll(async () => {
  sim = await startService('llm-sim', {
    env: { LLM_SIM_PORT: '0', LLM_SIM_TTFT_MS: '1', LLM_SIM_INTER_TOKEN_MS: '1' },
  });
  simUrl = String(sim.ready.url);
  simClient = new LlmSimClient(simUrl);
  provider = new HuggingFaceProvider({ endpointUrl: simUrl, accessToken: 'hf_secret' });
});
afterAll(() => sim?.kill());
beforeEach(async () => {
  await simClient.configure({ fault: null, replyText: 'one two three', interTokenMs: 1 });
  await simClient.clearRequests();
});

describe('hugging face provider', () => {
  it('huggingface - streams from an endpoint URL with the model, trace context and conversation id', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const conversationId = newId('conversation');
    const events = await collect(provider.stream(input({ traceparent, conversationId })));
    expect(events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('')).toBe('one two three');
    expect(events.at(-1)).toMatchObject({ type: 'end', finishReason: 'stop' });
    const [record] = await simClient.requests();
    expect(record?.body?.model).toBe('sim-model');
    expect(record?.headers).toMatchObject({
      traceparent,
      'x-parley-conversation-id': conversationId,
      authorization: true,
    });
  });

  it('huggingface - upstream failures map to stable codes', async () => {
    await simClient.configure({ fault: { kind: 'status', status: 500 } });
    await expect(collect(provider.stream(input()))).rejects.toMatchObject({ code: 'upstream_error' });
    await simClient.configure({ fault: { kind: 'status', status: 429 } });
    await expect(collect(provider.stream(input()))).rejects.toMatchObject({ code: 'rate_limited' });
  });

  it('huggingface - aborting ends quietly and aborts the upstream request', async () => {
    await simClient.configure({ replyText: null, tokens: 500, interTokenMs: 20 });
    const controller = new AbortController();
    let deltas = 0;
    for await (const event of provider.stream(input({ signal: controller.signal }))) {
      if (event.type === 'delta' && ++deltas === 2) controller.abort();
    }
    expect(deltas).toBe(2);
    const deadline = Date.now() + 5_000;
    while (!(await simClient.requests())[0]?.aborted && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 25));
    expect((await simClient.requests())[0]?.aborted).toBe(true);
  });
});
