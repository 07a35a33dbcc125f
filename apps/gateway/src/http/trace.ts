import type { Request } from 'express';

/** The caller's `traceparent`, if it sent exactly one; the next hop validates it or starts a new trace. */
export function incomingTraceparent(req: Request): string | undefined {
  const value = req.headers.traceparent;
  return typeof value === 'string' ? value : undefined;
}
