import 'reflect-metadata';
import { loadConfigOrExit, responderEnvSchema } from '@parley/config';
import { runNatsService } from '@parley/messaging/nest';
import { AppModule } from './app.module.js';
import { TurnsService } from './turns/turns.service.js';

const config = loadConfigOrExit('responder', responderEnvSchema);

await runNatsService({
  service: 'responder',
  natsUrl: config.NATS_URL,
  logLevel: config.LOG_LEVEL,
  shutdownGraceMs: config.PARLEY_SHUTDOWN_GRACE_MS,
  framesMaxAgeMs: config.PARLEY_FRAMES_TTL_MS,
  jetStreamReplicas: config.PARLEY_JETSTREAM_REPLICAS,
  opsPort: config.PARLEY_OPS_PORT,
  telemetry: config,
  module: (context) => AppModule.create(config, context),
  onShutdown: (app, graceMs) => app.get<TurnsService>(TurnsService).drain(graceMs),
});
