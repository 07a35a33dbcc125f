/**
 * Consumption limits, exact across gateway replicas: requests and tokens per minute, concurrent streams, and
 * token budgets per day and month, for the project, the key (API or widget) and the widget visitor a turn
 * counts against.
 *
 * A turn reserves before it starts: one request, its estimated prompt plus its `max_tokens`, and a stream
 * slot. When the responder records what the turn really used (the usage stream), the replica that holds the
 * reservation settles it: the difference goes back, the slot is freed. A turn refused before it started gives
 * everything but the request back. A replica that dies leaves its reservations to expire: the windows end, the
 * slots' leases run out.
 *
 * Redis holds the counters ({@link RedisCounters}). While it cannot be reached, each kind of caller gets what
 * the configuration chose: `refuse` (503 `service_unavailable`) or `local` (this replica's own counters, so N
 * replicas allow up to N times a limit until Redis is back).
 */
import { randomUUID } from 'node:crypto';
import {
  ParleyError,
  messageText,
  UsageRecordSchema,
  type Limits,
  type TurnStart,
  type UsageRecord,
} from '@parley/contracts';
import { decode, type NatsHandle } from '@parley/messaging';
import type { Logger, Registry } from '@parley/tracing';
import { Counter, Gauge } from 'prom-client';
import type { Caller } from '../auth/caller.js';
import { LocalCounters, type Check, type Counters } from './counters.js';

export type RedisDownPolicy = 'refuse' | 'local';

export interface LimitsOptions {
  /** Counters shared by every replica; undefined while Redis is not ready. */
  shared: () => Counters | undefined;
  /** What API keys and widget visitors get while Redis is unreachable. */
  whenRedisDown: { api: RedisDownPolicy; widget: RedisDownPolicy };
  /** Limits of a widget key, and of each visitor of one. */
  widget: { key: Limits; visitor: Limits };
  /** A stream slot is held this long without a renewal; renewed every third of it. */
  leaseTtlMs: number;
  /** How long a reservation waits for its usage record before its slot is freed anyway. */
  settleTimeoutMs: number;
  log: Logger;
  registry: Registry;
}

type Period = 'minute' | 'day' | 'month';
type Scope = 'project' | 'key' | 'visitor';

/** One limit a reservation checks: which counter, of what, and how to word a refusal. */
interface Planned {
  check: Check;
  scope: Scope;
  limit: keyof Limits;
  /** Tokens, not requests, are taken from this window (settled later). */
  tokens: boolean;
}

/** What the headers on a response say about the tightest request and token windows. */
export interface RateLimitState {
  requests?: { limit: number; remaining: number; resetAtMs: number };
  tokens?: { limit: number; remaining: number; resetAtMs: number };
}

/** A reservation of a turn not yet settled. */
export interface Reservation {
  readonly state: RateLimitState;
  /** The turn did not start: give back its tokens and its slot (the request still counts). */
  refused(): Promise<void>;
  /** The turn started: settle when its usage record arrives. */
  started(turnId: string): void;
  /** A request answered at once, not by a turn (embeddings): settle to what it used, free its slot. */
  used(tokens: number): Promise<void>;
}

const MINUTE_MS = 60_000;

/** The window a moment is in, by UTC calendar for days and months. */
function windowOf(period: Period, now: number): { start: number; end: number } {
  if (period === 'minute') {
    const start = now - (now % MINUTE_MS);
    return { start, end: start + MINUTE_MS };
  }
  const date = new Date(now);
  if (period === 'day') {
    const start = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
    return { start, end: start + 24 * 3600_000 };
  }
  const start = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  return { start, end: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) };
}

/** The Redis key of a window counter: the same on every replica for the same window. */
export function windowKey(scope: string, id: string, what: string, windowStart: number): string {
  return `parley:limit:${scope}:${id}:${what}:${windowStart}`;
}

/**
 * Tokens a prompt may take, counted high on purpose: a reservation should not be below what the turn will
 * use, or concurrent turns could together pass a budget before their settlements arrive.
 */
export function estimatePromptTokens(turn: TurnStart): number {
  const PER_MESSAGE = 8;
  // Most tokenizers average 3 to 4 characters per token on prose; 3 errs high.
  const text = (value: string) => Math.ceil(value.length / 3) + PER_MESSAGE;
  if (turn.kind === 'stateless') {
    return turn.messages.reduce((sum, m) => {
      const parts = Array.isArray(m.content) ? m.content : [];
      const images = parts.filter((part) => part.type !== 'text').length;
      const calls = 'tool_calls' in m && m.tool_calls ? JSON.stringify(m.tool_calls).length / 3 : 0;
      return sum + text(messageText(m)) + images * IMAGE_TOKENS + Math.ceil(calls);
    }, 0);
  }
  // The history is the responder's to read; allow for it at the context's usual size.
  return text(turn.userMessage.content) + text(turn.systemPrompt ?? '') + CONVERSATION_HISTORY_TOKENS;
}
/** What an image part is reserved at (vision models take from about 85 to a few thousand tokens per image). */
const IMAGE_TOKENS = 1_024;
/** What a conversation turn's reservation allows for the history (settled to the real figure). */
export const CONVERSATION_HISTORY_TOKENS = 1_024;

export class LimitsService {
  private readonly local = new LocalCounters();
  /** Reservations of turns that started, by turn id, until their usage record arrives. */
  private readonly pending = new Map<string, Settlement>();
  private readonly renewTimer: NodeJS.Timeout;
  private readonly refusedTotal: Counter<'project' | 'scope' | 'limit'>;
  private readonly fallbackTotal: Counter<'policy'>;
  private readonly pendingGauge: Gauge;

  constructor(private readonly options: LimitsOptions) {
    this.refusedTotal = new Counter({
      name: 'parley_limit_refusals_total',
      help: 'Turns and requests refused by a limit, by project, scope (project, key, visitor) and limit',
      labelNames: ['project', 'scope', 'limit'] as const,
      registers: [options.registry],
    });
    this.fallbackTotal = new Counter({
      name: 'parley_limits_redis_unavailable_total',
      help: 'Limit checks made while Redis was unreachable, by what was done (refuse, local)',
      labelNames: ['policy'] as const,
      registers: [options.registry],
    });
    this.pendingGauge = new Gauge({
      name: 'parley_limit_reservations',
      help: 'Turns holding a reservation on this replica, waiting for their usage',
      registers: [options.registry],
      collect: () => this.pendingGauge.set(this.pending.size),
    });
    this.renewTimer = setInterval(() => void this.renewLeases(), Math.max(50, options.leaseTtlMs / 3));
    this.renewTimer.unref();
  }

  /** Settles reservations from the usage stream's records as they are published (any replica may hold one). */
  follow(nats: NatsHandle, subject: string): void {
    nats.nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error) return;
        let record: UsageRecord;
        try {
          record = decode(UsageRecordSchema, msg.data, 'usage record');
        } catch (decodeError) {
          this.options.log.warn({ err: decodeError }, 'unreadable usage record ignored');
          return;
        }
        void this.pending.get(record.turnId)?.settle(record.usage.total_tokens);
      },
    });
  }

  /** Whether limits are counted in Redis now (connected, and its budgets rebuilt after a loss). */
  shared(): boolean {
    return this.options.shared() !== undefined;
  }

  close(): void {
    clearInterval(this.renewTimer);
    for (const settlement of this.pending.values()) void settlement.release();
  }

  /**
   * Reserves a turn against every limit of its caller, or throws `rate_limited` / `budget_exhausted` (429
   * with `Retry-After`) and takes nothing. A turn that could never fit a limit is a 400 naming `max_tokens`.
   */
  async reserve(caller: Caller, turn: TurnStart): Promise<Reservation> {
    const tokens = estimatePromptTokens(turn) + (turn.params.max_tokens ?? 0);
    return this.reserveTokens(caller, tokens, {
      param: 'max_tokens',
      advice: 'lower max_tokens or shorten the messages',
    });
  }

  /**
   * Reserves one request and `tokens` against every limit of the caller, as {@link reserve} does for a turn; a
   * request that could never fit is a 400 naming `tooLarge.param`.
   */
  async reserveTokens(
    caller: Caller,
    tokens: number,
    tooLarge: { param: string; advice: string },
  ): Promise<Reservation> {
    const leaseId = randomUUID();
    const planned = this.plan(caller, tokens, leaseId);
    for (const p of planned) {
      if (p.check.kind === 'window' && p.check.amount > p.check.limit) {
        throw new ParleyError(
          'invalid_request',
          `this request may use ${p.check.amount} tokens, more than the ${p.scope}'s ${describe(p.limit)} (${p.check.limit}): ${tooLarge.advice}`,
          { param: tooLarge.param },
        );
      }
    }
    const counters = await this.take(caller, planned);
    const state = stateOf(planned, counters.remaining);
    const windows = planned.filter((p) => p.tokens).map((p) => p.check.key);
    const leases = planned.filter((p) => p.check.kind === 'lease').map((p) => ({ key: p.check.key, leaseId }));
    const settlement = new Settlement(counters.store, windows, tokens, leases, this.options.log);
    return {
      state,
      refused: () => settlement.settle(0),
      used: (usedTokens) => settlement.settle(usedTokens),
      started: (turnId) => {
        this.pending.set(turnId, settlement);
        settlement.onDone(() => this.pending.delete(turnId));
        settlement.expireAfter(this.options.settleTimeoutMs);
      },
    };
  }

  /**
   * Counts one request that is not a turn (a new conversation, a resumed stream) against `limit` per minute
   * for the caller's key, and its visitor's.
   */
  async count(caller: Caller, what: 'conversations' | 'resumes', perMinute: number): Promise<void> {
    const { start, end } = windowOf('minute', Date.now());
    const ids: [Scope, string][] = [['key', caller.keyId]];
    if (caller.visitor) ids.push(['visitor', caller.visitor.visitorId]);
    const planned = ids.map(([scope, id]): Planned => ({
      scope,
      limit: 'requestsPerMinute',
      tokens: false,
      check: { kind: 'window', key: windowKey(scope, id, what, start), limit: perMinute, amount: 1, resetAtMs: end },
    }));
    await this.take(caller, planned, what);
  }

  private plan(caller: Caller, tokens: number, leaseId: string): Planned[] {
    const now = Date.now();
    const scopes: [Scope, string, Limits | undefined][] = [
      ['project', caller.project, caller.limits.project],
      ['key', caller.keyId, caller.limits.key],
    ];
    if (caller.visitor) scopes.push(['visitor', caller.visitor.visitorId, this.options.widget.visitor]);
    const planned: Planned[] = [];
    for (const [scope, id, limits] of scopes) {
      if (!limits) continue;
      const window = (limit: keyof Limits, period: Period, amount: number, isTokens: boolean) => {
        const max = limits[limit];
        if (max === undefined) return;
        const { start, end } = windowOf(period, now);
        planned.push({
          scope,
          limit,
          tokens: isTokens,
          check: { kind: 'window', key: windowKey(scope, id, limit, start), limit: max, amount, resetAtMs: end },
        });
      };
      window('requestsPerMinute', 'minute', 1, false);
      window('tokensPerMinute', 'minute', tokens, true);
      window('tokensPerDay', 'day', tokens, true);
      window('tokensPerMonth', 'month', tokens, true);
      if (limits.concurrentStreams !== undefined) {
        planned.push({
          scope,
          limit: 'concurrentStreams',
          tokens: false,
          check: {
            kind: 'lease',
            key: `parley:limit:${scope}:${id}:streams`,
            limit: limits.concurrentStreams,
            leaseId,
            ttlMs: this.options.leaseTtlMs,
          },
        });
      }
    }
    return planned;
  }

  /** Takes from every planned counter, from Redis or, while it is down, as the caller's policy says. */
  private async take(
    caller: Caller,
    planned: Planned[],
    what?: string,
  ): Promise<{ store: Counters; remaining: number[] }> {
    if (planned.length === 0) return { store: this.local, remaining: [] };
    const checks = planned.map((p) => p.check);
    let store = this.options.shared();
    let result = store ? await store.reserve(checks).catch(() => undefined) : undefined;
    if (!result) {
      const policy = this.options.whenRedisDown[caller.visitor ? 'widget' : 'api'];
      this.fallbackTotal.inc({ policy });
      if (policy === 'refuse') {
        this.options.log.error({ code: 'limits_unavailable' }, 'limits store unreachable: request refused');
        throw new ParleyError('service_unavailable', 'limits cannot be checked right now', { retryAfterSeconds: 2 });
      }
      store = this.local;
      result = await this.local.reserve(checks);
    }
    if (result.ok) return { store: store ?? this.local, remaining: result.remaining };
    const refused = planned[result.index]!;
    this.refusedTotal.inc({ project: caller.project, scope: refused.scope, limit: what ?? refused.limit });
    const retryAfterSeconds = Math.max(1, Math.ceil((result.retryAtMs - Date.now()) / 1000));
    const budget = refused.limit === 'tokensPerDay' || refused.limit === 'tokensPerMonth';
    throw new ParleyError(
      budget ? 'budget_exhausted' : 'rate_limited',
      `the ${refused.scope}'s ${what ? `${what} per minute` : describe(refused.limit)} limit is reached: try again in ${retryAfterSeconds} s`,
      {
        retryAfterSeconds,
        headers: rateLimitHeaders(
          stateOf(
            planned,
            planned.map(() => 0),
          ),
          Date.now(),
        ),
      },
    );
  }

  private async renewLeases(): Promise<void> {
    const byStore = new Map<Counters, { key: string; leaseId: string; ttlMs: number }[]>();
    for (const settlement of this.pending.values()) {
      const list = byStore.get(settlement.store) ?? [];
      for (const lease of settlement.leases) list.push({ ...lease, ttlMs: this.options.leaseTtlMs });
      byStore.set(settlement.store, list);
    }
    for (const [store, leases] of byStore) {
      await store.renew(leases).catch((error: unknown) => {
        this.options.log.warn({ err: error, code: 'lease_renewal_failed' }, 'stream slots could not be renewed');
      });
    }
  }
}

/** Gives back what a turn did not use, once; frees its slots. */
class Settlement {
  private settled = false;
  private readonly done: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly store: Counters,
    private readonly windows: string[],
    private readonly reservedTokens: number,
    readonly leases: { key: string; leaseId: string }[],
    private readonly log: Logger,
  ) {}

  onDone(callback: () => void): void {
    this.done.push(callback);
  }

  /** Frees the slots if no usage arrives in time; the tokens stay reserved (the turn may have used them). */
  expireAfter(ms: number): void {
    this.timer = setTimeout(() => void this.release(), ms);
    this.timer.unref();
  }

  async settle(usedTokens: number): Promise<void> {
    if (this.settled) return;
    this.finish();
    const delta = usedTokens - this.reservedTokens;
    await Promise.all([
      delta === 0 ? undefined : this.store.adjust(this.windows.map((key) => ({ key, delta }))),
      this.store.release(this.leases),
    ]).catch((error: unknown) => {
      this.log.warn({ err: error, code: 'limit_settle_failed' }, 'a reservation could not be settled');
    });
  }

  async release(): Promise<void> {
    if (this.settled) return;
    this.finish();
    await this.store.release(this.leases).catch(() => undefined);
  }

  private finish(): void {
    this.settled = true;
    clearTimeout(this.timer);
    for (const callback of this.done) callback();
  }
}

function describe(limit: keyof Limits): string {
  return {
    requestsPerMinute: 'requests per minute',
    tokensPerMinute: 'tokens per minute',
    concurrentStreams: 'concurrent streams',
    tokensPerDay: 'tokens per day',
    tokensPerMonth: 'tokens per month',
  }[limit];
}

/** The tightest requests-per-minute and tokens-per-minute windows among the planned ones. */
function stateOf(planned: Planned[], remaining: number[]): RateLimitState {
  const state: RateLimitState = {};
  planned.forEach((p, i) => {
    if (p.check.kind !== 'window') return;
    const slot = p.limit === 'requestsPerMinute' ? 'requests' : p.limit === 'tokensPerMinute' ? 'tokens' : undefined;
    if (!slot) return;
    const candidate = { limit: p.check.limit, remaining: remaining[i] ?? 0, resetAtMs: p.check.resetAtMs };
    const current = state[slot];
    if (!current || candidate.remaining < current.remaining) state[slot] = candidate;
  });
  return state;
}

/**
 * OpenAI's `x-ratelimit-*` headers and the IETF `RateLimit-Policy` / `RateLimit` fields
 * (draft-ietf-httpapi-ratelimit-headers) for the tightest windows.
 */
export function rateLimitHeaders(state: RateLimitState, now = Date.now()): Record<string, string> {
  const headers: Record<string, string> = {};
  const policies: string[] = [];
  const current: string[] = [];
  for (const [name, window] of [
    ['requests', state.requests],
    ['tokens', state.tokens],
  ] as const) {
    if (!window) continue;
    const resetSeconds = Math.max(0, Math.ceil((window.resetAtMs - now) / 1000));
    headers[`x-ratelimit-limit-${name}`] = String(window.limit);
    headers[`x-ratelimit-remaining-${name}`] = String(Math.max(0, window.remaining));
    headers[`x-ratelimit-reset-${name}`] = `${resetSeconds}s`;
    policies.push(`"${name}";q=${window.limit};w=60`);
    current.push(`"${name}";r=${Math.max(0, window.remaining)};t=${resetSeconds}`);
  }
  if (policies.length > 0) {
    headers['ratelimit-policy'] = policies.join(', ');
    headers.ratelimit = current.join(', ');
  }
  return headers;
}
