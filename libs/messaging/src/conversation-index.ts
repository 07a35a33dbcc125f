/**
 * Which conversations an API key (and an end user of that key) has, for listing and per-user erasure, in
 * the `index` key-value bucket (ADR 5):
 * - `owner.<keyId>.<conversation>` → the conversation's summary;
 * - `user.<hash of keyId and externalUserId>.<conversation>` → `{}` (the key says it all).
 * Reading a prefix costs one request per conversation of that owner or user, pipelined on one connection.
 */
import { createHash } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { ConversationSummarySchema, type ConversationSummary } from '@parley/contracts';
import { decode, encode } from './codec.js';

export class ConversationIndex {
  constructor(private readonly kv: KV) {}

  async put(ownerKeyId: string, summary: ConversationSummary): Promise<void> {
    await this.kv.put(ownerKey(ownerKeyId, summary.id), encode(summary));
  }

  async addUser(ownerKeyId: string, externalUserId: string, conversationId: string): Promise<void> {
    await this.kv.put(`user.${userHash(ownerKeyId, externalUserId)}.${conversationId}`, encode({}));
  }

  /** Every conversation summary of an owner (unordered). */
  async summaries(ownerKeyId: string): Promise<ConversationSummary[]> {
    const keys = await this.keys(`owner.${ownerKeyId}.>`);
    const entries = await Promise.all(keys.map((key) => this.kv.get(key)));
    return entries.flatMap((entry) =>
      entry && entry.operation === 'PUT'
        ? [decode(ConversationSummarySchema, entry.value, 'conversation summary')]
        : [],
    );
  }

  /** The ids of an end user's conversations under one owner. */
  async userConversations(ownerKeyId: string, externalUserId: string): Promise<string[]> {
    const keys = await this.keys(`user.${userHash(ownerKeyId, externalUserId)}.>`);
    return keys.map((key) => key.slice(key.lastIndexOf('.') + 1));
  }

  /** Removes a conversation from the index (erasure). */
  async remove(ownerKeyId: string, conversationId: string, externalUserId?: string): Promise<void> {
    await this.kv.purge(ownerKey(ownerKeyId, conversationId));
    if (externalUserId) await this.kv.purge(`user.${userHash(ownerKeyId, externalUserId)}.${conversationId}`);
  }

  private async keys(filter: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of await this.kv.keys(filter)) keys.push(key);
    return keys;
  }
}

function ownerKey(ownerKeyId: string, conversationId: string): string {
  return `owner.${ownerKeyId}.${conversationId}`;
}

/** External user ids are the client's data: hashed so that keys and subjects never carry them. */
function userHash(ownerKeyId: string, externalUserId: string): string {
  return createHash('sha256').update(`${ownerKeyId}\n${externalUserId}`, 'utf8').digest('hex').slice(0, 40);
}
