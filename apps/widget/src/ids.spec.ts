import { describe, expect, it } from 'vitest';
import { uuid } from './ids.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('ids', () => {
  it('ids - without randomUUID (an insecure context) a v4 UUID comes from getRandomValues', () => {
    const insecure = { getRandomValues: crypto.getRandomValues.bind(crypto) };
    const ids = new Set(Array.from({ length: 200 }, () => uuid(insecure)));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(V4);
  });

  it('ids - randomUUID is used when the context has it', () => {
    expect(uuid({ getRandomValues: (a) => a, randomUUID: () => 'from-randomUUID' })).toBe('from-randomUUID');
  });
});
