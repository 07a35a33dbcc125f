/**
 * OpenTelemetry tracing for a service: a tracer provider with W3C trace context, and OTLP/HTTP export only
 * when a collector is configured (otherwise spans still get real ids, so `traceparent` keeps flowing, but
 * nothing is exported and no connection is attempted).
 *
 * Instrumentation is explicit (spans made in the gateway's HTTP middleware, around every NATS hop and around
 * the upstream call), so nothing has to be loaded before the application: there are no NestJS 12 or NATS
 * instrumentations to preload, and the HTTP auto-instrumentation costs memory and latency we do not need.
 */
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
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
 * @example const telemetry = startTelemetry({ service: 'gateway', version: '0.1.0', config });
 */
export function startTelemetry({
  service,
  version = '0.1.0',
  config,
}: {
  service: string;
  version?: string;
  config: TelemetryConfig;
}): Telemetry {
  const url =
    config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (config.OTEL_EXPORTER_OTLP_ENDPOINT
      ? `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces`
      : undefined);
  const exporting = url !== undefined && config.OTEL_TRACES_EXPORTER !== 'none';
  const spanProcessors: SpanProcessor[] = exporting
    ? [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }), scheduledDelayMillis: EXPORT_DELAY_MS })]
    : [];
  const ratio = config.OTEL_TRACES_SAMPLER_ARG;
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.version': version }),
    sampler: new ParentBasedSampler({ root: ratio >= 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(ratio) }),
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
