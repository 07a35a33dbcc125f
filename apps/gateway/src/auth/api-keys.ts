/**
 * API keys: compared by their SHA-256 digests in constant time, and identified everywhere else (ownership,
 * logs) by a short key id derived from the digest, never by the key itself.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: string[]) {
    this.digests = [...new Set(keys)].map(digest);
  }

  /**
   * Reads keys from `PARLEY_API_KEYS` and the file named by `PARLEY_API_KEYS_FILE` (one per line, `#`
   * comments). Fails when there is none: a gateway without keys would be open to anyone.
   */
  static fromConfig({ keys = [], file }: { keys?: string[]; file?: string }): ApiKeys {
    const all = [...keys];
    if (file) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        throw new Error(`PARLEY_API_KEYS_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code})`, {
          cause: error,
        });
      }
      all.push(
        ...text
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => line && !line.startsWith('#')),
      );
    }
    if (all.length === 0) {
      throw new Error('PARLEY_API_KEYS or PARLEY_API_KEYS_FILE: at least one API key is required');
    }
    return new ApiKeys(all);
  }

  /** The key id of a valid key, or undefined. Checks every configured key so timing reveals nothing. */
  verify(presented: string): string | undefined {
    const candidate = digest(presented);
    let match: Buffer | undefined;
    for (const known of this.digests) {
      if (timingSafeEqual(candidate, known)) match = known;
    }
    return match ? keyIdOf(match) : undefined;
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function keyIdOf(keyDigest: Buffer): string {
  return `key_${keyDigest.subarray(0, 8).toString('hex')}`;
}
