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

/** How long an exiting process waits for its last log lines to reach stdout. */
const FLUSH_ON_EXIT_TIMEOUT_MS = 2_000;

/**
 * Ends the process with `code` once every line logged so far is written, in order. pino writes stdout
 * asynchronously; exiting at once flushes what is queued synchronously while an earlier line may still be in
 * flight, so the last two lines could land swapped or not at all. Never settles: the process ends.
 */
export function exitAfterFlush(log: Logger, code: number): Promise<never> {
  return new Promise<never>(() => {
    const exit = () => process.exit(code);
    setTimeout(exit, FLUSH_ON_EXIT_TIMEOUT_MS).unref();
    log.flush(exit);
  });
}

/**
 * Ends a service that could not start (a taken port, NATS without JetStream): one `fatal` line with the error,
 * then exit code 1. Left to Node, the error would be printed as plain text that a JSON log pipeline cannot read.
 */
export function exitStartFailed(log: Logger, error: unknown): Promise<never> {
  log.fatal({ err: error }, 'could not start');
  return exitAfterFlush(log, 1);
}
