/**
 * Conversation records (owner, model) in the key-value bucket; messages in the history stream; turn records
 * (turn → conversation) so any gateway can resume or cancel a turn. A record is visible only to the key
 * that created it: to any other key it does not exist.
 */
import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  ConversationRecordSchema,
  IdempotencyRecordSchema,
  ParleyError,
  TurnRecordSchema,
  isValidId,
  newId,
  type ConversationRecord,
  type FeedbackBody,
  type FeedbackRecord,
  type HistoryMessage,
  type IdempotencyRecord,
  type TurnRecord,
} from '@parley/contracts';
import {
  decode,
  encode,
  eraseConversation,
  type ErasureReceipt,
  type HistoryStore,
  type JetStreamHandles,
  type NatsHandle,
} from '@parley/messaging';
import type { Logger } from '@parley/tracing';
import { Tokens } from '../tokens.js';

@Injectable()
export class ConversationsService {
  constructor(
    @Inject(Tokens.jetstream) private readonly jetstream: JetStreamHandles,
    @Inject(Tokens.history) private readonly history: HistoryStore,
    @Inject(Tokens.nats) private readonly nats: NatsHandle,
    @Inject(Tokens.log) private readonly log: Logger,
  ) {}

  async create(ownerKeyId: string, model: string, systemPrompt?: string): Promise<ConversationRecord> {
    const record: ConversationRecord = {
      id: newId('conversation'),
      ownerKeyId,
      model,
      createdAt: new Date().toISOString(),
      systemPrompt,
    };
    await this.jetstream.conversations.create(record.id, encode(record));
    return record;
  }

  /** The caller's conversation; `invalid_id` for a malformed id, `conversation_not_found` otherwise. */
  async get(id: string, ownerKeyId: string): Promise<ConversationRecord> {
    if (!isValidId(id)) throw new ParleyError('invalid_id', 'conversation id is malformed', { param: 'id' });
    const entry = await this.jetstream.conversations.get(id);
    const record =
      entry && entry.operation === 'PUT' ? decode(ConversationRecordSchema, entry.value, 'conversation') : undefined;
    if (!record || record.ownerKeyId !== ownerKeyId) {
      throw new ParleyError('conversation_not_found', 'no such conversation');
    }
    return record;
  }

  messages(id: string): Promise<HistoryMessage[]> {
    return this.history.list(id);
  }

  async recordTurn(record: TurnRecord): Promise<void> {
    await this.jetstream.turns.put(record.turnId, encode(record));
  }

  /**
   * Checks that `turnId` is a turn of this conversation: from its turn record, or (once that has expired)
   * from the history, which holds the user message of every accepted turn.
   */
  async assertTurn(conversation: ConversationRecord, turnId: string): Promise<void> {
    if (!isValidId(turnId)) throw new ParleyError('invalid_id', 'turn id is malformed', { param: 'turnId' });
    const entry = await this.jetstream.turns.get(turnId);
    if (entry && entry.operation === 'PUT') {
      const record = decode(TurnRecordSchema, entry.value, 'turn');
      if (record.conversationId === conversation.id) return;
      throw new ParleyError('turn_not_found', 'no such turn in this conversation');
    }
    const messages = await this.history.list(conversation.id);
    if (!messages.some((m) => m.turnId === turnId)) {
      throw new ParleyError('turn_not_found', 'no such turn in this conversation');
    }
  }

  /**
   * Claims an `Idempotency-Key` for a new turn, atomically across gateway replicas (key-value `create`).
   * Returns the earlier claim when there is one; a different request body under the same key is a 422.
   */
  async claimIdempotencyKey({
    conversationId,
    ownerKeyId,
    key,
    body,
    turnId,
  }: {
    conversationId: string;
    ownerKeyId: string;
    key: string;
    body: unknown;
    turnId: string;
  }): Promise<{ kvKey: string; existing?: IdempotencyRecord }> {
    const kvKey = `${conversationId}.${sha256(`${ownerKeyId}\n${key}`).slice(0, 40)}`;
    const bodyDigest = sha256(JSON.stringify(body));
    const claim: IdempotencyRecord = { turnId, bodyDigest, createdAt: new Date().toISOString() };
    try {
      await this.jetstream.idempotency.create(kvKey, encode(claim));
      return { kvKey };
    } catch {
      const entry = await this.jetstream.idempotency.get(kvKey);
      if (!entry || entry.operation !== 'PUT')
        return this.claimIdempotencyKey({ conversationId, ownerKeyId, key, body, turnId });
      const existing = decode(IdempotencyRecordSchema, entry.value, 'idempotency record');
      if (existing.bodyDigest !== bodyDigest) {
        throw new ParleyError('idempotency_key_reused', 'this Idempotency-Key was used with a different request', {
          param: 'Idempotency-Key',
        });
      }
      return { kvKey, existing };
    }
  }

  async releaseIdempotencyKey(kvKey: string): Promise<void> {
    await this.jetstream.idempotency.purge(kvKey).catch(() => undefined);
  }

  /** Erases a conversation and everything derived from it (ADR 4). */
  async erase(record: ConversationRecord): Promise<ErasureReceipt> {
    const receipt = await eraseConversation(
      { nc: this.nats.nc, jetstream: this.jetstream, history: this.history },
      record.id,
    );
    this.log.info({ ...receipt }, 'conversation erased');
    return receipt;
  }

  /** Stores (or replaces) the rating of a turn's reply. */
  async rate(record: ConversationRecord, turnId: string, body: FeedbackBody): Promise<FeedbackRecord> {
    await this.assertTurn(record, turnId);
    const feedback: FeedbackRecord = {
      turnId,
      conversationId: record.id,
      rating: body.rating,
      reason: body.reason,
      createdAt: new Date().toISOString(),
    };
    await this.jetstream.feedback.put(turnId, encode(feedback));
    this.log.info({ turnId, conversationId: record.id, model: record.model, rating: body.rating }, 'feedback');
    return feedback;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
