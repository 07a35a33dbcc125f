import type { Request } from 'express';

/** The client's address: from `X-Forwarded-For` behind a trusted proxy (`PARLEY_TRUST_PROXY`), else the socket's. */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}
