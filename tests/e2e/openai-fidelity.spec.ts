// The OpenAI-compatible endpoint as OpenAI's own client sees it: tools (runTools, streamed and not), tool-call
// deltas in OpenAI's shape, structured output, images, parameters that reach the upstream, parameters refused
// with a 400 naming them, a target's dropParams, and the length field per model family. Real processes over real
// NATS and HTTP, against llm-sim.
import type { RunnableToolFunctionWithParse } from 'openai/lib/RunnableFunction';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MODEL, Stack, readSse } from './stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await Stack.start({
    routing: ([sim]) => `targets:
  sim: { provider: openai-compatible, baseUrl: "${sim}", model: sim-model }
  sim-dropping: { provider: openai-compatible, baseUrl: "${sim}", model: sim-model, dropParams: [user, seed] }
  sim-o3: { provider: openai-compatible, baseUrl: "${sim}", model: o3-mini }
  sim-o3-forced: { provider: openai-compatible, baseUrl: "${sim}", model: o3-mini, maxTokensField: max_tokens }
  canned: { provider: static, reply: "We will get back to you." }
  canned-dropping: { provider: static, reply: "We will get back to you.", dropParams: [tools, tool_choice] }
models:
  ${MODEL}: { split: [{ target: sim }], fallbacks: [canned] }
  dropping: { split: [{ target: sim-dropping }] }
  acme/reasoning: { split: [{ target: sim-o3 }] }
  reasoning-forced: { split: [{ target: sim-o3-forced }] }
  canned: { split: [{ target: canned }] }
  canned-dropping: { split: [{ target: canned-dropping }] }
`,
  });
});
afterAll(() => stack?.stop());
beforeEach(() => stack.clearSimRequests());

const ORDER_SCHEMA = {
  type: 'object',
  properties: { orderId: { type: 'string' }, includeItems: { type: 'boolean' } },
  required: ['orderId', 'includeItems'],
  additionalProperties: false,
};
const LOOKUP_TOOL = {
  type: 'function' as const,
  function: { name: 'lookup_order', description: 'Finds an order', parameters: ORDER_SCHEMA },
};
const ask = [{ role: 'user' as const, content: 'Where is my order?' }];

/** The tool runTools calls, recording the arguments it got. */
function lookupOrder(calls: unknown[]): RunnableToolFunctionWithParse<{ orderId: string; includeItems: boolean }> {
  return {
    type: 'function',
    function: {
      name: 'lookup_order',
      description: 'Finds an order',
      parameters: ORDER_SCHEMA,
      parse: (text: string) => JSON.parse(text) as { orderId: string; includeItems: boolean },
      function: (args) => {
        calls.push(args);
        return { status: 'shipped', orderId: args.orderId };
      },
    },
  };
}

/** A POST to the chat endpoint with a raw body: status, OpenAI error body, headers. */
async function post(body: Record<string, unknown>, baseUrl?: string) {
  const res = await stack.fetch('/v1/chat/completions', { method: 'POST', json: body, baseUrl });
  return { res, body: (await res.json()) as Record<string, unknown> & { error?: Record<string, unknown> } };
}

describe('openai fidelity - tools', () => {
  for (const stream of [false, true]) {
    it(`tools - runTools completes a two-step tool conversation through Parley (stream: ${String(stream)})`, async () => {
      const calls: unknown[] = [];
      const body = { model: MODEL, messages: ask, tools: [lookupOrder(calls)] };
      const completions = stack.openai().chat.completions;
      const runner = stream ? completions.runTools({ ...body, stream: true }) : completions.runTools(body);
      const answer = await runner.finalContent();

      expect(calls).toEqual([{ orderId: expect.any(String), includeItems: expect.any(Boolean) }]);
      const result = JSON.stringify({ status: 'shipped', orderId: (calls[0] as { orderId: string }).orderId });
      expect(answer).toBe(`The tool returned: ${result}`);

      // The upstream got the tools both times, then the assistant's call and the tool's result with its id.
      const [first, second] = await stack.simRequests();
      expect(first?.body?.tools).toEqual([
        {
          type: 'function',
          function: { name: 'lookup_order', description: 'Finds an order', parameters: ORDER_SCHEMA },
        },
      ]);
      const [, assistant, tool] = second!.body!.messages;
      expect(assistant).toMatchObject({
        role: 'assistant',
        tool_calls: [{ id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'lookup_order' } }],
      });
      expect(tool).toEqual({ role: 'tool', tool_call_id: assistant!.tool_calls![0]!.id, content: result });
    });
  }

  it('tools - a whole completion carries message.tool_calls, content null and finish_reason tool_calls', async () => {
    const completion = await stack.openai().chat.completions.create({
      model: MODEL,
      messages: ask,
      tools: [LOOKUP_TOOL],
    });
    const [choice] = completion.choices;
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content).toBeNull();
    const [call] = choice!.message.tool_calls!;
    expect(call).toEqual({
      id: expect.stringMatching(/^call_/),
      type: 'function',
      function: { name: 'lookup_order', arguments: expect.any(String) },
    });
    expect(JSON.parse(call!.type === 'function' ? call.function.arguments : '')).toEqual({
      orderId: expect.any(String),
      includeItems: expect.any(Boolean),
    });
  });

  it('tools - streamed tool calls are delta.tool_calls fragments with index, id, name and arguments as OpenAI sends', async () => {
    const res = await stack.fetch('/v1/chat/completions', {
      method: 'POST',
      json: { model: MODEL, messages: ask, tools: [LOOKUP_TOOL], stream: true },
    });
    expect(res.status).toBe(200);
    const data: string[] = [];
    for await (const event of readSse(res)) data.push(event.data);
    expect(data.at(-1)).toBe('[DONE]');
    const choices = data.slice(0, -1).map((d) => (JSON.parse(d) as { choices: Record<string, unknown>[] }).choices[0]);
    const [first, ...rest] = choices;
    const finish = rest.pop();
    expect(first).toEqual({
      index: 0,
      delta: {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            index: 0,
            id: expect.stringMatching(/^call_/),
            type: 'function',
            function: { name: 'lookup_order', arguments: '' },
          },
        ],
      },
      logprobs: null,
      finish_reason: null,
    });
    expect(rest.length).toBeGreaterThan(1);
    let args = '';
    for (const choice of rest) {
      expect(choice).toEqual({
        index: 0,
        delta: { tool_calls: [{ index: 0, function: { arguments: expect.any(String) } }] },
        logprobs: null,
        finish_reason: null,
      });
      args += (choice!.delta as { tool_calls: { function: { arguments: string } }[] }).tool_calls[0]!.function
        .arguments;
    }
    expect(JSON.parse(args)).toMatchObject({ orderId: expect.any(String) });
    expect(finish).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' });
  });

  it('tools - tool_choice and parallel_tool_calls reach the upstream; tool_choice none gets text', async () => {
    const completion = await stack.openai().chat.completions.create({
      model: MODEL,
      messages: ask,
      tools: [LOOKUP_TOOL],
      tool_choice: 'none',
      parallel_tool_calls: false,
    });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.choices[0]?.message.content).toEqual(expect.any(String));
    const [record] = await stack.simRequests();
    expect(record?.body).toMatchObject({ tool_choice: 'none', parallel_tool_calls: false });
  });
});

describe('openai fidelity - structured output and content', () => {
  it('response_format - a json_schema reply parses and validates against the schema', async () => {
    const Ticket = z.object({
      subject: z.string(),
      priority: z.enum(['low', 'high']),
      tags: z.array(z.string()),
      count: z.number().int(),
    });
    for (const stream of [false, true]) {
      const format = {
        type: 'json_schema' as const,
        json_schema: { name: 'ticket', strict: true, schema: z.toJSONSchema(Ticket) as Record<string, unknown> },
      };
      let text = '';
      if (stream) {
        const chunks = await stack.openai().chat.completions.create({
          model: MODEL,
          messages: ask,
          response_format: format,
          stream: true,
        });
        for await (const chunk of chunks) text += chunk.choices[0]?.delta.content ?? '';
      } else {
        const completion = await stack.openai().chat.completions.create({
          model: MODEL,
          messages: ask,
          response_format: format,
        });
        text = completion.choices[0]!.message.content!;
      }
      expect(Ticket.safeParse(JSON.parse(text)).success).toBe(true);
    }
    const records = await stack.simRequests();
    expect(records[0]?.body?.response_format).toMatchObject({ type: 'json_schema', json_schema: { strict: true } });
  });

  it('response_format - json_object gets JSON text', async () => {
    const completion = await stack.openai().chat.completions.create({
      model: MODEL,
      messages: ask,
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(completion.choices[0]!.message.content!)).toEqual({ reply: expect.any(String) });
  });

  it('content - an image part reaches the upstream as sent', async () => {
    const content = [
      { type: 'text' as const, text: 'What is on this label?' },
      { type: 'image_url' as const, image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' as const } },
    ];
    const completion = await stack.openai().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content }],
    });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    const [record] = await stack.simRequests();
    expect(record?.body?.messages[0]).toEqual({ role: 'user', content });
  });

  it('params - stop, seed and user reach the upstream; developer is sent as system', async () => {
    await stack.openai().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'developer', content: 'Be brief.' }, ...ask],
      stop: 'never-said',
      seed: 3,
      user: 'end-user-1',
    });
    const [record] = await stack.simRequests();
    expect(record?.body).toMatchObject({ stop: ['never-said'], seed: 3, user: 'end-user-1' });
    expect(record?.body?.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
  });
});

describe('openai fidelity - refused parameters', () => {
  const refused: [string, Record<string, unknown>][] = [
    ['frobnicate', { frobnicate: true }],
    ['store', { store: true }],
    ['metadata', { metadata: { team: 'a' } }],
    ['functions', { functions: [{ name: 'f' }] }],
    ['n', { n: 2 }],
    ['logprobs', { logprobs: true }],
    ['top_logprobs', { top_logprobs: 2 }],
    ['logit_bias', { logit_bias: { '50256': -100 } }],
    ['stream_options.extra', { stream: true, stream_options: { extra: 1 } }],
    ['messages.0.audio', { messages: [{ role: 'user', content: 'hi', audio: {} }] }],
  ];
  for (const [param, extra] of refused) {
    it(`params - ${param} is a 400 invalid_request naming it, and nothing reaches the upstream`, async () => {
      const { res, body } = await post({ model: MODEL, messages: ask, ...extra });
      expect(res.status).toBe(400);
      expect(body.error).toEqual({
        code: 'invalid_request',
        type: 'invalid_request_error',
        param,
        message: expect.stringContaining(param),
      });
      expect(await stack.simRequests()).toEqual([]);
    });
  }

  it('params - the official client raises BadRequestError with the parameter', async () => {
    const failure = await stack
      .openai()
      .chat.completions.create({ model: MODEL, messages: ask, logprobs: true })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ status: 400, code: 'invalid_request', param: 'logprobs' });
  });

  it('params - a caller allowed logprobs gets logprobs, top_logprobs and logit_bias through to the upstream', async () => {
    const gateway = await stack.startExtraGateway({ PARLEY_ALLOW_LOGPROBS: 'true' });
    const { res } = await post(
      { model: MODEL, messages: ask, logprobs: true, top_logprobs: 2, logit_bias: { '50256': -100 } },
      gateway,
    );
    expect(res.status).toBe(200);
    const [record] = await stack.simRequests();
    expect(record?.body).toMatchObject({ logprobs: true, top_logprobs: 2, logit_bias: { '50256': -100 } });
  });

  it('params - a parameter the target cannot serve is a 400 naming it; a fallback that cannot is skipped', async () => {
    const { res, body } = await post({ model: 'canned', messages: ask, tools: [LOOKUP_TOOL] });
    expect(res.status).toBe(400);
    expect(body.error).toMatchObject({ code: 'invalid_request', param: 'tools' });
    const json = await post({ model: 'canned', messages: ask, response_format: { type: 'json_object' } });
    expect(json.body.error).toMatchObject({ code: 'invalid_request', param: 'response_format' });
    // `sim-model` falls back to the static target, which cannot serve tools: a failing upstream is not
    // answered by a fixed text that ignores them.
    await stack.configureSim({ fault: { kind: 'status', status: 500, times: 10 } });
    try {
      const failed = await post({ model: MODEL, messages: ask, tools: [LOOKUP_TOOL] });
      expect(failed.res.status).toBe(502);
    } finally {
      await stack.configureSim({ fault: null });
    }
    const fallback = await post({ model: MODEL, messages: ask });
    expect(fallback.res.status).toBe(200);
  });
});

describe('openai fidelity - routing file options', () => {
  it('dropParams - the target drops the named parameters and the response says so', async () => {
    const { res } = await post({ model: 'dropping', messages: ask, seed: 3, user: 'end-user-1', temperature: 0.2 });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-parley-dropped-params')).toBe('seed,user');
    const [record] = await stack.simRequests();
    expect(record?.body).toMatchObject({ temperature: 0.2 });
    expect(record?.body).not.toHaveProperty('seed');
    expect(record?.body).not.toHaveProperty('user');

    const streamed = await stack.fetch('/v1/chat/completions', {
      method: 'POST',
      json: { model: 'dropping', messages: ask, user: 'end-user-1', stream: true },
    });
    expect(streamed.headers.get('x-parley-dropped-params')).toBe('user');
    await streamed.text();
    const plain = await post({ model: 'dropping', messages: ask });
    expect(plain.res.headers.has('x-parley-dropped-params')).toBe(false);
  });

  it('dropParams - a static target that drops tools answers a tools request with its reply', async () => {
    const { res, body } = await post({ model: 'canned-dropping', messages: ask, tools: [LOOKUP_TOOL] });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-parley-dropped-params')).toBe('tools');
    expect(body).toMatchObject({ choices: [{ message: { content: 'We will get back to you.' } }] });
  });

  it('max tokens - a reasoning model gets max_completion_tokens, others max_tokens, unless the target says', async () => {
    const lengths = async (model: string) => {
      await stack.clearSimRequests();
      await stack.openai().chat.completions.create({ model, messages: ask, max_tokens: 5 });
      const [record] = await stack.simRequests();
      return { max_tokens: record?.body?.max_tokens, max_completion_tokens: record?.body?.max_completion_tokens };
    };
    expect(await lengths('acme/reasoning')).toEqual({ max_tokens: undefined, max_completion_tokens: 5 });
    expect(await lengths('reasoning-forced')).toEqual({ max_tokens: 5, max_completion_tokens: undefined });
    expect(await lengths(MODEL)).toEqual({ max_tokens: 5, max_completion_tokens: undefined });
  });
});

describe('openai fidelity - models', () => {
  it('models - GET /v1/models/{id} answers one alias, slashes included, and 404 model_not_found otherwise', async () => {
    expect(await stack.openai().models.retrieve(MODEL)).toMatchObject({
      id: MODEL,
      object: 'model',
      owned_by: 'parley',
    });
    const slashed = await stack.fetch('/v1/models/acme/reasoning');
    expect(await slashed.json()).toMatchObject({ id: 'acme/reasoning', object: 'model' });
    const missing = await stack.fetch('/v1/models/nobody');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: { code: 'model_not_found', type: 'invalid_request_error', param: 'model', message: expect.any(String) },
    });
    expect((await stack.fetch('/v1/models/nobody', { key: 'pk-wrong' })).status).toBe(401);
  });
});
