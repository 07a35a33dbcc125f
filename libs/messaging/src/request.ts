/**
 * Request/reply between services, always with a timeout (the Nest NATS client has none), and with the error
 * of a failed request carried back as a `ParleyError` with its stable code and `Retry-After`.
 */
import { errors, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { ErrorInfoSchema, Headers, ParleyError, type Endpoint } from '@parley/contracts';
import type { z } from 'zod';
import { SpanKind } from '@opentelemetry/api';
import { withSpan } from '@parley/tracing';
import { decode, encode } from './codec.js';
import { injectHeaders } from './headers.js';

/** Seconds a client should wait after a 503 from a missing service. */
const NO_RESPONDERS_RETRY_AFTER_S = 1;

/**
 * Sends a request to an endpoint's queue group and returns the validated reply. Nobody listening, or nobody
 * answering in time, is the endpoint's `unavailable` code (e.g. `no_responder`); an error reply is rethrown.
 * Traced endpoints (turns, generations) get a producer span whose context travels in the headers.
 * @example const accepted = await call(nc, Endpoints.turnStart, turn, { timeoutMs: 5_000 });
 */
export function call<Req extends z.ZodType, Rep extends z.ZodType>(
  nc: NatsConnection,
  endpoint: Endpoint<Req, Rep>,
  payload: z.infer<Req>,
  { timeoutMs }: { timeoutMs: number },
): Promise<z.infer<Rep>> {
  if (!endpoint.traced) return send(nc, endpoint, payload, timeoutMs, undefined);
  return withSpan(
    `send ${endpoint.subject}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.destination.name': endpoint.subject,
        'messaging.operation.type': 'send',
      },
    },
    () => send(nc, endpoint, payload, timeoutMs, injectHeaders()),
  );
}

async function send<Req extends z.ZodType, Rep extends z.ZodType>(
  nc: NatsConnection,
  { subject, reply: schema, service, unavailable }: Endpoint<Req, Rep>,
  payload: z.infer<Req>,
  timeoutMs: number,
  headers: MsgHdrs | undefined,
): Promise<z.infer<Rep>> {
  let reply;
  try {
    reply = await nc.request(subject, encode(payload), { timeout: timeoutMs, headers });
  } catch (cause) {
    const retryAfterSeconds = NO_RESPONDERS_RETRY_AFTER_S;
    if (cause instanceof errors.RequestError && cause.isNoResponders()) {
      throw new ParleyError(unavailable, `no ${service} is running`, { cause, retryAfterSeconds });
    }
    if (cause instanceof errors.TimeoutError || (cause instanceof errors.RequestError && isTimeout(cause))) {
      throw new ParleyError(unavailable, `${service} did not answer within ${timeoutMs} ms`, {
        cause,
        retryAfterSeconds,
      });
    }
    throw new ParleyError('service_unavailable', 'messaging is unavailable', { cause, retryAfterSeconds });
  }
  if (reply.headers?.has(Headers.errorCode)) {
    throw ParleyError.fromInfo(decode(ErrorInfoSchema, reply.data, 'error reply'));
  }
  return decode(schema, reply.data, `${subject} reply`);
}

function isTimeout(error: Error): boolean {
  return error.cause instanceof errors.TimeoutError;
}
