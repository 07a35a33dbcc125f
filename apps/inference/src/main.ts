import 'reflect-metadata';
import { inferenceEnvSchema, loadConfigOrExit, type InferenceConfig } from '@parley/config';
import { runNatsService } from '@parley/messaging/nest';
import { createLogger, exitAfterFlush } from '@parley/tracing';
import { AppModule } from './app.module.js';
import { GenerationService } from './generation/generation.service.js';
import { Router } from './routing/router.js';
import { RouteBuilder, loadRouting, watchRoutes, type Routing } from './routing/routes.js';
import { registerTargetMetrics } from './routing/target-metrics.js';

/** The validated routing, before anything connects; an unusable one stops the start with one fatal line. */
async function loadRoutingOrExit(config: InferenceConfig): Promise<Routing> {
  try {
    return loadRouting(config);
  } catch (error) {
    const log = createLogger({ service: 'inference', level: config.LOG_LEVEL });
    log.fatal({ problem: (error as Error).message }, 'invalid routing');
    return exitAfterFlush(log, 1);
  }
}

const config = loadConfigOrExit('inference', inferenceEnvSchema);
const routing = await loadRoutingOrExit(config);

await runNatsService({
  service: 'inference',
  config,
  module: (context) => {
    const routes = new RouteBuilder({ ...context, config });
    const router = new Router(routes.build(routing));
    watchRoutes(router, config, routes, context.log);
    registerTargetMetrics(context.metrics, router);
    return AppModule.create(config, router, context);
  },
  onShutdown: (app, graceMs) => app.get<GenerationService>(GenerationService).drain(graceMs),
  readyFields: {
    models: Object.keys(routing.models),
    routing: config.PARLEY_MODELS_FILE ?? 'PARLEY_UPSTREAM_*',
  },
});
