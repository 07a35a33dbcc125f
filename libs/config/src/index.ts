export {
  ConfigError,
  LOG_LEVELS,
  commonEnv,
  envValue,
  proxyEnvironment,
  flag,
  httpUrl,
  list,
  loadConfig,
  loadConfigOrExit,
  port,
  positiveInt,
  type CommonConfig,
} from './config.js';
export {
  Defaults,
  WIDGET_KEY,
  backupEnvSchema,
  gatewayEnvSchema,
  inferenceEnvSchema,
  responderEnvSchema,
  widgetKeys,
  type BackupConfig,
  type GatewayConfig,
  type InferenceConfig,
  type ResponderConfig,
} from './services.js';
export { RoutingFileError, parseRoutingFile, type RoutingFile, type TargetConfig } from './routing-file.js';
