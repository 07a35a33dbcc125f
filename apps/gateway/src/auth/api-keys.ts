/**
 * Bootstrap API keys from the configuration (`PARLEY_API_KEYS`, `PARLEY_API_KEYS_FILE`, `PARLEY_ADMIN_API_KEYS`):
 * read, checked for strength and reduced to their SHA-256 digests, which the account store authenticates by
 * (a lookup by digest: the digest of a guess reveals nothing about a key). A key is identified everywhere else
 * (ownership, logs) by a short key id derived from its digest, never by the key itself.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The shortest key accepted, and how many different characters it needs: a guessable key is no key. */
export const MIN_KEY_LENGTH = 20;
const MIN_DISTINCT_CHARACTERS = 10;

/** Why `key` is too weak to be an API key, or undefined when it is strong enough. */
export function weakKeyProblem(key: string): string | undefined {
  if (key.length < MIN_KEY_LENGTH) return `an API key needs at least ${MIN_KEY_LENGTH} characters`;
  if (new Set(key).size < MIN_DISTINCT_CHARACTERS) {
    return `an API key needs at least ${MIN_DISTINCT_CHARACTERS} different characters`;
  }
  return undefined;
}

export class ApiKeys {
  private readonly digests: Buffer[];

  /** @throws Error when a key is too weak (see {@link weakKeyProblem}); the message never quotes the key. */
  constructor(keys: string[]) {
    keys.forEach((key, i) => {
      const problem = weakKeyProblem(key);
      if (problem) throw new Error(`key ${i + 1} of ${keys.length}: ${problem}`);
    });
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

  /** The digests of the keys, for the account store. */
  keyDigests(): readonly Buffer[] {
    return this.digests;
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

/** The SHA-256 digest of a key: all that is ever stored of it. */
export function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function keyIdOf(keyDigest: Buffer): string {
  return `key_${keyDigest.subarray(0, 8).toString('hex')}`;
}
