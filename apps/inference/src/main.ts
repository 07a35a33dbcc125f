import 'reflect-metadata';
import { inferenceEnvSchema, loadConfigOrExit } from '@parley/config';
import { QueueGroups } from '@parley/contracts';
import { runNatsService } from '@parley/messaging';
import { AppModule } from './app.module.js';
import { GenerationService } from './generation/generation.service.js';

const config = loadConfigOrExit('inference', inferenceEnvSchema);

await runNatsService({
  service: 'inference',
  queue: QueueGroups.inference,
  natsUrl: config.NATS_URL,
  logLevel: config.LOG_LEVEL,
  shutdownGraceMs: config.PARLEY_SHUTDOWN_GRACE_MS,
  framesMaxAgeMs: config.PARLEY_FRAMES_TTL_MS,
  module: (context) => AppModule.create(config, context),
  onShutdown: (app, graceMs) => app.get<GenerationService>(GenerationService).drain(graceMs),
  readyFields: {
    model: config.PARLEY_MODEL_ALIAS ?? config.PARLEY_UPSTREAM_MODEL,
    upstream: new URL(config.PARLEY_UPSTREAM_BASE_URL).origin,
  },
});
