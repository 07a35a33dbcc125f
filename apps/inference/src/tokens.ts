/** Injection tokens of values built before Nest starts. */
export const Tokens = {
  config: Symbol('config'),
  log: Symbol('log'),
  nats: Symbol('nats'),
  router: Symbol('router'),
} as const;
