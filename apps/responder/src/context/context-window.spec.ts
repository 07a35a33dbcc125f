import { describe, expect, it } from 'vitest';
import { fitContext } from './context-window.js';
import { ESTIMATE_BYTES_PER_TOKEN, PER_MESSAGE_OVERHEAD_TOKENS, tokenCounterFor } from './token-counter.js';

/** A counter where every character is one token, so budgets are easy to reason about. */
const perChar = { method: 'estimate' as const, count: (text: string) => text.length };
const turn = (n: number) => [
  { role: 'user' as const, content: `q${n}`.padEnd(10, '.') },
  { role: 'assistant' as const, content: `a${n}`.padEnd(10, '.') },
];

describe('context window', () => {
  it('context - keeps the system prompts and the newest history within the budget', () => {
    const history = [1, 2, 3, 4].flatMap(turn);
    const cost = 10 + PER_MESSAGE_OVERHEAD_TOKENS;
    const { messages, droppedMessages, promptTokens } = fitContext({
      systemPrompts: ['deployment prompt', '', 'conversation prompt'],
      history,
      userMessage: 'new question',
      // system prompts + new message + exactly three history messages
      budgetTokens: 17 + 19 + 12 + 3 * PER_MESSAGE_OVERHEAD_TOKENS + 3 * cost,
      counter: perChar,
    });
    expect(messages.map((m) => m.content.slice(0, 2))).toEqual(['de', 'co', 'a3', 'q4', 'a4', 'ne']);
    expect(messages[0]?.role).toBe('system');
    expect(droppedMessages).toBe(5);
    expect(promptTokens).toBeLessThanOrEqual(17 + 19 + 12 + 3 * PER_MESSAGE_OVERHEAD_TOKENS + 3 * cost);
  });

  it('context - a message too large for the window is refused before any upstream call', () => {
    expect(() =>
      fitContext({
        systemPrompts: ['s'],
        history: [],
        userMessage: 'x'.repeat(100),
        budgetTokens: 50,
        counter: perChar,
      }),
    ).toThrow(expect.objectContaining({ code: 'context_length_exceeded', status: 400 }));
  });

  it('context - OpenAI-family models are counted with a real tokenizer, others estimated pessimistically', async () => {
    const bpe = await tokenCounterFor('gpt-4o-mini');
    expect(bpe.method).toBe('bpe:o200k_base');
    expect(bpe.count('Hello, world!')).toBe(4);
    const estimate = await tokenCounterFor('mistralai/Mistral-7B-Instruct');
    expect(estimate.method).toBe('estimate');
    const text = 'Where is my order? It was due on Monday.';
    expect(estimate.count(text)).toBe(Math.ceil(text.length / ESTIMATE_BYTES_PER_TOKEN));
    expect(estimate.count(text)).toBeGreaterThanOrEqual(bpe.count(text));
  });
});
