import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiKeys } from './api-keys.js';

describe('api keys', () => {
  it('api keys - a configured key maps to a stable key id that does not reveal it', () => {
    const keys = new ApiKeys(['pk-one', 'pk-two']);
    const id = keys.verify('pk-one');
    expect(id).toMatch(/^key_[0-9a-f]{16}$/);
    expect(keys.verify('pk-one')).toBe(id);
    expect(keys.verify('pk-two')).not.toBe(id);
    expect(id).not.toContain('one');
  });

  it('api keys - unknown, empty and near-miss keys are refused', () => {
    const keys = new ApiKeys(['pk-one']);
    for (const wrong of ['', 'pk-on', 'pk-one ', 'PK-ONE', 'pk-one2']) expect(keys.verify(wrong)).toBeUndefined();
  });

  it('api keys - reads a key file with comments, and refuses to start with no key', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'keys-')), 'keys');
    writeFileSync(file, '# local keys\npk-file\n\n');
    expect(ApiKeys.fromConfig({ file }).verify('pk-file')).toBeDefined();
    expect(() => ApiKeys.fromConfig({})).toThrow(/PARLEY_API_KEYS/);
    expect(() => ApiKeys.fromConfig({ file: join(tmpdir(), 'missing-keys-file') })).toThrow(/PARLEY_API_KEYS_FILE/);
  });
});
