import { collect } from '@parley/testing';
import { describe, expect, it } from 'vitest';
import { ParleyError } from '@parley/contracts';
import { chunkEvents, type ChatChunkLike } from './openai-framing.js';

async function* upstream(chunks: ChatChunkLike[]): AsyncGenerator<ChatChunkLike> {
  yield* chunks;
}

const events = (chunks: ChatChunkLike[]) =>
  collect(
    chunkEvents(() => upstream(chunks), {
      signal: new AbortController().signal,
      toError: (error) => new ParleyError('upstream_error', 'failed', { cause: error }),
    }),
  );

describe('openai framing', () => {
  it('framing - tool-call fragments become tool_call events and finish_reason tool_calls ends them', async () => {
    const call = (fragment: object) => ({ choices: [{ delta: { tool_calls: [{ index: 0, ...fragment }] } }] });
    expect(
      await events([
        call({ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '' } }),
        call({ function: { arguments: '{"a":' } }),
        call({ function: { arguments: '1}' } }),
        { choices: [{ delta: {}, finish_reason: 'tool_calls' }] },
      ]),
    ).toEqual([
      { type: 'tool_call', index: 0, id: 'call_1', name: 'lookup' },
      { type: 'tool_call', index: 0, arguments: '{"a":' },
      { type: 'tool_call', index: 0, arguments: '1}' },
      { type: 'end', finishReason: 'tool_calls', usage: undefined },
    ]);
  });

  it('framing - usage keeps cached and reasoning tokens where the upstream reports them, and only then', async () => {
    const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
    const end = { choices: [{ delta: { content: 'hi' }, finish_reason: 'stop' }] };
    const detailed = await events([
      end,
      {
        usage: {
          ...usage,
          prompt_tokens_details: { cached_tokens: 8 },
          completion_tokens_details: { reasoning_tokens: 3 },
        },
      },
    ]);
    expect(detailed.at(-1)).toEqual({
      type: 'end',
      finishReason: 'stop',
      usage: {
        ...usage,
        prompt_tokens_details: { cached_tokens: 8 },
        completion_tokens_details: { reasoning_tokens: 3 },
      },
    });
    const plain = await events([end, { usage: { ...usage, prompt_tokens_details: null } }]);
    expect(plain.at(-1)).toEqual({ type: 'end', finishReason: 'stop', usage });
  });

  it('framing - token log probabilities ride on the delta of their text, bytes null when not sent', async () => {
    const [delta] = await events([
      {
        choices: [
          {
            delta: { content: 'Hi' },
            logprobs: { content: [{ token: 'Hi', logprob: -0.1, top_logprobs: [{ token: 'Hey', logprob: -2 }] }] },
            finish_reason: 'stop',
          },
        ],
      },
    ]);
    expect(delta).toEqual({
      type: 'delta',
      text: 'Hi',
      logprobs: [
        { token: 'Hi', logprob: -0.1, bytes: null, top_logprobs: [{ token: 'Hey', logprob: -2, bytes: null }] },
      ],
    });
  });
});
