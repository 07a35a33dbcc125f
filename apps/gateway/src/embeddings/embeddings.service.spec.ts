import { describe, expect, it } from 'vitest';
import { estimateInputTokens, floatsOf, inputList } from './embeddings.service.js';

describe('embeddings', () => {
  it('embeddings - one text or token array becomes a list of one; lists stay as they are', () => {
    expect(inputList('hello')).toEqual(['hello']);
    expect(inputList(['a', 'b'])).toEqual(['a', 'b']);
    expect(inputList([1, 2, 3])).toEqual([[1, 2, 3]]);
    expect(inputList([[1], [2, 3]])).toEqual([[1], [2, 3]]);
  });

  it('embeddings - input tokens are estimated high for texts and exactly for token ids', () => {
    expect(estimateInputTokens(['abcdefg', 'ab'])).toBe(3 + 1);
    expect(estimateInputTokens([[1, 2, 3], [4]])).toBe(4);
  });

  it('embeddings - base64 of little-endian float32 reads back as the floats', () => {
    const bytes = Buffer.alloc(8);
    bytes.writeFloatLE(0.5, 0);
    bytes.writeFloatLE(-0.25, 4);
    expect(floatsOf(bytes.toString('base64'))).toEqual([0.5, -0.25]);
  });
});
