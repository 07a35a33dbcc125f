import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { gatewayEnvSchema, loadConfigOrExit } from '@parley/config';
import { connectNats, ensureJetStream } from '@parley/messaging';
import {
  NestPinoLogger,
  createLogger,
  createMetricsRegistry,
  exitAfterFlush,
  exitStartFailed,
  startTelemetry,
} from '@parley/tracing';
import { Streams } from '@parley/contracts';
import { AccountStore } from './accounts/account-store.js';
import { AppModule } from './app.module.js';
import type { WidgetLimits } from './auth/auth.guard.js';
import { RedisCounters } from './limits/counters.js';
import { LimitsService } from './limits/limits.js';
import { connectRedis } from './limits/redis.js';
import { OpenStreams, refuseWhileStopping } from './http/open-streams.js';
import { rebuildBudgets } from './usage/usage.js';
import { ApiKeys } from './auth/api-keys.js';
import { bodyErrors, jsonBody, requestId } from './http/body.js';
import { HttpErrorFilter } from './http/errors.js';
import { natsAvailability } from './http/nats-availability.js';
import { httpMetrics, traceRequests } from './http/tracing.middleware.js';
import { widgetCors } from './widget/cors.js';
import { WidgetKeys } from './auth/widget-keys.js';
import { DEFAULT_WIDGET_FILE, loadWidgetScript } from './widget/widget-script.js';

const started = performance.now();
const config = loadConfigOrExit('gateway', gatewayEnvSchema);
const telemetry = await startTelemetry({ service: 'gateway', config });
const log = createLogger({ service: 'gateway', level: config.LOG_LEVEL });

let apiKeys: ApiKeys;
let adminKeys: ApiKeys;
try {
  apiKeys = ApiKeys.fromConfig({ keys: config.PARLEY_API_KEYS, file: config.PARLEY_API_KEYS_FILE });
  adminKeys = new ApiKeys(config.PARLEY_ADMIN_API_KEYS ?? []);
} catch (error) {
  log.fatal({ problem: (error as Error).message }, 'invalid configuration');
  await exitAfterFlush(log, 1);
}

const widgetKeys = new WidgetKeys(config.PARLEY_WIDGET_KEYS);
const widgetScript = loadWidgetScript(config.PARLEY_WIDGET_FILE ?? DEFAULT_WIDGET_FILE);
if (!widgetScript) log.warn({ file: config.PARLEY_WIDGET_FILE ?? 'dist/apps/widget/widget.js' }, 'widget not built');
if (widgetKeys.size > 0 && !config.PARLEY_VISITOR_TOKEN_SECRET) {
  log.warn('PARLEY_VISITOR_TOKEN_SECRET is not set: visitor sessions end when this gateway restarts');
}

/** A failed rebuild of the budgets is tried again after this long. */
const BUDGET_REBUILD_RETRY_MS = 5_000;
/** How long the start waits for Redis before it goes on without it. */
const REDIS_START_WAIT_MS = 3_000;

/** Limits of every widget key and of each of its visitors, from the configuration. */
function widgetLimitsOf(c: typeof config): WidgetLimits {
  return {
    key: {
      concurrentStreams: c.PARLEY_WIDGET_KEY_CONCURRENT_STREAMS,
      ...(c.PARLEY_WIDGET_KEY_TOKENS_PER_MINUTE ? { tokensPerMinute: c.PARLEY_WIDGET_KEY_TOKENS_PER_MINUTE } : {}),
    },
    visitor: { concurrentStreams: c.PARLEY_VISITOR_CONCURRENT_STREAMS, tokensPerDay: c.PARLEY_VISITOR_TOKENS_PER_DAY },
  };
}

/** Connects, makes sure of the JetStream resources and starts listening. */
async function start() {
  const metrics = createMetricsRegistry('gateway');
  const nats = await connectNats({ url: config.NATS_URL, name: 'gateway', log, registry: metrics });
  const jetstream = await ensureJetStream(nats.nc, {
    framesMaxAgeMs: config.PARLEY_FRAMES_TTL_MS,
    replicas: config.PARLEY_JETSTREAM_REPLICAS,
    log,
  });
  const accounts = await AccountStore.open(
    jetstream.accounts,
    { apiKeys: apiKeys.keyDigests(), adminKeys: adminKeys.keyDigests() },
    log,
  );
  const redis = connectRedis(config.PARLEY_REDIS_URL, log, metrics);
  const counters = new RedisCounters(redis.client);
  // Budgets of a Redis that lost its data are rebuilt from the usage stream before they are relied on: until
  // then, limits are counted as if Redis were down.
  let budgetsKnown = false;
  const rebuild = (): void => {
    budgetsKnown = false;
    rebuildBudgets(redis.client, jetstream, log).then(
      () => (budgetsKnown = true),
      (error: unknown) => {
        log.error({ err: error, code: 'budget_rebuild_failed' }, 'budgets could not be rebuilt from the usage stream');
        setTimeout(() => redis.ready() && rebuild(), BUDGET_REBUILD_RETRY_MS).unref();
      },
    );
  };
  redis.onReady(rebuild);
  if (!(await redis.connected(REDIS_START_WAIT_MS))) {
    log.warn(
      { code: 'redis_unavailable' },
      'starting without Redis: limits follow PARLEY_REDIS_DOWN_* until it answers',
    );
  }
  const streams = new OpenStreams();
  const limits = new LimitsService({
    shared: () => (redis.ready() && budgetsKnown ? counters : undefined),
    whenRedisDown: { api: config.PARLEY_REDIS_DOWN_API_KEYS, widget: config.PARLEY_REDIS_DOWN_WIDGET },
    widget: widgetLimitsOf(config),
    leaseTtlMs: config.PARLEY_LEASE_TTL_MS,
    settleTimeoutMs: config.PARLEY_TURN_TIMEOUT_MS + config.PARLEY_LEASE_TTL_MS,
    log,
    registry: metrics,
  });
  limits.follow(nats, Streams.usage.subjects[0]);
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.create(
      config,
      { log, nats, jetstream, metrics },
      { accounts, redis, limits, streams },
      { keys: widgetKeys, script: widgetScript, limits: widgetLimitsOf(config) },
    ),
    {
      bodyParser: false,
      logger: new NestPinoLogger(log),
    },
  );
  app.set('trust proxy', config.PARLEY_TRUST_PROXY);
  app.disable('x-powered-by');
  app.use(requestId());
  app.use(['/v1/widget', '/v1/conversations'], widgetCors(widgetKeys));
  app.use(traceRequests(log, httpMetrics(metrics)));
  app.use(...jsonBody({ maxBodyBytes: config.PARLEY_MAX_BODY_BYTES }));
  app.use(bodyErrors());
  app.use(natsAvailability(nats, log));
  app.use(refuseWhileStopping(streams));
  app.useGlobalFilters(new HttpErrorFilter(log));
  const server = app.getHttpServer();
  // A slow client gets bounded time for its headers and its body; SSE responses are not bounded by these.
  server.headersTimeout = Math.min(config.PARLEY_HEADERS_TIMEOUT_MS, config.PARLEY_BODY_TIMEOUT_MS);
  server.requestTimeout = config.PARLEY_BODY_TIMEOUT_MS;
  server.keepAliveTimeout = config.PARLEY_KEEP_ALIVE_TIMEOUT_MS;
  await app.listen(config.PORT, config.HOST);
  return { nats, app, redis, limits, accounts, streams };
}
const { nats, app, redis, limits, accounts, streams } = await start().catch((error: unknown) =>
  exitStartFailed(log, error),
);
const address = app.getHttpServer().address();
const port = typeof address === 'object' && address ? address.port : config.PORT;

let stopping = false;
const stop = async (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal, openStreams: streams.size }, 'shutting down');
  // No new connections, no new requests (503 shutting_down); open streams get the grace to finish, then end
  // with a retryable error event. Conversation turns go on and are resumed from another replica.
  const server = app.getHttpServer();
  server.close();
  server.closeIdleConnections();
  const interrupted = await streams.drain(config.PARLEY_SHUTDOWN_GRACE_MS);
  if (interrupted > 0) log.warn({ interrupted, code: 'shutting_down' }, 'streams ended by the shutdown grace');
  await app.close();
  limits.close();
  accounts.close();
  await redis.close();
  await nats.drain();
  await telemetry.shutdown();
  log.info('stopped');
  await exitAfterFlush(log, 0);
};
process.once('SIGTERM', (signal) => void stop(signal));
process.once('SIGINT', (signal) => void stop(signal));
// Ready only once a SIGTERM would be handled gracefully.
log.info({ port, traces: telemetry.exportTo, startupMs: Math.round(performance.now() - started) }, 'ready');
