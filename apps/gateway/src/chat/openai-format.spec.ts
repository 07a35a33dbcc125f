import { describe, expect, it } from 'vitest';
import type { ChatCompletionBody } from '@parley/contracts';
import { ChunkWriter, CompletionBuilder, parseChatCompletionBody, toModelMessages } from './openai-format.js';

const BODY = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
const refusal = (raw: unknown, allowLogprobs = false) => {
  try {
    parseChatCompletionBody(raw, { allowLogprobs });
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('openai format', () => {
  it('chat body - unknown, unsupported and (unless allowed) logprob parameters are refused naming them', () => {
    expect(refusal({ ...BODY, frobnicate: 1 })).toMatchObject({ code: 'invalid_request', param: 'frobnicate' });
    expect(refusal({ ...BODY, store: true })).toMatchObject({
      param: 'store',
      message: expect.stringMatching(/^store is not supported: /),
    });
    expect(refusal({ ...BODY, n: 3 })).toMatchObject({ param: 'n' });
    for (const [name, value] of [
      ['logprobs', true],
      ['top_logprobs', 1],
      ['logit_bias', { '1': 5 }],
    ] as const) {
      expect(refusal({ ...BODY, [name]: value })).toMatchObject({ param: name });
      expect(refusal({ ...BODY, [name]: value }, true)).toBeUndefined();
    }
    expect(refusal({ ...BODY, logprobs: false, n: 1, user: null })).toBeUndefined();
  });

  it('chat body - developer becomes system; text parts become one string; a part with an image is kept', () => {
    const image = { type: 'image_url' as const, image_url: { url: 'https://example.com/a.png' } };
    const body = parseChatCompletionBody(
      {
        model: 'm',
        messages: [
          {
            role: 'developer',
            content: [
              { type: 'text', text: 'Be ' },
              { type: 'text', text: 'brief.' },
            ],
          },
          { role: 'user', content: [{ type: 'text', text: 'What is this?' }, image] },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
          },
          { role: 'tool', tool_call_id: 'c1', content: '{"ok":true}' },
        ],
      },
      { allowLogprobs: false },
    ) satisfies ChatCompletionBody;
    expect(toModelMessages(body)).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'What is this?' }, image] },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: '{"ok":true}' },
    ]);
  });

  it('chunks - a tool call streams as OpenAI does: role and content null first, then argument fragments', () => {
    const writer = new ChunkWriter('chatcmpl-1', 'm', false);
    const delta = (json: string) =>
      (JSON.parse(json) as { choices: { delta: unknown; finish_reason: unknown }[] }).choices[0];
    expect(delta(writer.toolCall({ type: 'tool_call', seq: 1, index: 0, id: 'call_1', name: 'f' }))).toMatchObject({
      delta: {
        role: 'assistant',
        content: null,
        tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }],
      },
    });
    expect(delta(writer.toolCall({ type: 'tool_call', seq: 2, index: 0, arguments: '{}' }))).toMatchObject({
      delta: { tool_calls: [{ index: 0, function: { arguments: '{}' } }] },
    });
    expect(delta(writer.finish({ finishReason: 'tool_calls' }))).toEqual({
      index: 0,
      delta: {},
      logprobs: null,
      finish_reason: 'tool_calls',
    });
  });

  it('completion - tool-call fragments join by index; content is null beside them; log probabilities add up', () => {
    const builder = new CompletionBuilder('chatcmpl-1', 'm');
    builder.add({ type: 'tool_call', seq: 1, index: 0, id: 'call_1', name: 'f' });
    builder.add({ type: 'tool_call', seq: 2, index: 0, arguments: '{"a"' });
    builder.add({ type: 'tool_call', seq: 3, index: 0, arguments: ':1}' });
    const { choices } = builder.build({ type: 'done', seq: 4, finishReason: 'tool_calls', model: 'm' });
    expect(choices[0]).toMatchObject({
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
      },
      finish_reason: 'tool_calls',
    });
    const text = new CompletionBuilder('chatcmpl-2', 'm');
    const logprob = { token: 'Hi', logprob: -0.5, bytes: null, top_logprobs: [] };
    text.add({ type: 'delta', seq: 1, text: 'Hi', logprobs: [logprob] });
    text.add({ type: 'delta', seq: 2, text: '!', logprobs: [{ ...logprob, token: '!' }] });
    const whole = text.build({ type: 'done', seq: 3, finishReason: 'stop', model: 'm' }).choices[0]!;
    expect(whole.message).toEqual({ role: 'assistant', content: 'Hi!', refusal: null });
    expect(whole.logprobs?.content?.map((l) => l.token)).toEqual(['Hi', '!']);
  });
});
