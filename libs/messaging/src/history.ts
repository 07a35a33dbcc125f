/**
 * Conversation history: one JetStream subject per conversation, one message per entry, appended with a
 * message id so a retried append is stored once.
 */
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { HistoryMessageSchema, ParleyError, Streams, historySubject, type HistoryMessage } from '@parley/contracts';
import { decode, encode } from './codec.js';
import { STORED_PUBLISH } from './jetstream.js';

/** Time allowed to read a conversation's history. */
const READ_TIMEOUT_MS = 5_000;

export class HistoryStore {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {}

  /**
   * Appends one entry. `dedupeId` makes the append idempotent: the same id within the stream's duplicate
   * window is stored once. Returns false when it was a duplicate.
   */
  async append(conversationId: string, message: HistoryMessage, dedupeId: string): Promise<boolean> {
    const ack = await this.js.publish(historySubject(conversationId), encode(message), {
      msgID: dedupeId,
      ...STORED_PUBLISH,
    });
    return !ack.duplicate;
  }

  /**
   * All entries of a conversation in order (empty when it has none).
   * @throws ParleyError `service_unavailable` (retryable) when JetStream cannot serve the read, e.g. for the
   *   seconds a cluster takes to elect new leaders after losing a server.
   */
  async list(conversationId: string): Promise<HistoryMessage[]> {
    try {
      return await this.read(conversationId);
    } catch (error) {
      if (error instanceof ParleyError) throw error;
      throw new ParleyError('service_unavailable', 'history could not be read, try again', {
        retryAfterSeconds: 1,
        cause: error,
      });
    }
  }

  private async read(conversationId: string): Promise<HistoryMessage[]> {
    const subject = historySubject(conversationId);
    const info = await this.jsm.streams.info(Streams.history.name, { subjects_filter: subject });
    const count = info.state.subjects?.[subject] ?? 0;
    if (count === 0) return [];
    const consumer = await this.js.consumers.get(Streams.history.name, {
      filter_subjects: subject,
      deliver_policy: DeliverPolicy.All,
    });
    const messages: HistoryMessage[] = [];
    try {
      const batch = await consumer.fetch({ max_messages: count, expires: READ_TIMEOUT_MS });
      for await (const msg of batch) {
        messages.push(decode(HistoryMessageSchema, msg.data, 'history entry'));
        if (messages.length === count) break;
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    if (messages.length < count) {
      throw new ParleyError('service_unavailable', 'history could not be read in time', { retryAfterSeconds: 1 });
    }
    return messages;
  }
}
