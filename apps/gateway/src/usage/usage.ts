/**
 * Usage from the usage stream: reports for the admin API, and the budgets Redis lost. The stream is the
 * durable record of what every turn consumed (the responder writes one record per turn); Redis holds only the
 * counters of the current windows, so after Redis comes back empty the day's and month's token counters are
 * rebuilt from the records before they are trusted again.
 */
import {
  Streams,
  UsageRecordSchema,
  usageSubject,
  type UsageQuery,
  type UsageRecord,
  type UsageReport,
} from '@parley/contracts';
import { decode, readStream, type JetStreamHandles } from '@parley/messaging';
import type { Logger } from '@parley/tracing';
import type { Redis } from 'ioredis';
import { windowKey } from '../limits/limits.js';

/** How long the usage stream may send nothing while records are left. */
const READ_IDLE_TIMEOUT_MS = 10_000;
/** Set once the counters of this Redis were rebuilt (or found to need no rebuild); lost with the data. */
const REBUILT_MARKER = 'parley:usage:rebuilt';
const REBUILD_LOCK = 'parley:usage:rebuilding';
const REBUILD_LOCK_TTL_S = 60;
const REBUILD_POLL_MS = 100;
const DAY_MS = 24 * 3600_000;

/** Every usage record stored in [from, to), optionally of one project. */
export async function* usageRecords(
  jetstream: JetStreamHandles,
  { from, to, project }: { from: Date; to: Date; project?: string },
): AsyncGenerator<UsageRecord> {
  const subject = project ? usageSubject(project) : undefined;
  const messages = readStream(jetstream.js, Streams.usage.name, { idleTimeoutMs: READ_IDLE_TIMEOUT_MS, from, subject });
  for await (const msg of messages) {
    const record = decode(UsageRecordSchema, msg.data, 'usage record');
    const at = Date.parse(record.at);
    if (at >= to.getTime()) return;
    if (at >= from.getTime()) yield record;
  }
}

/** Requests, tokens and cost per group (day, model, key, project, target or arm) in the query's period (default: the last 30 days). */
export async function usageReport(jetstream: JetStreamHandles, query: UsageQuery): Promise<UsageReport> {
  const to = query.to ? new Date(query.to) : new Date();
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - 30 * DAY_MS);
  const groups = new Map<string, UsageReport['data'][number]>();
  const info = await jetstream.jsm.streams.info(Streams.usage.name);
  if (info.state.messages > 0) {
    for await (const record of usageRecords(jetstream, { from, to, project: query.project })) {
      if (query.key && record.account.keyId !== query.key) continue;
      const group = {
        day: record.at.slice(0, 10),
        model: record.model,
        key: record.account.keyId,
        project: record.account.project,
        target: record.target ?? 'none',
        arm: record.arm ?? 'none',
      }[query.groupBy];
      const row = groups.get(group) ?? {
        group,
        requests: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        total_tokens: 0,
        cost_usd: 0,
      };
      row.requests += 1;
      row.prompt_tokens += record.usage.prompt_tokens;
      row.completion_tokens += record.usage.completion_tokens;
      row.total_tokens += record.usage.total_tokens;
      row.cost_usd += record.costUsd ?? 0;
      groups.set(group, row);
    }
  }
  const data = [...groups.values()].sort((a, b) => a.group.localeCompare(b.group));
  return { object: 'usage', from: from.toISOString(), to: to.toISOString(), groupBy: query.groupBy, data };
}

/**
 * Rebuilds this month's and today's token counters from the usage stream when Redis has lost them (it
 * restarted without its data): without this, a restart would hand every budget back. One replica does it;
 * the others wait for its marker. Until it is done the gateway counts limits as if Redis were down.
 */
export async function rebuildBudgets(redis: Redis, jetstream: JetStreamHandles, log: Logger): Promise<void> {
  // Another replica may be rebuilding: wait for its marker, or take over if it died (its lock expires).
  const deadline = Date.now() + REBUILD_LOCK_TTL_S * 1000 * 2;
  for (;;) {
    if ((await redis.exists(REBUILT_MARKER)) === 1) return;
    if ((await redis.set(REBUILD_LOCK, '1', 'EX', REBUILD_LOCK_TTL_S, 'NX')) === 'OK') break;
    if (Date.now() > deadline) throw new Error('timed out waiting for another replica to rebuild the budgets');
    await new Promise((resolve) => setTimeout(resolve, REBUILD_POLL_MS));
  }
  try {
    const now = new Date();
    const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    const dayStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    const monthEnd = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    const totals = new Map<string, { tokens: number; expireAt: number }>();
    const add = (key: string, tokens: number, expireAt: number) => {
      const entry = totals.get(key) ?? { tokens: 0, expireAt };
      entry.tokens += tokens;
      totals.set(key, entry);
    };
    let records = 0;
    const info = await jetstream.jsm.streams.info(Streams.usage.name);
    const stored = info.state.messages > 0 ? usageRecords(jetstream, { from: new Date(monthStart), to: now }) : [];
    for await (const record of stored) {
      records += 1;
      const tokens = record.usage.total_tokens;
      const today = Date.parse(record.at) >= dayStart;
      const scopes: [string, string][] = [
        ['project', record.account.project],
        ['key', record.account.keyId],
      ];
      if (record.account.visitorId) scopes.push(['visitor', record.account.visitorId]);
      for (const [scope, id] of scopes) {
        add(windowKey(scope, id, 'tokensPerMonth', monthStart), tokens, monthEnd + 60_000);
        if (today) add(windowKey(scope, id, 'tokensPerDay', dayStart), tokens, dayStart + DAY_MS + 60_000);
      }
    }
    const pipeline = redis.multi();
    for (const [key, { tokens, expireAt }] of totals) {
      pipeline.incrby(key, tokens);
      pipeline.pexpireat(key, expireAt);
    }
    pipeline.set(REBUILT_MARKER, now.toISOString());
    await pipeline.exec();
    log.info({ records, counters: totals.size }, 'budgets rebuilt from the usage stream');
  } finally {
    await redis.del(REBUILD_LOCK).catch(() => undefined);
  }
}
