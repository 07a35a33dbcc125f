/**
 * Conversation records (owner, model) in the key-value bucket; messages in the history stream; turn records
 * (turn → conversation) so any gateway can resume or cancel a turn. A record is visible only to the key
 * that created it: to any other key it does not exist.
 */
import { Inject, Injectable } from '@nestjs/common';
import {
  ConversationRecordSchema,
  ParleyError,
  TurnRecordSchema,
  isValidId,
  newId,
  type ConversationRecord,
  type ConversationSummary,
  type UserErasureReceipt,
  type HistoryMessage,
  type TurnRecord,
} from '@parley/contracts';
import {
  ConversationIndex,
  decode,
  encode,
  eraseConversation,
  type ErasureReceipt,
  type HistoryStore,
  type JetStreamHandles,
  type NatsHandle,
} from '@parley/messaging';
import type { Logger } from '@parley/tracing';
import type { Caller } from '../auth/caller.js';
import { Tokens } from '../tokens.js';

@Injectable()
export class ConversationsService {
  constructor(
    @Inject(Tokens.jetstream) private readonly jetstream: JetStreamHandles,
    @Inject(Tokens.history) private readonly history: HistoryStore,
    @Inject(Tokens.nats) private readonly nats: NatsHandle,
    @Inject(Tokens.log) private readonly log: Logger,
  ) {
    this.index = new ConversationIndex(jetstream.index);
  }

  private readonly index: ConversationIndex;

  async create(
    ownerKeyId: string,
    model: string,
    options: Pick<ConversationRecord, 'systemPrompt' | 'externalUserId' | 'metadata'> = {},
  ): Promise<ConversationRecord> {
    const record: ConversationRecord = {
      id: newId('conversation'),
      ownerKeyId,
      model,
      createdAt: new Date().toISOString(),
      ...options,
    };
    await this.jetstream.conversations.create(record.id, encode(record));
    const { id, createdAt, externalUserId, metadata } = record;
    await this.index.put(ownerKeyId, {
      id,
      model,
      createdAt,
      updatedAt: createdAt,
      messageCount: 0,
      externalUserId,
      metadata,
    });
    if (externalUserId) await this.index.addUser(ownerKeyId, externalUserId, id);
    return record;
  }

  /**
   * The owner's conversations, newest first, `limit` at a time; `cursor` continues after the last page.
   * Optionally only one end user's.
   */
  async list(
    ownerKeyId: string,
    { limit, cursor, externalUserId }: { limit: number; cursor?: string; externalUserId?: string },
  ): Promise<{ items: ConversationSummary[]; nextCursor: string | null }> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const newestFirst = (await this.index.summaries(ownerKeyId))
      .filter((s) => externalUserId === undefined || s.externalUserId === externalUserId)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
    const start = after
      ? newestFirst.findIndex(
          (s) => s.createdAt < after.createdAt || (s.createdAt === after.createdAt && s.id < after.id),
        )
      : 0;
    const items = start < 0 ? [] : newestFirst.slice(start, start + limit);
    const last = items.at(-1);
    const more = start >= 0 && start + limit < newestFirst.length;
    return { items, nextCursor: more && last ? encodeCursor(last) : null };
  }

  /** Erases every conversation of one end user of this key, and says what went. */
  async eraseUser(ownerKeyId: string, externalUserId: string): Promise<UserErasureReceipt> {
    const ids = await this.index.userConversations(ownerKeyId, externalUserId);
    let messages = 0;
    for (const id of ids) {
      const receipt = await eraseConversation(
        { nc: this.nats.nc, jetstream: this.jetstream, history: this.history },
        id,
      );
      messages += receipt.messages;
    }
    const receipt = {
      externalUserId,
      conversations: ids.length,
      messages,
      conversationIds: ids,
      erasedAt: new Date().toISOString(),
    };
    this.log.info({ ownerKeyId, conversations: ids.length, messages }, 'end user data erased');
    return receipt;
  }

  /**
   * The conversation, if `caller` may see it: its owner key, and for a widget visitor only their own
   * conversations. To anyone else it does not exist (`conversation_not_found`); a malformed id is `invalid_id`.
   */
  async get(id: string, caller: Caller): Promise<ConversationRecord> {
    if (!isValidId(id)) throw new ParleyError('invalid_id', 'conversation id is malformed', { param: 'id' });
    const entry = await this.jetstream.conversations.get(id);
    const record =
      entry && entry.operation === 'PUT' ? decode(ConversationRecordSchema, entry.value, 'conversation') : undefined;
    const visible =
      record?.ownerKeyId === caller.keyId &&
      (caller.visitor === undefined || record.externalUserId === caller.visitor.externalUserId);
    if (!record || !visible) {
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

  /** Erases a conversation and everything derived from it (ADR 4). */
  async erase(record: ConversationRecord): Promise<ErasureReceipt> {
    const receipt = await eraseConversation(
      { nc: this.nats.nc, jetstream: this.jetstream, history: this.history },
      record.id,
    );
    this.log.info({ ...receipt }, 'conversation erased');
    return receipt;
  }
}

interface Cursor {
  createdAt: string;
  id: string;
}

function encodeCursor({ createdAt, id }: Cursor): string {
  return Buffer.from(JSON.stringify({ createdAt, id })).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (typeof value.createdAt === 'string' && typeof value.id === 'string') return value as Cursor;
  } catch {
    // reported below
  }
  throw new ParleyError('invalid_request', 'cursor is not one this API returned', { param: 'cursor' });
}
