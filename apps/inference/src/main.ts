import 'reflect-metadata';
import { inferenceEnvSchema, loadConfigOrExit } from '@parley/config';
import { runNatsService } from '@parley/messaging/nest';
import { createLogger } from '@parley/tracing';
import { AppModule } from './app.module.js';
import { GenerationService } from './generation/generation.service.js';
import { Router } from './routing/router.js';
import { loadRoutes, watchRoutes } from './routing/routes.js';
import { registerTargetMetrics } from './routing/target-metrics.js';

const config = loadConfigOrExit('inference', inferenceEnvSchema);

let router: Router;
try {
  router = new Router(loadRoutes(config));
} catch (error) {
  const log = createLogger({ service: 'inference', level: config.LOG_LEVEL });
  log.fatal({ problem: (error as Error).message }, 'invalid routing');
  process.exit(1);
}

await runNatsService({
  service: 'inference',
  config,
  module: (context) => {
    watchRoutes(router, config, context.log);
    registerTargetMetrics(context.metrics, router);
    return AppModule.create(config, router, context);
  },
  onShutdown: (app, graceMs) => app.get<GenerationService>(GenerationService).drain(graceMs),
  readyFields: {
    models: router.list().models.map((m) => m.id),
    routing: config.PARLEY_MODELS_FILE ?? 'PARLEY_UPSTREAM_*',
  },
});
