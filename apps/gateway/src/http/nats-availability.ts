/**
 * Every `/v1` route needs NATS. While the gateway is cut off from it (NATS down, or frozen and noticed by the
 * connection's pings within 1.5 s), a request is refused at once with `503 service_unavailable` and
 * `Retry-After`, instead of waiting out a NATS timeout and failing as something else. A request still
 * waiting when the connection drops gets the same answer then, if nothing of its response was sent yet.
 */
import { ParleyError } from '@parley/contracts';
import type { NatsHandle } from '@parley/messaging';
import type { Logger } from '@parley/tracing';
import type { NextFunction, Request, Response } from 'express';
import { sendError } from './errors.js';

/** The connection retries every 500 ms; a client that comes back after 2 s usually finds it again. */
const NATS_DOWN_RETRY_AFTER_S = 2;

function unavailable(): ParleyError {
  return new ParleyError('service_unavailable', 'messaging is unavailable; retry shortly', {
    retryAfterSeconds: NATS_DOWN_RETRY_AFTER_S,
  });
}

/**
 * Express middleware for the `/v1` routes (see above); the others (health, metrics, the widget) need no NATS. A request answered this way may still have been
 * carried out if NATS had already taken it: conversation messages are retried safely with `Idempotency-Key`.
 * @example app.use(natsAvailability(nats, log));
 */
export function natsAvailability(nats: NatsHandle, log: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!req.path.startsWith('/v1/')) return next();
    if (!nats.connected()) {
      log.warn({ path: req.path, code: 'service_unavailable' }, 'refused: nats is unavailable');
      sendError(req, res, unavailable());
      return;
    }
    const stop = nats.onDisconnect(() => {
      if (res.headersSent) return;
      log.warn({ path: req.path, code: 'service_unavailable' }, 'refused: nats was lost during the request');
      sendError(req, res, unavailable());
    });
    res.once('close', stop);
    next();
  };
}
