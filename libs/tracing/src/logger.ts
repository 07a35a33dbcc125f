/**
 * JSON logs with pino: one line per event, the service name on every line, secrets redacted by path.
 */
import { trace } from '@opentelemetry/api';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Paths that may carry secrets; pino replaces their values before a line is written. */
const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'apiKey',
  '*.apiKey',
  'key',
  '*.key',
];

/**
 * Creates the service's root logger (stdout, JSON).
 * @example const log = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
 */
export function createLogger({
  service,
  level = 'info',
  destination,
}: {
  service: string;
  level?: LevelWithSilent;
  /** Where lines go; stdout by default (tests pass a stream). */
  destination?: pino.DestinationStream;
}): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service, pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // Every line written inside a span carries its ids, so logs and traces join up.
    mixin: () => {
      const span = trace.getActiveSpan()?.spanContext();
      return span ? { trace_id: span.traceId, span_id: span.spanId } : {};
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Ends a service that could not start (a taken port, NATS without JetStream): one `fatal` line with the error,
 * then exit code 1. Left to Node, the error would be printed as plain text that a JSON log pipeline cannot read.
 */
export function exitStartFailed(log: Logger, error: unknown): never {
  log.fatal({ err: error }, 'could not start');
  process.exit(1);
}
