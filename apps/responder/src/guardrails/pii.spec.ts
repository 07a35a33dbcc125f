import { describe, expect, it } from 'vitest';
import { PII_KINDS, type PiiKind } from '@parley/config';
import { MAX_HOLD_CHARS, PiiStream, findPii, luhnValid, redactPii } from './pii.js';

const ALL = PII_KINDS;
const redactAll = (text: string) => redactPii(text, findPii(text, ALL));

/** Streams `chunks` through a PiiStream and returns the redacted output and what each push released. */
function stream(chunks: string[], kinds: readonly PiiKind[] = ALL) {
  const pii = new PiiStream(kinds);
  const released: string[] = [];
  let out = '';
  for (const chunk of [...chunks.map((c) => pii.push(c)), pii.end()]) {
    released.push(chunk.text);
    out += redactPii(chunk.text, chunk.matches);
  }
  return { out, released };
}

describe('pii', () => {
  it('pii - Luhn accepts valid card numbers and refuses a changed digit', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('5555555555554444')).toBe(true);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('')).toBe(false);
  });

  it('pii - card numbers with spaces, dashes or none are found only when the Luhn check passes', () => {
    expect(redactAll('pay with 4111 1111 1111 1111 now')).toBe('pay with [CARD] now');
    expect(redactAll('pay with 5555-5555-5555-4444.')).toBe('pay with [CARD].');
    expect(redactAll('amex 378282246310005')).toBe('amex [CARD]');
    expect(redactAll('pay with 4111 1111 1111 1112 now')).toBe('pay with 4111 1111 1111 1112 now');
  });

  it('pii - IBANs pass the mod-97 check; a wrong check digit or trailing words are not part of one', () => {
    expect(redactAll('to GB82 WEST 1234 5698 7654 32 THANKS')).toBe('to [IBAN] THANKS');
    expect(redactAll('to DE89370400440532013000.')).toBe('to [IBAN].');
    expect(redactAll('to DE88370400440532013000.')).toBe('to DE88370400440532013000.');
  });

  it('pii - emails and phone numbers are found', () => {
    expect(redactAll('write to jane.doe+shop@mail.example.com.')).toBe('write to [EMAIL].');
    expect(redactAll('call +49 30 1234 5678 or (555) 123-4567')).toBe('call [PHONE] or [PHONE]');
    expect(redactAll('call 555.123.4567')).toBe('call [PHONE]');
  });

  it('pii - ordinary numbers are left alone: order ids, dates, times, prices, tracking numbers', () => {
    const text =
      'Order 123456789 of 2024-01-15 at 14:30 cost 1,299.00 EUR; tracking 1Z999AA10123456784, ref #A-2024-0042, ' +
      'version 1.2.3, postcode 10115, 12/05/2025, ISBN 978-3-16-148410-0, invoice 2024 0001 0002.';
    expect(findPii(text, ALL)).toEqual([]);
  });

  it('pii - a card number split across chunks is redacted, and nothing but its candidate tail is held', () => {
    const { out, released } = stream(['Your card ', '4111', ' 1111 ', '1111', ' 1111', ' is on file.']);
    expect(out).toBe('Your card [CARD] is on file.');
    expect(released[0]).toBe('Your card ');
    // The digits are held until the number ends.
    expect(released.slice(1, 5)).toEqual(['', '', '', '']);
  });

  it('pii - an email and an IBAN split inside a token are caught', () => {
    expect(stream(['mail jan', 'e@exa', 'mple.org', ' today'], ['email']).out).toBe('mail [EMAIL] today');
    expect(stream(['IBAN G', 'B82 WE', 'ST 1234 5698 76', '54 32 ok'], ['iban']).out).toBe('IBAN [IBAN] ok');
  });

  it('pii - text that cannot start a match is released at once', () => {
    const pii = new PiiStream(['card', 'iban']);
    expect(pii.push('hello there, ').text).toBe('hello there, ');
    expect(pii.holding).toBe(false);
    expect(pii.push('order 12').text).toBe('order ');
    expect(pii.push('3 shipped').text).toBe('123 shipped');
  });

  it('pii - the held tail is bounded', () => {
    const pii = new PiiStream(['email']);
    const word = 'a'.repeat(200);
    expect(pii.push(word).text.length).toBe(200 - MAX_HOLD_CHARS);
  });

  it('pii - the stream output equals redacting the whole text, however it is chunked', () => {
    const text =
      'Hi jane@shop.example, card 4111-1111-1111-1111, IBAN DE89 3704 0044 0532 0130 00, call +1 415 555 2671.';
    for (const size of [1, 2, 3, 5, 7, 11]) {
      const chunks = text.match(new RegExp(`[^]{1,${size}}`, 'g'))!;
      expect(stream(chunks).out).toBe(redactAll(text));
    }
    expect(redactAll(text)).toBe('Hi [EMAIL], card [CARD], IBAN [IBAN], call [PHONE].');
  });
});
