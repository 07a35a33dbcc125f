/**
 * Personal data in text: emails, phone numbers, card numbers (Luhn-checked) and IBANs (mod-97 checked), found
 * in a whole message ({@link findPii}) or in a stream of chunks ({@link PiiStream}), which holds back only the
 * tail that could still become a match, so a number split across tokens is still caught.
 *
 * Why the patterns are written here: the libraries that validate these (validator, ibantools) take a whole
 * string that should *be* an IBAN or a card number; none finds them inside prose, and none can say whether the
 * end of a text could still be the start of one, which is what streaming needs. The checks that are data or
 * standards are a library's: IBAN country formats and mod-97 are ibantools'. Luhn is eight lines.
 */
import { isValidIBAN } from 'ibantools';
import type { PiiKind } from '@parley/config';

/** A finding: its kind and where it is (`end` exclusive). */
export interface PiiMatch {
  kind: PiiKind;
  start: number;
  end: number;
}

interface Detector {
  /** Candidates (global, so that `lastIndex` starts a search with the text before it visible to lookbehinds). */
  pattern: RegExp;
  /** The candidate, checked; the end of the valid match within it (a candidate can run past its IBAN). */
  check(candidate: string): number | undefined;
  /** The tail of a text that could still grow into a match (global, anchored at the end). */
  openTail: RegExp;
}

/** The longest tail held back, in characters: a longer open candidate's start is released (emails past this). */
export const MAX_HOLD_CHARS = 64;

/**
 * ISO/IEC 7812-1 check digit. Written here rather than taken from npm: the packages offering it are
 * single-purpose micro-packages that would take longer to audit than these lines.
 */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return digits.length > 0 && sum % 10 === 0;
}

const digitCount = (text: string) => text.replace(/\D/g, '').length;

/** The detectors by kind: adding one is an entry here (and its kind in @parley/config's PII_KINDS). */
const DETECTORS: Record<PiiKind, Detector> = {
  email: {
    pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g,
    check: (candidate) => candidate.length,
    openTail: /[A-Za-z0-9._%+@-]+$/g,
  },
  // 13 to 19 digits, single spaces or dashes between them, not part of a longer number.
  card: {
    pattern: /(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)/g,
    check: (candidate) => (luhnValid(candidate.replace(/\D/g, '')) ? candidate.length : undefined),
    openTail: /(?<!\d)\d(?:[ -]?\d){0,18}[ -]?$/g,
  },
  // Printed (groups of four) or electronic form, upper case: a country, two check digits, 11 to 30 more.
  iban: {
    pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g,
    check: longestValidIban,
    openTail: /\b[A-Z]{1,2}$|\b[A-Z]{2}\d{1,2}$|\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){0,30} ?$/g,
  },
  // International (+country …, 8 to 15 digits as E.164 allows) or the North American 3-3-4 form. Dates (4-2-2)
  // and bare runs of digits (order numbers) are neither.
  phone: {
    pattern: /(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?!\d)|(?<![\w(])\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?!\d)/g,
    check: (candidate) => {
      const digits = digitCount(candidate);
      return digits >= 8 && digits <= 15 ? candidate.length : undefined;
    },
    openTail: /(?<![\w+(])[+(]?\d[\d ().-]{0,22}$/g,
  },
};

/** The end (within `candidate`) of the longest prefix that is a valid IBAN, checked by ibantools. */
function longestValidIban(candidate: string): number | undefined {
  // Raw end index after each letter or digit, to map the electronic form back to the printed text.
  const ends: number[] = [];
  let compact = '';
  for (let i = 0; i < candidate.length; i++) {
    if (candidate[i] === ' ') continue;
    compact += candidate[i];
    ends.push(i + 1);
  }
  for (let length = compact.length; length >= 15; length--) {
    if (isValidIBAN(compact.slice(0, length))) return ends[length - 1];
  }
  return undefined;
}

/**
 * The personal data of `kinds` in `text` from `from` on (what lies before it is context only), without overlaps,
 * in order.
 * @example findPii('card 4111 1111 1111 1111', ['card']) // [{ kind: 'card', start: 5, end: 24 }]
 */
export function findPii(text: string, kinds: readonly PiiKind[], from = 0): PiiMatch[] {
  const found: PiiMatch[] = [];
  for (const kind of kinds) {
    const { pattern, check } = DETECTORS[kind];
    pattern.lastIndex = from;
    for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
      const length = check(m[0]);
      if (length !== undefined) found.push({ kind, start: m.index, end: m.index + length });
    }
  }
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: PiiMatch[] = [];
  for (const match of found) if (!kept.length || match.start >= kept.at(-1)!.end) kept.push(match);
  return kept;
}

/** `text` with each match replaced by its placeholder (`[CARD]`, `[EMAIL]`, …). */
export function redactPii(text: string, matches: readonly PiiMatch[]): string {
  let out = '';
  let at = 0;
  for (const { kind, start, end } of matches) {
    out += `${text.slice(at, start)}[${kind.toUpperCase()}]`;
    at = end;
  }
  return out + text.slice(at);
}

/** A piece of the stream that can go out: its text as the model wrote it, and the personal data in it. */
export interface PiiRelease {
  text: string;
  matches: PiiMatch[];
}

/**
 * Scans a stream of text chunks. Each `push` releases at once all that can no longer be part of a match, and
 * holds back the tail that could still be the start of one (at most {@link MAX_HOLD_CHARS}, more only while a
 * complete match reaches into it); `end` releases the rest.
 */
export class PiiStream {
  private pending = '';
  /** The last character released: lookbehinds (`\b`, "not after a digit") look at it. */
  private before = '';

  constructor(private readonly kinds: readonly PiiKind[]) {}

  push(chunk: string): PiiRelease {
    this.pending += chunk;
    const text = this.before + this.pending;
    const offset = this.before.length;
    let hold = text.length;
    for (const kind of this.kinds) {
      const tail = DETECTORS[kind].openTail;
      tail.lastIndex = offset;
      const open = tail.exec(text);
      if (open) hold = Math.min(hold, open.index);
    }
    hold = Math.max(hold, text.length - MAX_HOLD_CHARS);
    const matches = findPii(text, this.kinds, offset);
    // A complete match reaching into the held tail is held whole.
    for (const match of matches) if (match.start < hold && match.end > hold) hold = match.start;
    return this.release(text, offset, hold, matches);
  }

  end(): PiiRelease {
    const text = this.before + this.pending;
    return this.release(text, this.before.length, text.length, findPii(text, this.kinds, this.before.length));
  }

  /** Whether text is held back. */
  get holding(): boolean {
    return this.pending.length > 0;
  }

  private release(text: string, offset: number, hold: number, all: PiiMatch[]): PiiRelease {
    if (hold <= offset) return { text: '', matches: [] };
    const out = text.slice(offset, hold);
    const matches = all
      .filter((m) => m.end <= hold)
      .map((m) => ({ kind: m.kind, start: m.start - offset, end: m.end - offset }));
    this.pending = text.slice(hold);
    this.before = text[hold - 1]!;
    return { text: out, matches };
  }
}
