/**
 * Start-up and shutdown shared by the NATS-only services (responder, inference): connect, set up JetStream,
 * serve the module's `@MessagePattern`s in a queue group, log `ready`; on SIGTERM stop taking work, let the
 * service finish or terminate its streams, drain the connection and exit.
 */
import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { QueueGroups, type ServiceName } from '@parley/contracts';
import {
  createLogger,
  createMetricsRegistry,
  exitAfterFlush,
  exitStartFailed,
  NestPinoLogger,
  startTelemetry,
  type Logger,
  type TelemetryConfig,
} from '@parley/tracing';
import { connectNats } from '../connection.js';
import { ensureJetStream, type JetStreamOptions } from '../jetstream.js';
import type { ServiceContext } from '../service-context.js';
import { startOpsServer } from '../ops-server.js';
import { ParleyNatsServer } from './nats-server.js';
import { PassThroughRpcFilter } from './rpc-exception.filter.js';

/** The environment every NATS service reads (the common part of its schema in `@parley/config`). */
export interface NatsServiceConfig extends TelemetryConfig {
  NATS_URL: string;
  LOG_LEVEL: string;
  /** How long running streams may take to finish on shutdown. */
  PARLEY_SHUTDOWN_GRACE_MS: number;
  PARLEY_FRAMES_TTL_MS: number;
  /** Copies of every JetStream stream and bucket. */
  PARLEY_JETSTREAM_REPLICAS: number;
  /** The operations port (`/healthz`, `/readyz`, `/metrics`); 0 picks a free one. */
  PARLEY_OPS_PORT: number;
}

export interface NatsServiceOptions {
  /** The service; its replicas share its queue group. */
  service: ServiceName;
  config: NatsServiceConfig;
  /** Builds the root module from the connected context. */
  module: (context: ServiceContext) => DynamicModule;
  /** Called after the service stopped taking work: finish or end in-flight streams within `graceMs`. */
  onShutdown: (app: { get<T>(token: unknown): T }, graceMs: number) => Promise<void>;
  /** Extra fields for the `ready` log line. */
  readyFields?: Record<string, unknown>;
  /** JetStream settings only this service knows (the responder: the history stream's age limit). */
  jetstream?: Pick<JetStreamOptions, 'historyMaxAgeMs'>;
}

export async function runNatsService(options: NatsServiceOptions): Promise<void> {
  const started = performance.now();
  const telemetry = await startTelemetry({ service: options.service, config: options.config });
  const log = createLogger({ service: options.service, level: options.config.LOG_LEVEL as 'info' });
  const { nats, ops, server, app } = await start(options, log).catch((error: unknown) => exitStartFailed(log, error));

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    try {
      ops.markStopping();
      await server.close();
      await options.onShutdown(app, options.config.PARLEY_SHUTDOWN_GRACE_MS);
      await app.close();
      await nats.drain();
      await ops.close();
      await telemetry.shutdown();
      log.info('stopped');
      await exitAfterFlush(log, 0);
    } catch (error) {
      log.error({ err: error }, 'shutdown failed');
      await exitAfterFlush(log, 1);
    }
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
  // Ready only once a SIGTERM would be handled gracefully.
  log.info(
    {
      ...options.readyFields,
      opsPort: ops.port,
      traces: telemetry.exportTo,
      startupMs: Math.round(performance.now() - started),
    },
    'ready',
  );
}

/** Connects, makes sure of the JetStream resources, opens the operations port and starts taking work. */
async function start(options: NatsServiceOptions, log: Logger) {
  const metrics = createMetricsRegistry(options.service);
  const nats = await connectNats({ url: options.config.NATS_URL, name: options.service, log, registry: metrics });
  const jetstream = await ensureJetStream(nats.nc, {
    ...options.jetstream,
    framesMaxAgeMs: options.config.PARLEY_FRAMES_TTL_MS,
    replicas: options.config.PARLEY_JETSTREAM_REPLICAS,
    log,
  });
  const ops = await startOpsServer({ port: options.config.PARLEY_OPS_PORT, nats, registry: metrics });
  const server = new ParleyNatsServer(nats.nc, { queue: QueueGroups[options.service], log });
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(
    options.module({ log, nats, jetstream, metrics }),
    {
      strategy: server,
      logger: new NestPinoLogger(log),
      bufferLogs: false,
    },
  );
  app.useGlobalFilters(new PassThroughRpcFilter());
  await app.listen();
  return { nats, ops, server, app };
}
