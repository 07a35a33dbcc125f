/**
 * Trace context in NATS headers, through OpenTelemetry's propagator: every hop injects the active span's
 * context and every receiver extracts it, so one trace runs from the HTTP request to the upstream call.
 */
import {
  ROOT_CONTEXT,
  context,
  propagation,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';

const setter: TextMapSetter<MsgHdrs> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

const getter: TextMapGetter<MsgHdrs | undefined> = {
  get: (carrier, key) => carrier?.get(key) || undefined,
  keys: (carrier) => (carrier ? carrier.keys() : []),
};

/** Headers carrying `ctx` (the active context by default) to the next hop. */
export function injectHeaders(ctx: Context = context.active()): MsgHdrs {
  const h = natsHeaders();
  propagation.inject(ctx, h, setter);
  return h;
}

/** The context a message carries; the root context when it carries none. */
export function extractContext(h: MsgHdrs | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, h, getter);
}

/** HTTP headers (`traceparent`, `tracestate`) for an upstream call made in `ctx`. */
export function httpTraceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}
