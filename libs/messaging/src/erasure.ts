/**
 * Erasing a conversation and everything derived from it (ADR 4). Shared by the gateway's DELETE and the
 * responder's retention sweep.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { ConversationRecordSchema, Streams, TurnStreams, historySubject } from '@parley/contracts';
import { cancelTurn } from './cancel.js';
import { decode } from './codec.js';
import { ConversationIndex } from './conversation-index.js';
import type { HistoryStore } from './history.js';
import { purgeSubject, type JetStreamHandles } from './jetstream.js';

/** What an erasure removed. */
export interface ErasureReceipt {
  conversationId: string;
  messages: number;
  frames: number;
  turns: number;
  feedback: number;
  idempotencyKeys: number;
  erasedAt: string;
}

/**
 * The record goes first, so nothing new is accepted or stored for the conversation; running turns are
 * cancelled; then history, frames, turn, feedback, shadow, idempotency and index records are purged.
 */
export async function eraseConversation(
  { nc, jetstream, history }: { nc: NatsConnection; jetstream: JetStreamHandles; history: HistoryStore },
  conversationId: string,
): Promise<ErasureReceipt> {
  const { jsm, conversations, turns, idempotency, feedback, shadow } = jetstream;
  const messages = await history.list(conversationId);
  const entry = await conversations.get(conversationId);
  const record =
    entry && entry.operation === 'PUT' ? decode(ConversationRecordSchema, entry.value, 'conversation') : undefined;
  await conversations.purge(conversationId);
  if (record) await new ConversationIndex(jetstream.index).remove(record.ownerKeyId, record.id, record.externalUserId);
  const turnIds = [...new Set(messages.map((m) => m.turnId))];
  for (const turnId of turnIds) cancelTurn(nc, turnId, 'user');
  let frames = 0;
  let ratings = 0;
  for (const turnId of turnIds) {
    frames += await purgeSubject(jsm, Streams.frames.name, TurnStreams.frames.subject(turnId));
    await turns.purge(turnId);
    if (await feedback.get(turnId)) {
      await feedback.purge(turnId);
      ratings += 1;
    }
  }
  // Shadow replies answer the conversation's messages: they go with it.
  for await (const key of await shadow.keys(`${conversationId}.>`)) await shadow.purge(key);
  let idempotencyKeys = 0;
  for await (const key of await idempotency.keys(`${conversationId}.>`)) {
    await idempotency.purge(key);
    idempotencyKeys += 1;
  }
  const purged = await purgeSubject(jsm, Streams.history.name, historySubject(conversationId));
  return {
    conversationId,
    messages: purged,
    frames,
    turns: turnIds.length,
    feedback: ratings,
    idempotencyKeys,
    erasedAt: new Date().toISOString(),
  };
}
