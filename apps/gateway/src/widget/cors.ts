/**
 * CORS for the routes the widget calls from its host page. A preflight does not say which widget key follows,
 * so an origin passes here when some key allows it; the key's own origin list is enforced by the session
 * endpoint and the auth guard. Any other origin gets no CORS headers, so browsers keep it out.
 */
import cors from 'cors';
import type { RequestHandler } from 'express';
import type { WidgetKeys } from '../auth/widget-keys.js';

const PREFLIGHT_MAX_AGE_SECONDS = 600;

export function widgetCors(keys: WidgetKeys): RequestHandler {
  return cors({
    origin: (origin, done) => done(null, origin !== undefined && keys.allowsSomewhere(origin)),
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'Last-Event-ID'],
    exposedHeaders: ['X-Parley-Turn-Id', 'Idempotent-Replayed', 'Retry-After', 'X-Request-Id'],
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
    credentials: false,
  });
}
