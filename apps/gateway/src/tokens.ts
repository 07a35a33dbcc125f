/** Injection tokens of values built before Nest starts. */
export const Tokens = {
  config: Symbol('config'),
  log: Symbol('log'),
  nats: Symbol('nats'),
  jetstream: Symbol('jetstream'),
  history: Symbol('history'),
  apiKeys: Symbol('apiKeys'),
  adminKeys: Symbol('adminKeys'),
  widgetKeys: Symbol('widgetKeys'),
  visitorTokens: Symbol('visitorTokens'),
  visitorLimits: Symbol('visitorLimits'),
  widgetScript: Symbol('widgetScript'),
  preTurnChecks: Symbol('preTurnChecks'),
} as const;
