import 'reflect-metadata';
import { loadConfigOrExit, responderEnvSchema } from '@parley/config';
import { historyAgeLimitMs } from '@parley/messaging';
import { runNatsService } from '@parley/messaging/nest';
import { AppModule } from './app.module.js';
import { TurnsService } from './turns/turns.service.js';

const config = loadConfigOrExit('responder', responderEnvSchema);

await runNatsService({
  service: 'responder',
  config,
  module: (context) => AppModule.create(config, context),
  onShutdown: (app, graceMs) => app.get<TurnsService>(TurnsService).drain(graceMs),
  // With retention, history older than it (and a margin) is dropped by the stream too: see historyAgeLimitMs.
  jetstream: { historyMaxAgeMs: historyAgeLimitMs(config.PARLEY_RETENTION_DAYS, config.PARLEY_RETENTION_SWEEP_MS) },
});
