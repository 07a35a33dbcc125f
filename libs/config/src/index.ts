export {
  ConfigError,
  LOG_LEVELS,
  PROXY_SWITCH,
  PROXY_VARIABLES,
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
  keysCliEnvSchema,
  responderEnvSchema,
  widgetKeys,
  type BackupConfig,
  type GatewayConfig,
  type InferenceConfig,
  type KeysCliConfig,
  type ResponderConfig,
} from './services.js';
export {
  DEFAULT_SESSION_HEADER,
  RoutingFileError,
  parseRoutingFile,
  type RoutingFile,
  type TargetConfig,
} from './routing-file.js';
export {
  CLASSIFIER_DEFAULTS,
  DEFAULT_GUARDRAIL_POLICY,
  GuardrailsFileError,
  PII_KINDS,
  parseGuardrailsFile,
  resolveGuardrailPolicy,
  type ClassifierConfig,
  type GuardrailPolicy,
  type GuardrailPolicyLayer,
  type GuardrailsFile,
  type PiiKind,
} from './guardrails-file.js';
export { watchConfigFile } from './file-watch.js';
export { parseYamlFile } from './yaml-file.js';
