export { launchChromium } from './browser.js';
export { startClassifierServer, type ClassifierServer } from './classifier-server.js';
export {
  NatsServerPool,
  startNatsCluster,
  startNatsServer,
  type NatsClusterHandle,
  type NatsServerHandle,
  type NatsServerOptions,
} from './nats-server.js';
export { LlmSimClient, collect, type SimRecord } from './llm-sim-client.js';
export { freePort } from './ports.js';
export { codeNames, readmeTables, type TableRow } from './readme.js';
export { startRedisServer, type RedisServerHandle, type RedisServerOptions } from './redis-server.js';
export type { ExitStatus } from './process-output.js';
export {
  serviceMain,
  startService,
  type LogRecord,
  type ServiceHandle,
  type ServiceName,
  type StartServiceOptions,
} from './services.js';
