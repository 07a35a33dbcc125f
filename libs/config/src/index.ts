export {
  ConfigError,
  LOG_LEVELS,
  commonEnv,
  envValue,
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
  gatewayEnvSchema,
  inferenceEnvSchema,
  responderEnvSchema,
  type GatewayConfig,
  type InferenceConfig,
  type ResponderConfig,
} from './services.js';
