/**
 * System-prompt leakage: a reply that reproduces a long span of the system prompt (whitespace collapsed, case
 * ignored). A suffix automaton of the prompt follows the reply character by character and knows, in constant
 * time per character, the longest end of the reply that occurs in the prompt: that end is what {@link LeakStream}
 * holds back, so a cut reply shows none of the span. Written here: no maintained npm package offers a suffix
 * automaton for streaming substring matching.
 */
import { LRUCache } from 'lru-cache';

/** Joins the prompts so that no match spans two of them (it never appears in normalized text). */
const SEPARATOR = '\u0000';

/** The prompt as matched: lower case, each run of whitespace one space. */
function normalize(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ');
}

/** The suffix automaton of a text: every substring of it is a path from state 0. */
class SuffixAutomaton {
  /** Each state's transitions, by code point. */
  private readonly next: Map<number, number>[] = [new Map()];
  private readonly link: number[] = [-1];
  private readonly length: number[] = [0];

  constructor(text: string) {
    let last = 0;
    for (const char of text) last = this.extend(last, char.codePointAt(0)!);
  }

  step(state: number, code: number): number | undefined {
    return this.next[state]!.get(code);
  }

  /** The longest substring a state stands for; its suffix link's state stands for the shorter ones. */
  lengthOf(state: number): number {
    return this.length[state]!;
  }

  linkOf(state: number): number {
    return this.link[state]!;
  }

  private add(length: number, link: number, next: Map<number, number>): number {
    this.length.push(length);
    this.link.push(link);
    this.next.push(next);
    return this.length.length - 1;
  }

  private extend(last: number, code: number): number {
    const current = this.add(this.length[last]! + 1, 0, new Map());
    let p = last;
    while (p !== -1 && !this.next[p]!.has(code)) {
      this.next[p]!.set(code, current);
      p = this.link[p]!;
    }
    if (p === -1) return current;
    const q = this.next[p]!.get(code)!;
    if (this.length[p]! + 1 === this.length[q]) {
      this.link[current] = q;
      return current;
    }
    const clone = this.add(this.length[p]! + 1, this.link[q]!, new Map(this.next[q]));
    while (p !== -1 && this.next[p]!.get(code) === q) {
      this.next[p]!.set(code, clone);
      p = this.link[p]!;
    }
    this.link[q] = clone;
    this.link[current] = clone;
    return current;
  }
}

/** Prompts are few (the deployment's, each project's): their automatons are built once. */
const automatons = new LRUCache<string, SuffixAutomaton>({ max: 64 });

function automatonOf(prompts: readonly string[]): SuffixAutomaton {
  const text = prompts.map(normalize).join(SEPARATOR);
  let automaton = automatons.get(text);
  if (!automaton) automatons.set(text, (automaton = new SuffixAutomaton(text)));
  return automaton;
}

/** What a push lets out: the text, and whether the reply has just been found to leak (nothing more goes out). */
export interface LeakRelease {
  text: string;
  leaked: boolean;
}

/**
 * Follows a reply against the system prompts. With `hold`, the end of the reply that occurs in a prompt is
 * held back until it stops matching (and released) or reaches `minChars` (a leak: it is never released).
 * Without it, text goes out at once and a leak is only reported.
 */
export class LeakStream {
  private readonly automaton: SuffixAutomaton;
  private state = 0;
  /** Normalized characters matched: the current match's length. */
  private matched = 0;
  private pending = '';
  /** For each normalized character of the pending text, where it starts in `pending`. */
  private starts: number[] = [];
  private lastWasSpace = false;
  private leakedAlready = false;

  constructor(
    prompts: readonly string[],
    private readonly options: { minChars: number; hold: boolean },
  ) {
    this.automaton = automatonOf(prompts.filter((p) => p.trim().length > 0));
  }

  push(text: string): LeakRelease {
    if (this.leakedAlready) return this.options.hold ? { text: '', leaked: true } : { text, leaked: false };
    for (const char of text) {
      const space = /\s/.test(char);
      this.pending += char;
      if (space && this.lastWasSpace) continue;
      this.lastWasSpace = space;
      this.starts.push(this.pending.length - char.length);
      this.advance(space ? 32 : char.toLowerCase().codePointAt(0)!);
      if (this.matched >= this.options.minChars) {
        this.leakedAlready = true;
        if (!this.options.hold) return { text: this.take(this.pending.length), leaked: true };
        return { text: this.take(this.starts[this.starts.length - this.matched]!), leaked: true };
      }
    }
    if (!this.options.hold || this.matched === 0) return { text: this.take(this.pending.length), leaked: false };
    return { text: this.take(this.starts[this.starts.length - this.matched]!), leaked: false };
  }

  /** Whether text is held back. */
  get holding(): boolean {
    return this.pending.length > 0;
  }

  /** The end of the reply: what was held goes out (it did not grow into a leak). */
  end(): string {
    return this.leakedAlready && this.options.hold ? '' : this.take(this.pending.length);
  }

  /** Releases `pending` up to `at`. */
  private take(at: number): string {
    const out = this.pending.slice(0, at);
    this.pending = this.pending.slice(at);
    let drop = 0;
    while (drop < this.starts.length && this.starts[drop]! < at) drop++;
    this.starts = this.starts.slice(drop).map((start) => start - at);
    return out;
  }

  private advance(code: number): void {
    const { automaton } = this;
    let state = this.state;
    while (state !== -1 && automaton.step(state, code) === undefined) {
      state = automaton.linkOf(state);
      if (state !== -1) this.matched = Math.min(this.matched, automaton.lengthOf(state));
    }
    if (state === -1) {
      this.state = 0;
      this.matched = 0;
      return;
    }
    this.state = automaton.step(state, code)!;
    this.matched += 1;
  }
}
