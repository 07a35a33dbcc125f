/**
 * The counters behind every limit, shared by all gateway replicas in Redis: fixed windows (requests or tokens
 * per minute, day, month) and leases (concurrent streams). A reservation checks every counter a turn counts
 * against and takes from all of them in one Lua script, so it is atomic across replicas: 50 concurrent
 * requests against a budget cannot together spend more than it, and a refusal takes nothing.
 *
 * Leases expire: a gateway that dies mid-stream stops renewing its leases and the slots come back after
 * their time to live.
 *
 * {@link LocalCounters} has the same semantics in one process's memory: the per-replica fallback while Redis
 * is unreachable, where the configuration chooses it.
 */
import type { Redis } from 'ioredis';

/** Takes `amount` from a window counter that resets at `resetAtMs`. */
export interface WindowCheck {
  kind: 'window';
  key: string;
  limit: number;
  amount: number;
  resetAtMs: number;
}

/** Holds one of `limit` slots until released or `ttlMs` passes without a renewal. */
export interface LeaseCheck {
  kind: 'lease';
  key: string;
  limit: number;
  leaseId: string;
  ttlMs: number;
}

export type Check = WindowCheck | LeaseCheck;

/** Taken from every check, with what is left of each; or refused by the first check that was full. */
export type Reserved = { ok: true; remaining: number[] } | { ok: false; index: number; retryAtMs: number };

export interface Counters {
  reserve(checks: readonly Check[]): Promise<Reserved>;
  /** Adds `delta` (negative gives back) to windows that still exist: a settlement after the real usage. */
  adjust(windows: readonly { key: string; delta: number }[]): Promise<void>;
  renew(leases: readonly { key: string; leaseId: string; ttlMs: number }[]): Promise<void>;
  release(leases: readonly { key: string; leaseId: string }[]): Promise<void>;
}

/**
 * KEYS: one counter per check. ARGV[1]: now (ms); then four values per check: `w`, limit, amount, reset time;
 * or `l`, limit, time to live, lease id. Returns {1, remaining...} or {0, index, retry time}.
 */
const RESERVE = `
local now = tonumber(ARGV[1])
local remaining = {}
for i = 1, #KEYS do
  local at = 2 + (i - 1) * 4
  local limit = tonumber(ARGV[at + 1])
  if ARGV[at] == 'w' then
    local used = tonumber(redis.call('GET', KEYS[i]) or '0')
    local amount = tonumber(ARGV[at + 2])
    if used + amount > limit then return {0, i, tonumber(ARGV[at + 3])} end
    remaining[i] = limit - used - amount
  else
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    local held = redis.call('ZCARD', KEYS[i])
    if held + 1 > limit then
      local first = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
      return {0, i, tonumber(first[2])}
    end
    remaining[i] = limit - held - 1
  end
end
for i = 1, #KEYS do
  local at = 2 + (i - 1) * 4
  if ARGV[at] == 'w' then
    redis.call('INCRBY', KEYS[i], ARGV[at + 2])
    redis.call('PEXPIREAT', KEYS[i], tonumber(ARGV[at + 3]) + 60000)
  else
    local ttl = tonumber(ARGV[at + 2])
    redis.call('ZADD', KEYS[i], now + ttl, ARGV[at + 3])
    redis.call('PEXPIRE', KEYS[i], ttl * 2)
  end
end
return {1, unpack(remaining)}
`;

/** KEYS: window counters; ARGV: a delta each. A window that already ended is left alone. */
const ADJUST = `
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('INCRBY', KEYS[i], ARGV[i]) end
end
return 1
`;

/** KEYS: lease sets; ARGV[1]: now; then time to live and lease id per key. Renews leases still held. */
const RENEW = `
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
  local ttl = tonumber(ARGV[2 * i])
  redis.call('ZADD', KEYS[i], 'XX', now + ttl, ARGV[2 * i + 1])
  redis.call('PEXPIRE', KEYS[i], ttl * 2)
end
return 1
`;

type ScriptedRedis = Redis & {
  parleyReserve(keys: number, ...args: (string | number)[]): Promise<number[]>;
  parleyAdjust(keys: number, ...args: (string | number)[]): Promise<number>;
  parleyRenew(keys: number, ...args: (string | number)[]): Promise<number>;
};

export class RedisCounters implements Counters {
  private readonly redis: ScriptedRedis;

  constructor(redis: Redis) {
    // Sent once and then called by their SHA (ioredis falls back to EVAL after a Redis restart).
    redis.defineCommand('parleyReserve', { lua: RESERVE });
    redis.defineCommand('parleyAdjust', { lua: ADJUST });
    redis.defineCommand('parleyRenew', { lua: RENEW });
    this.redis = redis as ScriptedRedis;
  }

  async reserve(checks: readonly Check[]): Promise<Reserved> {
    const args = checks.flatMap((c) =>
      c.kind === 'window' ? ['w', c.limit, c.amount, c.resetAtMs] : ['l', c.limit, c.ttlMs, c.leaseId],
    );
    const reply = await this.redis.parleyReserve(checks.length, ...checks.map((c) => c.key), Date.now(), ...args);
    if (reply[0] === 1) return { ok: true, remaining: reply.slice(1) };
    return { ok: false, index: reply[1]! - 1, retryAtMs: reply[2]! };
  }

  async adjust(windows: readonly { key: string; delta: number }[]): Promise<void> {
    if (windows.length === 0) return;
    await this.redis.parleyAdjust(windows.length, ...windows.map((w) => w.key), ...windows.map((w) => w.delta));
  }

  async renew(leases: readonly { key: string; leaseId: string; ttlMs: number }[]): Promise<void> {
    if (leases.length === 0) return;
    await this.redis.parleyRenew(
      leases.length,
      ...leases.map((l) => l.key),
      Date.now(),
      ...leases.flatMap((l) => [l.ttlMs, l.leaseId]),
    );
  }

  async release(leases: readonly { key: string; leaseId: string }[]): Promise<void> {
    if (leases.length === 0) return;
    const pipeline = this.redis.multi();
    for (const lease of leases) pipeline.zrem(lease.key, lease.leaseId);
    await pipeline.exec();
  }
}

/** The same counters in this process's memory; expired entries are dropped as they are met. */
export class LocalCounters implements Counters {
  private readonly windows = new Map<string, { used: number; resetAtMs: number }>();
  private readonly leases = new Map<string, Map<string, number>>();

  reserve(checks: readonly Check[]): Promise<Reserved> {
    const now = Date.now();
    const remaining: number[] = [];
    for (const [index, check] of checks.entries()) {
      if (check.kind === 'window') {
        const used = this.window(check.key, now)?.used ?? 0;
        if (used + check.amount > check.limit) return Promise.resolve({ ok: false, index, retryAtMs: check.resetAtMs });
        remaining.push(check.limit - used - check.amount);
      } else {
        const held = this.held(check.key, now);
        if (held.size + 1 > check.limit) {
          return Promise.resolve({ ok: false, index, retryAtMs: Math.min(...held.values()) });
        }
        remaining.push(check.limit - held.size - 1);
      }
    }
    for (const check of checks) {
      if (check.kind === 'window') {
        const window = this.window(check.key, now) ?? { used: 0, resetAtMs: check.resetAtMs };
        window.used += check.amount;
        this.windows.set(check.key, window);
      } else {
        this.held(check.key, now).set(check.leaseId, now + check.ttlMs);
      }
    }
    return Promise.resolve({ ok: true, remaining });
  }

  adjust(windows: readonly { key: string; delta: number }[]): Promise<void> {
    const now = Date.now();
    for (const { key, delta } of windows) {
      const window = this.window(key, now);
      if (window) window.used += delta;
    }
    return Promise.resolve();
  }

  renew(leases: readonly { key: string; leaseId: string; ttlMs: number }[]): Promise<void> {
    const now = Date.now();
    for (const { key, leaseId, ttlMs } of leases) {
      const held = this.held(key, now);
      if (held.has(leaseId)) held.set(leaseId, now + ttlMs);
    }
    return Promise.resolve();
  }

  release(leases: readonly { key: string; leaseId: string }[]): Promise<void> {
    for (const { key, leaseId } of leases) this.leases.get(key)?.delete(leaseId);
    return Promise.resolve();
  }

  private window(key: string, now: number) {
    const window = this.windows.get(key);
    if (window && window.resetAtMs <= now) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }

  private held(key: string, now: number): Map<string, number> {
    let held = this.leases.get(key);
    if (!held) this.leases.set(key, (held = new Map()));
    for (const [id, expiresAt] of held) if (expiresAt <= now) held.delete(id);
    return held;
  }
}
