import 'reflect-metadata';
import { loadConfigOrExit, responderEnvSchema, type ResponderConfig } from '@parley/config';
import { historyAgeLimitMs } from '@parley/messaging';
import { runNatsService } from '@parley/messaging/nest';
import { createLogger, exitAfterFlush } from '@parley/tracing';
import { AppModule } from './app.module.js';
import { GuardrailPolicies, loadGuardrails, watchGuardrails } from './guardrails/policies.js';
import { TurnsService } from './turns/turns.service.js';

/** The validated guardrails, before anything connects; an unusable file stops the start with one fatal line. */
async function loadGuardrailsOrExit(config: ResponderConfig): Promise<GuardrailPolicies> {
  try {
    return new GuardrailPolicies(loadGuardrails(config.PARLEY_GUARDRAILS_FILE));
  } catch (error) {
    const log = createLogger({ service: 'responder', level: config.LOG_LEVEL });
    log.fatal({ problem: (error as Error).message }, 'invalid guardrails');
    return exitAfterFlush(log, 1);
  }
}

const config = loadConfigOrExit('responder', responderEnvSchema);
const policies = await loadGuardrailsOrExit(config);

await runNatsService({
  service: 'responder',
  config,
  module: (context) => {
    watchGuardrails(policies, config.PARLEY_GUARDRAILS_FILE, context.log);
    return AppModule.create(config, context, policies);
  },
  onShutdown: (app, graceMs) => app.get<TurnsService>(TurnsService).drain(graceMs),
  // With retention, history older than it (and a margin) is dropped by the stream too: see historyAgeLimitMs.
  jetstream: { historyMaxAgeMs: historyAgeLimitMs(config.PARLEY_RETENTION_DAYS, config.PARLEY_RETENTION_SWEEP_MS) },
  readyFields: { guardrails: config.PARLEY_GUARDRAILS_FILE ?? 'defaults' },
});
