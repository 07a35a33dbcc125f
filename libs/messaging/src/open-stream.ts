/**
 * The caller's side of every turn hop (gateway → responder, responder → inference): subscribe to the turn's
 * stream, then ask the other service to start it, so no item can be missed; read the items in order with
 * the turn's timeouts; and tell the other side to stop when the caller stops, or stops hearing from it.
 */
import type { CancelReason, StreamEndpoint } from '@parley/contracts';
import type { z } from 'zod';
import { cancelTurn } from './cancel.js';
import type { NatsHandle } from './connection.js';
import { call } from './request.js';
import { SequenceReader, subscriptionSource, type ReadTimeouts } from './sequence-reader.js';

export interface OpenedStream<Rep, Item> {
  /** The other side's acceptance. */
  accepted: Rep;
  /**
   * The items in order, to the terminal one. A failure to read them (a gap, or silence past a timeout) also
   * cancels the turn, so the other side stops working for nobody.
   */
  items: AsyncIterable<Item>;
  /** Items received and not yet read: more than 0 means the next read will not wait. */
  readonly buffered: number;
  /** Stops reading; the turn itself goes on (a conversation turn completes and is stored). */
  close(): void;
  /** Stops reading and tells every hop of the turn to stop; only the first call sends. */
  cancel(reason: CancelReason): void;
}

/**
 * Starts a turn's stream on `endpoint` and returns its items. A refusal (nobody there, an error reply) throws
 * before anything was read, and leaves no subscription behind.
 * @example
 * const generation = await openStream(nats, Endpoints.inferenceGenerate, request, { timeouts, requestTimeoutMs });
 * for await (const chunk of generation.items) relay(chunk);
 */
export async function openStream<
  Req extends z.ZodType<{ turnId: string }>,
  Rep extends z.ZodType,
  I extends z.ZodType<{ seq: number }>,
>(
  nats: NatsHandle,
  endpoint: StreamEndpoint<Req, Rep, I>,
  request: z.infer<Req>,
  { timeouts, requestTimeoutMs }: { timeouts: ReadTimeouts; requestTimeoutMs: number },
): Promise<OpenedStream<z.infer<Rep>, z.infer<I>>> {
  const { turnId } = request;
  const stream = endpoint.stream(request);
  let cancelled = false;
  const cancel = (reason: CancelReason) => {
    if (cancelled) return;
    cancelled = true;
    reader.close();
    cancelTurn(nats.nc, turnId, reason);
  };
  const reader = new SequenceReader(subscriptionSource(nats.nc, stream.subject(turnId)), {
    stream,
    timeouts,
    onFailure: () => cancel('timeout'),
  });
  let accepted: z.infer<Rep>;
  try {
    accepted = await call(nats.nc, endpoint, request, { timeoutMs: requestTimeoutMs });
  } catch (error) {
    reader.close();
    throw error;
  }
  return {
    accepted,
    items: reader,
    get buffered() {
      return reader.buffered;
    },
    close: () => reader.close(),
    cancel,
  };
}
