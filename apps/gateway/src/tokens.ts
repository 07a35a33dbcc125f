import { ServiceTokens } from '@parley/messaging';

/** Injection tokens of values built before Nest starts. */
export const Tokens = {
  ...ServiceTokens,
  accounts: Symbol('accounts'),
  limits: Symbol('limits'),
  widgetLimits: Symbol('widgetLimits'),
  redis: Symbol('redis'),
  openStreams: Symbol('openStreams'),
  widgetKeys: Symbol('widgetKeys'),
  visitorTokens: Symbol('visitorTokens'),
  visitorLimits: Symbol('visitorLimits'),
  widgetScript: Symbol('widgetScript'),
  preTurnChecks: Symbol('preTurnChecks'),
} as const;
