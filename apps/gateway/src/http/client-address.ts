import type { Request } from 'express';
import ipaddr from 'ipaddr.js';

/**
 * The client's address as limits count it: from `X-Forwarded-For` only as far as `PARLEY_TRUST_PROXY`'s
 * proxies vouch for it (Express walks the header from the right), else the socket's. An IPv6 client is its
 * /64: one subscriber line usually has a whole /64, so counting addresses apart would give it 2^64 budgets.
 * An IPv4 address mapped into IPv6 counts as the IPv4 address.
 */
export function clientAddress(req: Request): string {
  return addressKey(req.ip ?? req.socket.remoteAddress ?? 'unknown');
}

export function addressKey(raw: string): string {
  if (!ipaddr.isValid(raw)) return raw;
  const address = ipaddr.process(raw);
  if (address.kind() === 'ipv4') return address.toString();
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`;
}
