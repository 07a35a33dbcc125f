/**
 * The responder's side of experiment arms: pinning a conversation to the arm its first reply was assigned, and
 * the cost and quality figures of a finished turn (usage record fields and metrics by arm and target).
 */
import {
  ConversationRecordSchema,
  servedOf,
  type ConversationRecord,
  type Served,
  type TurnStart,
  type UsageRecord,
} from '@parley/contracts';
import { decode, encode } from '@parley/messaging';
import type { KV } from '@nats-io/kv';
import { Counter, Histogram } from 'prom-client';
import type { Logger, Registry } from '@parley/tracing';

/** Reply lengths in characters, up to a long answer. */
const REPLY_CHAR_BUCKETS = [0, 50, 100, 200, 400, 800, 1_600, 3_200, 6_400];

/** The metrics of arms: cost, and pins that could not be stored. */
export class ArmMetrics {
  readonly cost: Counter<'project' | 'model' | 'target'>;
  readonly notPinned: Counter;
  readonly turns: Counter<'model' | 'arm' | 'target' | 'outcome'>;
  readonly replyChars: Histogram<'model' | 'arm'>;
  readonly replies: Counter<'model' | 'arm' | 'kind'>;

  constructor(registry: Registry) {
    // By project, alias and target: all configured, so the label values stay few.
    this.cost = new Counter({
      name: 'parley_cost_total',
      help: "What turns cost by the serving target's price table, in US dollars, by project, model and target",
      labelNames: ['project', 'model', 'target'] as const,
      registers: [registry],
    });
    this.notPinned = new Counter({
      name: 'parley_arm_not_pinned_total',
      help: 'Conversations whose assigned arm could not be stored (their next turn is routed by hash again)',
      registers: [registry],
    });
    this.turns = new Counter({
      name: 'parley_arm_turns_total',
      help: 'Finished turns by model, assigned arm, serving target and outcome (done, cancelled, error)',
      labelNames: ['model', 'arm', 'target', 'outcome'] as const,
      registers: [registry],
    });
    // What the drift rules watch of the replies themselves (docker/prometheus/alerts.yml, group parley-drift).
    this.replyChars = new Histogram({
      name: 'parley_reply_chars',
      help: 'Characters of finished replies, by model and arm',
      labelNames: ['model', 'arm'] as const,
      buckets: REPLY_CHAR_BUCKETS,
      registers: [registry],
    });
    this.replies = new Counter({
      name: 'parley_replies_total',
      help: 'Finished replies by model, arm and kind: ok, empty (no text), refused (cut by a content filter)',
      labelNames: ['model', 'arm', 'kind'] as const,
      registers: [registry],
    });
  }
}

/**
 * Stores `arm` with the conversation when it has none or another (the first reply, or a pinned arm that left
 * the routing file). A failure is logged and counted, never the turn's: the next turn then chooses again.
 */
export async function pinArm(
  conversations: KV,
  { record, revision, arm }: { record: ConversationRecord; revision: number; arm: string | undefined },
  { log, metrics }: { log: Logger; metrics: ArmMetrics },
): Promise<void> {
  if (arm === undefined || record.arm === arm) return;
  try {
    await conversations.update(record.id, encode({ ...record, arm } satisfies ConversationRecord), revision);
  } catch (error) {
    // A concurrent turn pinned it first (revision moved): that arm stands, unless the record is gone.
    const entry = await conversations.get(record.id).catch(() => null);
    if (entry?.operation === 'PUT' && decode(ConversationRecordSchema, entry.value, 'conversation').arm) return;
    metrics.notPinned.inc();
    log.warn({ err: error, conversationId: record.id, arm, code: 'arm_not_pinned' }, 'arm could not be pinned');
  }
}

/** What a finished turn adds to its usage record besides tokens. */
export interface TurnFigures {
  served: Served;
  costUsd?: number;
  firstTokenMs?: number;
  replyChars: number;
  /** A content filter (the model's or a guardrail) cut the reply. */
  refused?: boolean;
  errorCode?: string;
}

/** The usage record's quality fields of a turn, and its cost and arm metrics counted. */
export function qualityFields(
  turn: TurnStart,
  figures: TurnFigures,
  outcome: UsageRecord['outcome'],
  metrics: ArmMetrics,
): Partial<UsageRecord> {
  const served = servedOf(figures.served);
  const target = served.target ?? 'none';
  if (figures.costUsd !== undefined && turn.account) {
    metrics.cost.inc({ project: turn.account.project, model: turn.model, target }, figures.costUsd);
  }
  const arm = served.arm ?? 'none';
  metrics.turns.inc({ model: turn.model, arm, target, outcome });
  if (outcome === 'done') {
    metrics.replyChars.observe({ model: turn.model, arm }, figures.replyChars);
    const kind = figures.refused ? 'refused' : figures.replyChars === 0 ? 'empty' : 'ok';
    metrics.replies.inc({ model: turn.model, arm, kind });
  }
  return {
    ...served,
    ...(turn.kind === 'conversation' && { conversationId: turn.conversationId }),
    ...(figures.costUsd !== undefined && { costUsd: figures.costUsd }),
    ...(figures.firstTokenMs !== undefined && { firstTokenMs: Math.round(figures.firstTokenMs) }),
    replyChars: figures.replyChars,
    ...(figures.errorCode !== undefined && { errorCode: figures.errorCode }),
  };
}
