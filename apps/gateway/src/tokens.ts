import { ServiceTokens } from '@parley/messaging';

/** Injection tokens of values built before Nest starts. */
export const Tokens = {
  ...ServiceTokens,
  apiKeys: Symbol('apiKeys'),
  adminKeys: Symbol('adminKeys'),
  widgetKeys: Symbol('widgetKeys'),
  visitorTokens: Symbol('visitorTokens'),
  visitorLimits: Symbol('visitorLimits'),
  widgetScript: Symbol('widgetScript'),
  preTurnChecks: Symbol('preTurnChecks'),
} as const;
