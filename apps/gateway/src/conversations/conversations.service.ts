/**
 * Conversation records (owner, model) in the key-value bucket; messages in the history stream. A record is
 * visible only to the key that created it: to any other key it does not exist.
 */
import { Inject, Injectable } from '@nestjs/common';
import {
  ConversationRecordSchema,
  ParleyError,
  isValidId,
  newId,
  type ConversationRecord,
  type HistoryMessage,
} from '@parley/contracts';
import { decode, encode, type HistoryStore, type JetStreamHandles } from '@parley/messaging';
import { Tokens } from '../tokens.js';

@Injectable()
export class ConversationsService {
  constructor(
    @Inject(Tokens.jetstream) private readonly jetstream: JetStreamHandles,
    @Inject(Tokens.history) private readonly history: HistoryStore,
  ) {}

  async create(ownerKeyId: string, model: string): Promise<ConversationRecord> {
    const record: ConversationRecord = {
      id: newId('conversation'),
      ownerKeyId,
      model,
      createdAt: new Date().toISOString(),
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
}
