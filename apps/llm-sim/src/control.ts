import type { IncomingMessage, ServerResponse } from 'node:http';
import { SimKnobsPatchSchema } from './config.js';
import { HttpError, readJsonBody, sendEmpty, sendJson } from './http.js';
import type { RequestLog } from './records.js';
import type { SimState } from './state.js';

/** Serves one method on one path. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Path → method → handler. */
export type Routes = Record<string, Partial<Record<string, RouteHandler>>>;

/**
 * The control API tests use at runtime:
 * - `GET /sim/config` → the knobs;
 * - `PUT /sim/config` with a partial update (`fault` or `replyText` `null` clears them) → the new knobs, or 400;
 * - `GET /sim/requests` → `{ requests: SimRequestRecord[] }`: chat completion and embedding requests, oldest first;
 * - `DELETE /sim/requests` → 204, the log emptied.
 */
export function controlRoutes(state: SimState, log: RequestLog): Routes {
  return {
    '/sim/config': {
      GET: (_req, res) => sendJson(res, 200, state.knobs),
      PUT: async (req, res) => {
        const parsed = SimKnobsPatchSchema.safeParse(await readJsonBody(req));
        if (!parsed.success) throw HttpError.fromZod(parsed.error);
        sendJson(res, 200, state.update(parsed.data));
      },
    },
    '/sim/requests': {
      GET: (_req, res) => sendJson(res, 200, { requests: log.list() }),
      DELETE: (_req, res) => {
        log.clear();
        sendEmpty(res, 204);
      },
    },
  };
}
