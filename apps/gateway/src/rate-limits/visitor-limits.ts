/**
 * Rate limits for the public side: a widget key is in every page's HTML, so anyone can start visitor
 * sessions and send messages with it. Each new visitor session counts against the caller's address (per
 * hour), and each message or new conversation against the visitor and the address (per minute). Over a
 * limit the request is refused with `429 rate_limited` and `Retry-After`, before anything is stored or any
 * model is called.
 *
 * The counters are in memory, per gateway replica (rate-limiter-flexible's memory limiter): with N replicas
 * behind a load balancer a client can reach up to N times the limit. A shared store (NATS KV) would make
 * them exact at the cost of a round trip per request; the point here is to bound abuse, not to meter.
 */
import { ParleyError } from '@parley/contracts';
import type { GatewayConfig } from '@parley/config';
import type { Registry } from '@parley/tracing';
import { Counter } from 'prom-client';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Visitor } from '../auth/visitor-tokens.js';

type LimitName = 'sessions_per_address' | 'messages_per_visitor' | 'messages_per_address';

export class VisitorLimits {
  private readonly sessionsPerAddress: RateLimiterMemory;
  private readonly messagesPerVisitor: RateLimiterMemory;
  private readonly messagesPerAddress: RateLimiterMemory;
  private readonly refused: Counter<'limit'>;

  constructor(
    config: Pick<
      GatewayConfig,
      | 'PARLEY_WIDGET_SESSIONS_PER_ADDRESS_PER_HOUR'
      | 'PARLEY_VISITOR_MESSAGES_PER_MINUTE'
      | 'PARLEY_WIDGET_MESSAGES_PER_ADDRESS_PER_MINUTE'
    >,
    registry: Registry,
  ) {
    this.sessionsPerAddress = new RateLimiterMemory({
      points: config.PARLEY_WIDGET_SESSIONS_PER_ADDRESS_PER_HOUR,
      duration: 60 * 60,
    });
    this.messagesPerVisitor = new RateLimiterMemory({
      points: config.PARLEY_VISITOR_MESSAGES_PER_MINUTE,
      duration: 60,
    });
    this.messagesPerAddress = new RateLimiterMemory({
      points: config.PARLEY_WIDGET_MESSAGES_PER_ADDRESS_PER_MINUTE,
      duration: 60,
    });
    this.refused = new Counter({
      name: 'parley_rate_limited_total',
      help: 'Widget requests refused by a rate limit, by limit',
      labelNames: ['limit'] as const,
      registers: [registry],
    });
  }

  /** Counts a new visitor session from `address`; renewing a session does not count. */
  async newSession(address: string): Promise<void> {
    await this.take(this.sessionsPerAddress, address, 'sessions_per_address', 'new chat sessions from your network');
  }

  /** Counts a message (or a new conversation) of `visitor` from `address`. */
  async message(visitor: Visitor, address: string): Promise<void> {
    await this.take(this.messagesPerVisitor, visitor.visitorId, 'messages_per_visitor', 'messages');
    try {
      await this.take(this.messagesPerAddress, address, 'messages_per_address', 'messages from your network');
    } catch (error) {
      await this.messagesPerVisitor.reward(visitor.visitorId);
      throw error;
    }
  }

  private async take(limiter: RateLimiterMemory, key: string, limit: LimitName, what: string): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      this.refused.inc({ limit });
      const retryAfterSeconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new ParleyError('rate_limited', `too many ${what}: try again in ${retryAfterSeconds} s`, {
        retryAfterSeconds,
      });
    }
  }
}
