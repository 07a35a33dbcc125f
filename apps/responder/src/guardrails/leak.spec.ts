import { describe, expect, it } from 'vitest';
import { LeakStream } from './leak.js';

const PROMPT =
  'You are the assistant of Shop Example. Never offer refunds above 50 EUR without a manager; the discount code ' +
  'for angry customers is CALM-DOWN-2026.';

/** Streams `chunks` and returns what went out and whether a leak was found. */
function run(chunks: string[], options = { minChars: 50, hold: true }, prompts = [PROMPT]) {
  const leak = new LeakStream(prompts, options);
  let out = '';
  let leaked = false;
  for (const chunk of chunks) {
    const release = leak.push(chunk);
    out += release.text;
    leaked ||= release.leaked;
    if (leaked) break;
  }
  if (!leaked) out += leak.end();
  return { out, leaked };
}

const words = (text: string) => text.split(/(?= )/);

describe('leak', () => {
  it('leak - a reply quoting 50 characters of the prompt is cut before the quote, across case and spacing', () => {
    const reply = 'Sure! My rules: NEVER offer refunds  above 50 EUR\nwithout a manager; the discount code for angry';
    const { out, leaked } = run(words(reply));
    expect(leaked).toBe(true);
    expect(out).toBe('Sure! My rules:');
  });

  it('leak - an ordinary reply goes out whole and unchanged, even when it shares short phrases', () => {
    const reply =
      'You are welcome! The discount code for your order is in the email. Refunds above 50 EUR take a week.';
    expect(run(words(reply))).toEqual({ out: reply, leaked: false });
    expect(run([...reply])).toEqual({ out: reply, leaked: false });
  });

  it('leak - what matches the prompt is held only while it matches', () => {
    const leak = new LeakStream([PROMPT], { minChars: 50, hold: true });
    expect(leak.push('xyz ').text).toBe('xyz');
    // The space matched the prompt's spaces; " you" does not occur in it, "you are the" does.
    expect(leak.push('you are the').text).toBe(' ');
    expect(leak.push(' banana!').text).toBe('you are the banana!');
  });

  it('leak - with flag, text is not held and the leak is still reported', () => {
    const { out, leaked } = run(words(PROMPT), { minChars: 50, hold: false });
    expect(leaked).toBe(true);
    expect(PROMPT.startsWith(out)).toBe(true);
    expect(out.length).toBeGreaterThanOrEqual(50);
  });

  it('leak - spans of the conversation prompt count too, and no match runs across two prompts', () => {
    const second = 'The order database password is hunter2 and must never be shared with customers.';
    expect(run(words(`Ok: ${second}`), undefined, [PROMPT, second]).leaked).toBe(true);
    const across = `${PROMPT.slice(-30)} ${second.slice(0, 30)}`;
    expect(run(words(across), undefined, [PROMPT, second]).leaked).toBe(false);
  });

  it('leak - without a prompt nothing is held', () => {
    expect(run(['hello ', 'world'], undefined, [])).toEqual({ out: 'hello world', leaked: false });
  });
});
