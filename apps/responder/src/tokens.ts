import { ServiceTokens } from '@parley/messaging';

/** Injection tokens of values built before Nest starts. */
export const Tokens = ServiceTokens;
