import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { Headers } from '@parley/contracts';
import { childTraceparent } from '@parley/tracing';

/**
 * Headers for an outgoing message: a child `traceparent` of the incoming one, so every hop joins the trace.
 */
export function outgoingHeaders(parentTraceparent?: string): MsgHdrs {
  const h = natsHeaders();
  h.set(Headers.traceparent, childTraceparent(parentTraceparent));
  return h;
}

/** The `traceparent` carried by a message, if any. */
export function traceparentOf(h: MsgHdrs | undefined): string | undefined {
  return h?.get(Headers.traceparent) || undefined;
}
