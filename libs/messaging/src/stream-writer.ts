/**
 * Writes one turn's stream of items: the writer numbers them from 1, publishes each as its stream wants
 * (stored in JetStream for a conversation's frames, on core NATS for the rest) and ends the stream with exactly
 * one terminal item. Whatever a hop's code does, a reader sees `seq` 1, 2, 3… and one end.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { ItemBody, ItemStream } from '@parley/contracts';
import type { z } from 'zod';
import { encode } from './codec.js';
import type { NatsHandle } from './connection.js';
import { STORED_PUBLISH } from './jetstream.js';

const WRITTEN: Promise<void> = Promise.resolve();

export interface StreamWriterOptions<I extends z.ZodType<{ seq: number }>> {
  stream: ItemStream<I>;
  turnId: string;
  /** Sent with every item (the trace context of the turn). */
  headers?: MsgHdrs;
  /** Needed for a stored stream. */
  js?: JetStreamClient;
}

/**
 * @example
 * const chunks = new StreamWriter(nats, { stream: TurnStreams.chunks, turnId });
 * chunks.write({ type: 'delta', text: 'Hel' });
 * chunks.write({ type: 'end', finishReason: 'stop' }); // the terminal item: later writes publish nothing
 */
export class StreamWriter<I extends z.ZodType<{ seq: number }>> {
  private seq = 0;
  private terminal = false;
  /** The stored publish in flight: items are stored in order, each after the one before. */
  private storing: Promise<void> = WRITTEN;
  private readonly subject: string;
  private readonly publish: (seq: number, data: Uint8Array) => Promise<void>;

  constructor(
    nats: NatsHandle,
    private readonly options: StreamWriterOptions<I>,
  ) {
    const { stream, turnId, headers, js } = options;
    this.subject = stream.subject(turnId);
    if (!stream.stored) {
      this.publish = (seq, data) => {
        nats.publisher.inStream(seq, this.subject, data, headers);
        return WRITTEN;
      };
    } else if (js) {
      this.publish = async (seq, data) => {
        // The message id makes a retried publish of the same item a duplicate, not a second item.
        await js.publish(this.subject, data, { headers, msgID: `${turnId}.${seq}`, ...STORED_PUBLISH });
      };
    } else {
      throw new Error(`${stream.what} are stored: the writer needs JetStream`);
    }
  }

  /** True once the terminal item was written. */
  get ended(): boolean {
    return this.terminal;
  }

  /** Items written so far. */
  get written(): number {
    return this.seq;
  }

  /**
   * Publishes the next item. After the terminal item nothing more is published: the first terminal wins, so
   * a turn that fails while it is being cancelled still ends once. Live items resolve at once; stored ones
   * once JetStream has them (a failure rejects).
   */
  write(body: ItemBody<z.infer<I>>): Promise<void> {
    if (this.terminal) return WRITTEN;
    this.seq += 1;
    const item = { ...body, seq: this.seq } as z.infer<I>;
    this.terminal = this.options.stream.isTerminal(item);
    if (!this.options.stream.stored) return this.publish(this.seq, encode(item));
    const seq = this.seq;
    const stored = this.storing.then(() => this.publish(seq, encode(item)));
    this.storing = stored.catch(() => undefined);
    return stored;
  }

  /** Ends the stream with `fallback()` unless it has ended already. */
  async finish(fallback: () => ItemBody<z.infer<I>>): Promise<void> {
    if (!this.terminal) await this.write(fallback());
  }
}
