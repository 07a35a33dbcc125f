import { describe, expect, it } from 'vitest';
import { countPromptTokens, generateReplyTokens, mulberry32, splitReplyText } from './reply.js';

const messages = [
  { role: 'system', content: 'Be brief.' },
  {
    role: 'user',
    content: [
      { type: 'text', text: 'Where is ' },
      { type: 'text', text: 'my parcel?' },
    ],
  },
];

describe('llm-sim reply', () => {
  it('llm-sim - mulberry32 yields the same floats in [0, 1) for the same seed', () => {
    const a = mulberry32(1);
    const b = mulberry32(1);
    const values = Array.from({ length: 100 }, () => a());
    expect(values).toEqual(Array.from({ length: 100 }, () => b()));
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(values).size).toBe(100);
  });

  it('llm-sim - reply tokens are words with a trailing space, fixed by seed and messages', () => {
    const tokens = generateReplyTokens({ seed: 42, messages, count: 50 });
    expect(tokens).toHaveLength(50);
    expect(tokens.every((t) => /^\S+ $/.test(t))).toBe(true);
    expect(generateReplyTokens({ seed: 42, messages, count: 50 })).toEqual(tokens);
    expect(generateReplyTokens({ seed: 43, messages, count: 50 })).not.toEqual(tokens);
    const otherRole = [{ role: 'user', content: 'Be brief.' }, messages[1] ?? messages[0]];
    expect(generateReplyTokens({ seed: 42, messages: otherRole, count: 50 })).not.toEqual(tokens);
    expect(generateReplyTokens({ seed: 42, messages, count: 0 })).toEqual([]);
  });

  it.each([
    ['plain words', 'hello there world', ['hello ', 'there ', 'world']],
    ['markup and newlines', '<b>Hi</b>\n\n- one  two\n', ['<b>Hi</b>\n\n', '- ', 'one  ', 'two\n']],
    ['leading whitespace', '  \tindented text', ['  \tindented ', 'text']],
    ['only whitespace', ' \n ', [' \n ']],
    ['nothing', '', []],
  ])('llm-sim - splitReplyText keeps every character of %s', (_name, text, expected) => {
    const tokens = splitReplyText(text);
    expect(tokens).toEqual(expected);
    expect(tokens.join('')).toBe(text);
  });

  it('llm-sim - prompt tokens count words plus per-message overhead', () => {
    // 3 priming + (3 + 2) + (3 + 4)
    expect(countPromptTokens(messages)).toBe(15);
    expect(countPromptTokens([{ role: 'assistant', content: null }])).toBe(6);
  });
});
