/**
 * Rate limits for the public side: a widget key is in every page's HTML, so anyone can start visitor
 * sessions and send messages with it. Each new visitor session counts against the caller's address (per
 * hour), and each message or new conversation against the visitor and the address (per minute). Over a
 * limit the request is refused with `429 rate_limited` and `Retry-After`, before anything is stored or any
 * model is called.
 *
 * The counters are in Redis, shared by every replica (rate-limiter-flexible's Redis limiter). While Redis
 * cannot be reached, the `local` policy counts in this replica's memory (the library's insurance limiter);
 * `refuse` answers 503.
 */
import { ParleyError } from '@parley/contracts';
import type { GatewayConfig } from '@parley/config';
import type { Registry } from '@parley/tracing';
import { Counter } from 'prom-client';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Visitor } from '../auth/visitor-tokens.js';

type LimitName = 'sessions_per_address' | 'messages_per_visitor' | 'messages_per_address';

export class VisitorLimits {
  private readonly sessionsPerAddress: RateLimiterAbstract;
  private readonly messagesPerVisitor: RateLimiterAbstract;
  private readonly messagesPerAddress: RateLimiterAbstract;
  private readonly refused: Counter<'limit'>;

  constructor(
    config: Pick<
      GatewayConfig,
      | 'PARLEY_WIDGET_SESSIONS_PER_ADDRESS_PER_HOUR'
      | 'PARLEY_VISITOR_MESSAGES_PER_MINUTE'
      | 'PARLEY_WIDGET_MESSAGES_PER_ADDRESS_PER_MINUTE'
    >,
    registry: Registry,
    /** Shared counters; without them (tests of one replica), memory only. */
    redis?: { client: Redis; whenDown: 'refuse' | 'local' },
  ) {
    const limiter = (keyPrefix: string, points: number, duration: number): RateLimiterAbstract => {
      const memory = new RateLimiterMemory({ keyPrefix, points, duration });
      if (!redis) return memory;
      return new RateLimiterRedis({
        storeClient: redis.client,
        keyPrefix: `parley:limit:widget:${keyPrefix}`,
        points,
        duration,
        rejectIfRedisNotReady: true,
        ...(redis.whenDown === 'local' ? { insuranceLimiter: memory } : {}),
      });
    };
    this.sessionsPerAddress = limiter('sessions', config.PARLEY_WIDGET_SESSIONS_PER_ADDRESS_PER_HOUR, 60 * 60);
    this.messagesPerVisitor = limiter('visitor', config.PARLEY_VISITOR_MESSAGES_PER_MINUTE, 60);
    this.messagesPerAddress = limiter('address', config.PARLEY_WIDGET_MESSAGES_PER_ADDRESS_PER_MINUTE, 60);
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

  private async take(limiter: RateLimiterAbstract, key: string, limit: LimitName, what: string): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) {
        throw new ParleyError('service_unavailable', 'limits cannot be checked right now', {
          retryAfterSeconds: 2,
          cause: rejection,
        });
      }
      this.refused.inc({ limit });
      const retryAfterSeconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new ParleyError('rate_limited', `too many ${what}: try again in ${retryAfterSeconds} s`, {
        retryAfterSeconds,
      });
    }
  }
}
