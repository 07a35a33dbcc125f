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
  gatewayEnvSchema,
  inferenceEnvSchema,
  responderEnvSchema,
  widgetKeys,
  type GatewayConfig,
  type InferenceConfig,
  type ResponderConfig,
} from './services.js';
export {
  DEFAULT_SESSION_HEADER,
  RoutingFileError,
  parseRoutingFile,
  type RoutingFile,
  type TargetConfig,
} from './routing-file.js';
