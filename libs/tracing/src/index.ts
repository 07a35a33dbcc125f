export { createLogger, type Logger } from './logger.js';
export { createMetricsRegistry, type Registry } from './metrics.js';
export { NestPinoLogger } from './nest-logger.js';
export {
  childTraceparent,
  formatTraceparent,
  parseTraceparent,
  traceIdOf,
  type TraceContext,
} from './trace-context.js';
