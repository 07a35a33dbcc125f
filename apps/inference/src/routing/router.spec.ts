import { describe, expect, it } from 'vitest';
import { StaticReplyProvider } from '../providers/static.provider.js';
import { Router, type Target } from './router.js';

const target = (name: string): Target => ({ name, upstreamModel: name, provider: new StaticReplyProvider(name) });
const [a, b, sorry] = [target('a'), target('b'), target('sorry')];
const router = new Router(
  new Map([
    [
      'support',
      {
        split: [
          { target: a, weight: 90 },
          { target: b, weight: 10 },
        ],
        fallbacks: [sorry],
        maxTokens: { default: 256, max: 1024 },
      },
    ],
  ]),
);

describe('router', () => {
  it('router - weights hold within 3 percentage points over 1,000 conversations', () => {
    let toB = 0;
    for (let i = 0; i < 1_000; i++) if (router.targets('support', `conv_${i}`)[0] === b) toB += 1;
    expect(toB / 1_000).toBeGreaterThan(0.07);
    expect(toB / 1_000).toBeLessThan(0.13);
  });

  it('router - a conversation always gets the same target, then the others, then the fallbacks', () => {
    for (let i = 0; i < 100; i++) {
      const first = router.targets('support', `conv_${i}`);
      expect(router.targets('support', `conv_${i}`)).toEqual(first);
      expect(first).toHaveLength(3);
      expect(first.at(-1)).toBe(sorry);
      expect(new Set(first).size).toBe(3);
    }
  });

  it('router - an unknown alias is model_not_found', () => {
    expect(() => router.targets('nope', 'x')).toThrow(expect.objectContaining({ code: 'model_not_found' }));
    expect(router.list().models.map((m) => m.id)).toEqual(['support']);
  });
});
