/**
 * Ratings of replies (key-value bucket `feedback`, key = turn id). A rating records the rated reply's arm and
 * the target and upstream model that served it, so quality can be compared per arm. A changed rating replaces
 * the stored one and moves the count: the metric counts the new rating and retracts the old one, so
 * `parley_feedback_total - parley_feedback_retracted_total` is the ratings standing; the same rating again
 * changes nothing.
 */
import { Inject, Injectable } from '@nestjs/common';
import {
  FeedbackRecordSchema,
  ParleyError,
  isValidId,
  servedOf,
  type ConversationRecord,
  type FeedbackBody,
  type FeedbackQuery,
  type FeedbackRecord,
  type FeedbackView,
} from '@parley/contracts';
import { decode, encode, type HistoryStore, type JetStreamHandles } from '@parley/messaging';
import type { Logger } from '@parley/tracing';
import { Counter } from 'prom-client';
import { GatewayMetrics } from '../metrics/metrics.js';
import { Tokens } from '../tokens.js';
import { ConversationsService } from '../conversations/conversations.service.js';

/** Attempts at storing a rating against concurrent changes of the same one (compare-and-set on revision). */
const RATE_ATTEMPTS = 3;
const DAY_MS = 24 * 3600_000;
/** Ratings read at once when listing a range. */
const READ_BATCH = 64;

type Labels = 'model' | 'arm' | 'target' | 'rating';

@Injectable()
export class FeedbackService {
  private readonly given: Counter<Labels>;
  private readonly retracted: Counter<Labels>;

  constructor(
    @Inject(Tokens.jetstream) private readonly jetstream: JetStreamHandles,
    @Inject(Tokens.history) private readonly history: HistoryStore,
    @Inject(ConversationsService) private readonly conversations: ConversationsService,
    @Inject(Tokens.log) private readonly log: Logger,
    @Inject(GatewayMetrics) metrics: GatewayMetrics,
  ) {
    this.given = metrics.feedback;
    this.retracted = new Counter({
      name: 'parley_feedback_retracted_total',
      help: 'Ratings replaced by a different one, by model, arm, target and the rating taken back',
      labelNames: ['model', 'arm', 'target', 'rating'] as const,
      registers: [metrics.registry],
    });
  }

  /** Stores (or replaces) the rating of a turn's reply, with the reply's arm and serving target. */
  async rate(
    conversation: ConversationRecord,
    project: string,
    turnId: string,
    body: FeedbackBody,
  ): Promise<FeedbackRecord> {
    await this.conversations.assertTurn(conversation, turnId);
    const reply = (await this.history.list(conversation.id)).find((m) => m.turnId === turnId && m.role === 'assistant');
    const served = servedOf(reply ?? {});
    for (let attempt = 1; ; attempt++) {
      const entry = await this.jetstream.feedback.get(turnId);
      const previous = entry?.operation === 'PUT' ? decode(FeedbackRecordSchema, entry.value, 'feedback') : undefined;
      const now = new Date().toISOString();
      const record: FeedbackRecord = {
        turnId,
        conversationId: conversation.id,
        rating: body.rating,
        reason: body.reason,
        createdAt: previous?.createdAt ?? now,
        ...(previous && { updatedAt: now }),
        project,
        model: conversation.model,
        ...served,
      };
      try {
        if (entry?.operation === 'PUT') await this.jetstream.feedback.update(turnId, encode(record), entry.revision);
        else await this.jetstream.feedback.create(turnId, encode(record));
      } catch (error) {
        // Another request changed this rating meanwhile: read it again and decide anew.
        if (attempt < RATE_ATTEMPTS) continue;
        throw new ParleyError('service_unavailable', 'the rating kept changing meanwhile; try again', { cause: error });
      }
      this.count(record, previous);
      return record;
    }
  }

  /** Every rating of the conversation's replies, oldest turn first. */
  async forConversation(conversation: ConversationRecord): Promise<FeedbackView[]> {
    const turnIds = [...new Set((await this.history.list(conversation.id)).map((m) => m.turnId))];
    return (await this.read(turnIds)).map(view);
  }

  /** Ratings given or changed in the query's range (default: the last 30 days), newest first. */
  async query(query: FeedbackQuery): Promise<FeedbackView[]> {
    const to = query.to ? Date.parse(query.to) : Date.now();
    const from = query.from ? Date.parse(query.from) : to - 30 * DAY_MS;
    const keys: string[] = [];
    for await (const key of await this.jetstream.feedback.keys()) keys.push(key);
    return (await this.read(keys))
      .filter(
        (r) =>
          (query.project === undefined || r.project === query.project) &&
          (query.model === undefined || r.model === query.model),
      )
      .filter((r) => {
        const at = Date.parse(r.updatedAt ?? r.createdAt);
        return at >= from && at < to;
      })
      .sort((a, b) => (b.updatedAt ?? b.createdAt).localeCompare(a.updatedAt ?? a.createdAt))
      .map(view);
  }

  /** The ratings of these turns (those that have one), by turn id. */
  async byTurn(turnIds: readonly string[]): Promise<Map<string, FeedbackRecord>> {
    return new Map((await this.read(turnIds)).map((r) => [r.turnId, r]));
  }

  private async read(turnIds: readonly string[]): Promise<FeedbackRecord[]> {
    const records: FeedbackRecord[] = [];
    for (let i = 0; i < turnIds.length; i += READ_BATCH) {
      const batch = turnIds.slice(i, i + READ_BATCH).filter(isValidId);
      const entries = await Promise.all(batch.map((id) => this.jetstream.feedback.get(id)));
      for (const entry of entries) {
        if (entry?.operation === 'PUT') records.push(decode(FeedbackRecordSchema, entry.value, 'feedback'));
      }
    }
    return records;
  }

  /** Counts a new rating; a changed one also retracts the old; the same one again counts nothing. */
  private count(record: FeedbackRecord, previous: FeedbackRecord | undefined): void {
    const labels = { model: record.model ?? '', arm: record.arm ?? 'none', target: record.target ?? 'none' };
    const { turnId, conversationId, rating } = record;
    if (previous?.rating === rating) return;
    this.given.inc({ ...labels, rating });
    if (previous) this.retracted.inc({ ...labels, rating: previous.rating });
    this.log.info({ turnId, conversationId, ...labels, rating, previous: previous?.rating }, 'feedback');
  }
}

function view(record: FeedbackRecord): FeedbackView {
  return { object: 'feedback', ...record };
}
