import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiKeys } from './api-keys.js';

describe('api keys', () => {
  it('api keys - a configured key maps to a stable key id that does not reveal it', () => {
    const keys = new ApiKeys(['pk-one-4f9c2a7e1b8d0c', 'pk-two-4f9c2a7e1b8d0c']);
    const id = keys.verify('pk-one-4f9c2a7e1b8d0c');
    expect(id).toMatch(/^key_[0-9a-f]{16}$/);
    expect(keys.verify('pk-one-4f9c2a7e1b8d0c')).toBe(id);
    expect(keys.verify('pk-two-4f9c2a7e1b8d0c')).not.toBe(id);
    expect(id).not.toContain('one');
  });

  it('api keys - a short or repetitive key is refused without being quoted', () => {
    expect(() => new ApiKeys(['x'])).toThrow('key 1 of 1: an API key needs at least 20 characters');
    expect(() => new ApiKeys(['pk-one-4f9c2a7e1b8d0c', 'aaaaabbbbbaaaaabbbbbaaaa'])).toThrow(
      'key 2 of 2: an API key needs at least 10 different characters',
    );
  });

  it('api keys - unknown, empty and near-miss keys are refused', () => {
    const keys = new ApiKeys(['pk-one-4f9c2a7e1b8d0c']);
    for (const wrong of [
      '',
      'pk-one-4f9c2a7e1b8d0',
      'pk-one-4f9c2a7e1b8d0c ',
      'PK-ONE-4F9C2A7E1B8D0C',
      'pk-one-4f9c2a7e1b8d0c2',
    ]) {
      expect(keys.verify(wrong)).toBeUndefined();
    }
  });

  it('api keys - reads a key file with comments, and refuses to start with no key', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'keys-')), 'keys');
    writeFileSync(file, '# local keys\npk-file-4f9c2a7e1b8d0c\n\n');
    expect(ApiKeys.fromConfig({ file }).verify('pk-file-4f9c2a7e1b8d0c')).toBeDefined();
    expect(() => ApiKeys.fromConfig({})).toThrow(/PARLEY_API_KEYS/);
    expect(() => ApiKeys.fromConfig({ file: join(tmpdir(), 'missing-keys-file') })).toThrow(/PARLEY_API_KEYS_FILE/);
  });
});
