export { createLogger, exitAfterFlush, exitStartFailed, type Logger } from './logger.js';
export { createMetricsRegistry, type Registry } from './metrics.js';
export { NestPinoLogger } from './nest-logger.js';
export { activeStreams, latencyHistogram, natsConnected, natsReconnects } from './stream-metrics.js';
export { recordError, tracer, withSpan } from './spans.js';
export { startTelemetry, type Telemetry, type TelemetryConfig } from './telemetry.js';
