/**
 * OpenTelemetry tracing for a service: a tracer provider with W3C trace context, and OTLP/HTTP export only
 * when a collector is configured. Without one, the exporter is not even loaded and new traces are not
 * recorded (spans still get real ids, so `traceparent` keeps flowing, and a caller's sampled trace is still
 * followed), which keeps span bookkeeping off the token path of a deployment that exports nowhere.
 *
 * Instrumentation is explicit (spans made in the gateway's HTTP middleware, around every NATS hop and around
 * the upstream call), so nothing has to be loaded before the application: there are no NestJS 12 or NATS
 * instrumentations to preload, and the HTTP auto-instrumentation costs memory and latency we do not need.
 */
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';

/** Spans leave in batches at most this often. */
const EXPORT_DELAY_MS = 500;

export interface TelemetryConfig {
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;
  OTEL_TRACES_EXPORTER?: 'otlp' | 'none';
  OTEL_TRACES_SAMPLER_ARG: number;
}

export interface Telemetry {
  tracer: Tracer;
  /** Where spans go, for the start-up log line (`none` when nowhere). */
  exportTo: string;
  /** Sends the spans still buffered; call on shutdown. */
  shutdown(): Promise<void>;
}

/**
 * @example const telemetry = await startTelemetry({ service: 'gateway', version: '0.1.0', config });
 */
export async function startTelemetry({
  service,
  version = '0.1.0',
  config,
}: {
  service: string;
  version?: string;
  config: TelemetryConfig;
}): Promise<Telemetry> {
  const url =
    config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (config.OTEL_EXPORTER_OTLP_ENDPOINT
      ? `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces`
      : undefined);
  const exporting = url !== undefined && config.OTEL_TRACES_EXPORTER !== 'none';
  const spanProcessors: SpanProcessor[] = [];
  if (exporting) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    spanProcessors.push(
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }), scheduledDelayMillis: EXPORT_DELAY_MS }),
    );
  }
  const ratio = config.OTEL_TRACES_SAMPLER_ARG;
  const root = !exporting
    ? new AlwaysOffSampler()
    : ratio >= 1
      ? new AlwaysOnSampler()
      : new TraceIdRatioBasedSampler(ratio);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.version': version }),
    sampler: new ParentBasedSampler({ root }),
    spanProcessors,
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return {
    tracer: provider.getTracer(`parley-${service}`, version),
    exportTo: exporting ? url : 'none',
    shutdown: () => provider.shutdown(),
  };
}
