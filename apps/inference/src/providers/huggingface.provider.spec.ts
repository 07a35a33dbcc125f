import { newId } from '@parley/contracts';
import { collect } from '@parley/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { HuggingFaceProvider } from './huggingface.provider.js';
import { EVERY_PARAM, input, servableParams, useLlmSim } from './provider.test-kit.js';

const sim = useLlmSim();
let provider: HuggingFaceProvider;

beforeEach(async () => {
  provider = new HuggingFaceProvider({ endpointUrl: sim.url, accessToken: 'hf_secret' });
  await sim.client.configure({ fault: null, replyText: 'one two three', interTokenMs: 1 });
  await sim.client.clearRequests();
});

describe('hugging face provider', () => {
  it('huggingface - streams from an endpoint URL with the model, trace context and conversation id', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const conversationId = newId('conversation');
    const events = await collect(provider.stream(input({ traceparent, conversationId })));
    expect(events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('')).toBe('one two three');
    expect(events.at(-1)).toMatchObject({ type: 'end', finishReason: 'stop' });
    const [record] = await sim.client.requests();
    expect(record?.body?.model).toBe('sim-model');
    expect(record?.headers).toMatchObject({
      traceparent,
      'x-parley-conversation-id': conversationId,
      authorization: true,
    });
  });

  it('huggingface - every parameter it serves reaches the upstream under its own name', async () => {
    const params = servableParams(provider);
    expect(Object.keys(params).sort()).toEqual(
      Object.keys(EVERY_PARAM)
        .filter((name) => !['logit_bias', 'parallel_tool_calls', 'user'].includes(name))
        .sort(),
    );
    await collect(provider.stream(input({ params })));
    const [record] = await sim.client.requests();
    expect(record?.body).toMatchObject({ ...params, model: 'sim-model' });
  });

  it('huggingface - upstream failures map to stable codes', async () => {
    await sim.client.configure({ fault: { kind: 'status', status: 500 } });
    await expect(collect(provider.stream(input()))).rejects.toMatchObject({ code: 'upstream_error' });
    await sim.client.configure({ fault: { kind: 'status', status: 429 } });
    await expect(collect(provider.stream(input()))).rejects.toMatchObject({ code: 'rate_limited' });
  });

  it('huggingface - aborting ends quietly and aborts the upstream request', async () => {
    await sim.client.configure({ replyText: null, tokens: 500, interTokenMs: 20 });
    const controller = new AbortController();
    let deltas = 0;
    for await (const event of provider.stream(input({ signal: controller.signal }))) {
      if (event.type === 'delta' && ++deltas === 2) controller.abort();
    }
    expect(deltas).toBe(2);
    const deadline = Date.now() + 5_000;
    while (!(await sim.client.requests())[0]?.aborted && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 25));
    expect((await sim.client.requests())[0]?.aborted).toBe(true);
  });
});
