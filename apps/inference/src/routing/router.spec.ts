import { describe, expect, it } from 'vitest';
import { StaticReplyProvider } from '../providers/static.provider.js';
import { Router, type ModelRoute, type Target } from './router.js';

const target = (name: string): Target => ({ name, upstreamModel: name, provider: new StaticReplyProvider(name) });
const [a, b, sorry] = [target('a'), target('b'), target('sorry')];
const router = new Router(
  new Map<string, ModelRoute>([
    [
      'support',
      {
        kind: 'chat',
        split: [
          { target: a, weight: 90 },
          { target: b, weight: 10 },
        ],
        fallbacks: [sorry],
        maxTokens: { default: 256, max: 1024 },
      },
    ],
    [
      'embed',
      { kind: 'embedding', split: [{ target: a, weight: 1 }], fallbacks: [b], maxTokens: { default: 1, max: 1 } },
    ],
  ]),
);

describe('router', () => {
  it('router - a pinned arm wins over the hash while the alias splits to it; else the hash chooses', () => {
    for (let i = 0; i < 50; i++) {
      expect(router.targets('support', `conv_${i}`, 'chat', 'b')).toEqual([b, a, sorry]);
      const hashed = router.targets('support', `conv_${i}`);
      // A fallback or an unknown name is no arm of the split.
      expect(router.targets('support', `conv_${i}`, 'chat', 'sorry')).toEqual(hashed);
      expect(router.targets('support', `conv_${i}`, 'chat', 'gone')).toEqual(hashed);
    }
  });

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
    expect(router.list().models.map((m) => m.id)).toEqual(['support', 'embed']);
  });

  it('router - an alias serves its own kind only, and the list says which', () => {
    expect(router.targets('embed', 'key_1', 'embedding')).toEqual([a, b]);
    expect(() => router.targets('embed', 'conv_1')).toThrow(
      expect.objectContaining({
        code: 'invalid_request',
        param: 'model',
        message: expect.stringMatching(/"embed" is an embedding model: use \/v1\/embeddings/),
      }),
    );
    expect(() => router.targets('support', 'key_1', 'embedding')).toThrow(
      expect.objectContaining({
        code: 'invalid_request',
        message: 'model "support" is a chat model and serves no embeddings',
      }),
    );
    expect(router.list().models.map((m) => [m.id, m.kind])).toEqual([
      ['support', 'chat'],
      ['embed', 'embedding'],
    ]);
  });
});
