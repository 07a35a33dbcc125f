/**
 * Random ids for idempotency keys. `crypto.randomUUID` exists only in secure contexts (https or
 * localhost), so on a plain-http host page every send failed; `crypto.getRandomValues` works in any
 * context and gives the same RFC 4122 version 4 UUID.
 */
type RandomSource = Pick<Crypto, 'getRandomValues'> & { randomUUID?: () => string };

export function uuid(source: RandomSource = globalThis.crypto): string {
  if (typeof source.randomUUID === 'function') return source.randomUUID();
  const b = source.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
