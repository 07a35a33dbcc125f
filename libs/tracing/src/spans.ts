/**
 * The shared tracer and a helper for spans around async work, so services do not repeat start/record/end.
 */
import {
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanKind,
  type Tracer,
} from '@opentelemetry/api';

/** The tracer of the running service (no-op until `startTelemetry` ran). */
export function tracer(): Tracer {
  return trace.getTracer('parley');
}

/**
 * Runs `work` in a new active span (child of `parent`, the active context by default); records an error
 * and ends the span however `work` finishes.
 * @example await withSpan('send parley.turn.start.v1', { kind: SpanKind.PRODUCER }, () => nc.request(...));
 */
export async function withSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind, attributes: options.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    recordError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Marks a span failed, with the error's code when it has one. */
export function recordError(span: Span, error: unknown): void {
  const code = (error as { code?: unknown }).code;
  span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === 'string' ? code : (error as Error).message });
  if (typeof code === 'string') span.setAttribute('error.type', code);
}
