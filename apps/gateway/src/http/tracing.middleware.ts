/**
 * One server span per HTTP request, continuing the caller's trace (`traceparent` from the widget or an API
 * client) and active for everything the request does, including its NATS hops; and one log line per
 * request with its trace id. Probes are neither traced nor logged.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { Histogram } from 'prom-client';
import { latencyHistogram, tracer, type Logger, type Registry } from '@parley/tracing';
import type { RequestHandler } from 'express';

const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

/** HTTP request rate, errors and duration by method, route template and status. */
export function httpMetrics(registry: Registry): Histogram<'method' | 'route' | 'status'> {
  return latencyHistogram(registry, {
    name: 'parley_http_request_duration_seconds',
    help: 'HTTP requests by method, route and status (streams: until the stream ends)',
    labelNames: ['method', 'route', 'status'] as const,
  });
}

export function traceRequests(log: Logger, duration: Histogram<'method' | 'route' | 'status'>): RequestHandler {
  return (req, res, next) => {
    if (UNTRACED.has(req.path)) return next();
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer().startSpan(
      req.method,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': req.method, 'url.path': req.path, 'url.scheme': req.protocol },
      },
      parent,
    );
    const started = performance.now();
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      // The route template, not the path: span names must not carry ids.
      const route = (req.route as { path?: string } | undefined)?.path;
      if (route) {
        span.updateName(`${req.method} ${req.baseUrl}${route}`);
        span.setAttribute('http.route', `${req.baseUrl}${route}`);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      const { traceId, spanId } = span.spanContext();
      duration.observe(
        { method: req.method, route: route ? `${req.baseUrl}${route}` : 'unmatched', status: String(res.statusCode) },
        (performance.now() - started) / 1000,
      );
      log.info(
        {
          method: req.method,
          route: route ? `${req.baseUrl}${route}` : undefined,
          status: res.statusCode,
          durationMs: Math.round(performance.now() - started),
          completed: res.writableFinished,
          requestId: req.headers['x-request-id'],
          trace_id: traceId,
          span_id: spanId,
        },
        'request',
      );
    };
    res.once('finish', end);
    res.once('close', end);
    context.with(trace.setSpan(parent, span), next);
  };
}
