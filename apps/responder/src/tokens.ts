/** Injection tokens of values built before Nest starts. */
export const Tokens = {
  config: Symbol('config'),
  log: Symbol('log'),
  nats: Symbol('nats'),
  jetstream: Symbol('jetstream'),
  history: Symbol('history'),
  metrics: Symbol('metrics'),
} as const;
