import type { Logger } from 'pino';

/**
 * Routes NestJS's own log calls into the service's pino logger, so every line is JSON. Structurally a Nest
 * `LoggerService`; no NestJS import keeps this library framework-free.
 */
export class NestPinoLogger {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    // Nest's own start-up chatter (modules, routes) is debug detail for an operator.
    this.logger.debug({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, message instanceof Error ? message.message : String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
