/**
 * Request/reply between services, always with a timeout (the Nest NATS client has none), and with the error
 * of a failed request carried back as a `ParleyError` with its stable code.
 */
import { errors, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { ErrorInfoSchema, Headers, ParleyError, type ErrorCode } from '@parley/contracts';
import type { z } from 'zod';
import { SpanKind } from '@opentelemetry/api';
import { withSpan } from '@parley/tracing';
import { decode, encode } from './codec.js';
import { injectHeaders } from './headers.js';

/** Seconds a client should wait after a 503 from a missing service. */
const NO_RESPONDERS_RETRY_AFTER_S = 1;

/**
 * Sends a request to a queue group and returns the validated reply.
 * `unavailable` is the code when nobody listens or nobody answers in time (e.g. `no_responder`).
 * @example const accepted = await request(nc, { subject: Subjects.turnStart, payload, schema: TurnAcceptedSchema,
 *   timeoutMs: 5_000, unavailable: 'no_responder' });
 */
export async function request<S extends z.ZodType>(
  nc: NatsConnection,
  {
    subject,
    payload,
    schema,
    timeoutMs,
    traced = false,
    unavailable,
  }: {
    subject: string;
    payload: unknown;
    schema: S;
    timeoutMs: number;
    /** Trace the call as a span (turns and generations); probes and listings leave it off. */
    traced?: boolean;
    unavailable: ErrorCode;
  },
): Promise<z.infer<S>> {
  if (!traced) return send(nc, { subject, payload, schema, timeoutMs, unavailable, headers: undefined });
  return withSpan(
    `send ${subject}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.destination.name': subject,
        'messaging.operation.type': 'send',
      },
    },
    () => send(nc, { subject, payload, schema, timeoutMs, unavailable, headers: injectHeaders() }),
  );
}

async function send<S extends z.ZodType>(
  nc: NatsConnection,
  {
    subject,
    payload,
    schema,
    timeoutMs,
    headers,
    unavailable,
  }: {
    subject: string;
    payload: unknown;
    schema: S;
    timeoutMs: number;
    headers: MsgHdrs | undefined;
    unavailable: ErrorCode;
  },
): Promise<z.infer<S>> {
  let reply;
  try {
    reply = await nc.request(subject, encode(payload), { timeout: timeoutMs, headers });
  } catch (cause) {
    if (cause instanceof errors.RequestError && cause.isNoResponders()) {
      throw new ParleyError(unavailable, `no ${serviceOf(subject)} is running`, {
        cause,
        retryAfterSeconds: NO_RESPONDERS_RETRY_AFTER_S,
      });
    }
    if (cause instanceof errors.TimeoutError || (cause instanceof errors.RequestError && isTimeout(cause))) {
      throw new ParleyError(unavailable, `${serviceOf(subject)} did not answer within ${timeoutMs} ms`, {
        cause,
        retryAfterSeconds: NO_RESPONDERS_RETRY_AFTER_S,
      });
    }
    throw new ParleyError('service_unavailable', 'messaging is unavailable', {
      cause,
      retryAfterSeconds: NO_RESPONDERS_RETRY_AFTER_S,
    });
  }
  if (reply.headers?.has(Headers.errorCode)) {
    const info = decode(ErrorInfoSchema, reply.data, 'error reply');
    throw ParleyError.fromInfo(info);
  }
  return decode(schema, reply.data, `${subject} reply`);
}

function isTimeout(error: Error): boolean {
  return error.cause instanceof errors.TimeoutError;
}

/** `parley.turn.start.v1` → `turn`; used only in messages. */
function serviceOf(subject: string): string {
  const entity = subject.split('.')[1] ?? subject;
  return entity === 'turn' ? 'responder' : entity;
}
