import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { chatBody, postChat } from '../test/helpers.js';
import type { SimKnobs } from './config.js';
import type { SimRequestRecord } from './records.js';
import { startLlmSim, type LlmSim } from './server.js';

const KNOBS: SimKnobs = {
  model: 'sim-model',
  ttftMs: 1,
  interTokenMs: 1,
  tokens: 10,
  burst: 1,
  seed: 42,
  replyText: null,
  embeddingDimensions: 8,
  fault: null,
};
const messages = [{ role: 'user' as const, content: 'Cancel my order' }];
const WAIT = { timeout: 2_000, interval: 5 };

describe('llm-sim faults', () => {
  let sim: LlmSim;
  let openai: OpenAI;

  beforeAll(async () => {
    sim = await startLlmSim({ port: 0, ...KNOBS });
    openai = new OpenAI({ baseURL: sim.openaiBaseUrl, apiKey: 'sk-test', maxRetries: 0 });
  });
  afterAll(() => sim.close());
  beforeEach(() => {
    sim.configure(KNOBS);
    sim.clearRequests();
  });

  const onlyRecord = (): SimRequestRecord => {
    const records = sim.requests();
    expect(records).toHaveLength(1);
    return records[0] as SimRequestRecord;
  };

  it('llm-sim - a status fault answers with that status, an OpenAI error body and Retry-After', async () => {
    sim.configure({ fault: { kind: 'status', status: 429, retryAfterSeconds: 3 } });
    const response = await postChat(sim, chatBody({ stream: true }));
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(await response.json()).toEqual({
      error: { message: expect.any(String), type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' },
    });
    expect(onlyRecord()).toMatchObject({ status: 'faulted', fault: 'status', httpStatus: 429, aborted: false });

    sim.configure({ fault: { kind: 'status', status: 503 } });
    const error = await openai.chat.completions.create({ model: 'sim-model', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((error as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toBeNull();
  });

  it('llm-sim - a fault with times applies to the next n requests only, then clears', async () => {
    sim.configure({ fault: { kind: 'status', status: 500, times: 2 } });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await postChat(sim, chatBody())).status);
    expect(statuses).toEqual([500, 500, 200]);
    expect(sim.config().fault).toBeNull();
  });

  it('llm-sim - a cut fault drops the stream after N tokens without [DONE]', async () => {
    sim.configure({ fault: { kind: 'cut', afterTokens: 4 } });
    const stream = await openai.chat.completions.create({ model: 'sim-model', messages, stream: true });
    const received: string[] = [];
    const consume = async (): Promise<void> => {
      for await (const part of stream) {
        const content = part.choices[0]?.delta.content;
        if (content) received.push(content);
      }
    };
    await expect(consume()).rejects.toThrow();
    expect(received).toHaveLength(4);
    await vi.waitFor(() => expect(onlyRecord().status).toBe('faulted'), WAIT);
    expect(onlyRecord()).toMatchObject({ fault: 'cut', aborted: false, completionTokens: 4 });
  });

  it('llm-sim - a cut fault on a non-streaming request drops the connection without a response', async () => {
    sim.configure({ fault: { kind: 'cut', afterTokens: 2 } });
    const error = await openai.chat.completions.create({ model: 'sim-model', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
    await vi.waitFor(() => expect(onlyRecord()).toMatchObject({ status: 'faulted', httpStatus: null }), WAIT);
  });

  it('llm-sim - a stall keeps the stream open until the client aborts, which is recorded', async () => {
    sim.configure({ fault: { kind: 'stall', afterTokens: 3 } });
    const controller = new AbortController();
    const stream = await openai.chat.completions.create(
      { model: 'sim-model', messages, stream: true },
      { signal: controller.signal },
    );
    const received: string[] = [];
    const consume = async (): Promise<void> => {
      for await (const part of stream) {
        const content = part.choices[0]?.delta.content;
        if (content) received.push(content);
        if (received.length === 3) controller.abort();
      }
    };
    // The openai client ends iteration quietly on abort; it can only get here because of the abort, since a
    // stalled stream never ends by itself.
    await consume();
    expect(controller.signal.aborted).toBe(true);
    expect(received).toHaveLength(3);
    await vi.waitFor(() => expect(onlyRecord().aborted).toBe(true), WAIT);
    expect(onlyRecord()).toMatchObject({ status: 'faulted', fault: 'stall', completionTokens: 3, httpStatus: 200 });
  });

  it('llm-sim - an error fault sends tokens, then an error event and [DONE], as vLLM does when generation fails', async () => {
    sim.configure({ fault: { kind: 'error', afterTokens: 2, times: 1 } });
    const text = await (await postChat(sim, chatBody({ stream: true }))).text();
    const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
    const contents = events
      .slice(0, -2)
      .map((e) => JSON.parse(e.slice(6)) as { choices: { delta: { content?: string } }[] });
    expect(contents.map((c) => c.choices[0]?.delta.content).filter(Boolean)).toHaveLength(2);
    expect(JSON.parse(events.at(-2)!.slice(6))).toMatchObject({ error: { code: expect.anything() } });
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(onlyRecord()).toMatchObject({ status: 'faulted', fault: 'error', httpStatus: 200, aborted: false });
    // Whole replies: the error is the response.
    sim.configure({ fault: { kind: 'error', afterTokens: 0, times: 1 } });
    expect((await postChat(sim, chatBody())).status).toBe(500);
  });

  it('llm-sim - a hang answers nothing, not even headers, until the client leaves', async () => {
    sim.configure({ fault: { kind: 'hang', times: 1 } });
    const controller = new AbortController();
    const response = postChat(sim, chatBody({ stream: true }), { signal: controller.signal });
    let answered = false;
    void response.then(
      () => (answered = true),
      () => undefined,
    );
    await vi.waitFor(() => expect(onlyRecord()).toMatchObject({ status: 'faulted', fault: 'hang' }), WAIT);
    // The record exists once the body was read; a status line would have settled the response by the time the
    // next request (served normally: the fault was for one request) has been answered whole.
    await (await postChat(sim, chatBody())).json();
    expect(answered).toBe(false);
    controller.abort();
    await expect(response).rejects.toThrow();
    await vi.waitFor(
      () => expect(sim.requests().find((r) => r.fault === 'hang')).toMatchObject({ aborted: true, httpStatus: null }),
      WAIT,
    );
  });

  it('llm-sim - a drop closes the connection without a byte of answer, once the request was read', async () => {
    sim.configure({ fault: { kind: 'drop', times: 1 } });
    await expect(postChat(sim, chatBody({ stream: true }))).rejects.toThrow();
    await vi.waitFor(() => expect(onlyRecord()).toMatchObject({ status: 'faulted', fault: 'drop' }), WAIT);
    // Dropped on purpose, so not recorded as the client leaving; and no status line ever went out.
    expect(onlyRecord()).toMatchObject({ aborted: false, httpStatus: null, body: expect.anything() });
    expect((await postChat(sim, chatBody())).status).toBe(200);
  });

  it('llm-sim - a client that aborts mid-stream is recorded as aborted and the stream stops', async () => {
    sim.configure({ tokens: 10_000, interTokenMs: 2 });
    const controller = new AbortController();
    const response = await postChat(sim, chatBody({ stream: true }), { signal: controller.signal });
    const reader = response.body?.getReader();
    await reader?.read();
    controller.abort();

    await vi.waitFor(() => expect(onlyRecord()).toMatchObject({ status: 'aborted', aborted: true }), WAIT);
    const sentAtAbort = onlyRecord().completionTokens;
    expect(sentAtAbort).toBeLessThan(10_000);

    // A full request afterwards takes well over one inter-token delay; had the aborted stream's timers survived,
    // its token count would have grown meanwhile.
    sim.configure({ tokens: 20 });
    await (await postChat(sim, chatBody())).json();
    expect(sim.requests()[0]?.completionTokens).toBe(sentAtAbort);
  });

  it('llm-sim - close() ends open streams and resolves', async () => {
    const own = await startLlmSim({ port: 0, ...KNOBS, fault: { kind: 'stall', afterTokens: 1 } });
    const response = await postChat(own, chatBody({ stream: true }));
    const reader = response.body?.getReader();
    await reader?.read();
    await own.close();
    await expect(reader?.read()).rejects.toThrow();
    expect(own.requests()[0]).toMatchObject({ status: 'faulted', aborted: true });
  });
});
