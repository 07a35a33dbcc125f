/**
 * Reads one turn's sequence-numbered items (frames or chunks), in order, with the timeouts every hop must
 * have: until the first item, between items, and in total. A missing item is an error, never a silent gap.
 * Items come from a source: a core NATS subscription (a live turn), or a JetStream consumer over the stored
 * frames (a resumed one); either way the reading, numbering and timeouts are these.
 */
import { DeliverPolicy, type ConsumerMessages, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ParleyError, type ErrorCode, type ItemStream } from '@parley/contracts';
import type { z } from 'zod';
import { decode } from './codec.js';

/** Where a reader's raw items come from. Started once; `stop` ends delivery. */
export interface ItemSource {
  start(sink: { push(data: Uint8Array): void; fail(error: Error): void }): { stop(): void };
}

/** Items published on a subject from now on. Subscribing is synchronous, so nothing published later is missed. */
export function subscriptionSource(nc: NatsConnection, subject: string): ItemSource {
  return {
    start(sink) {
      const subscription = nc.subscribe(subject, {
        callback: (error, msg) => (error ? sink.fail(error) : sink.push(msg.data)),
      });
      return { stop: () => subscription.unsubscribe() };
    },
  };
}

/** Every item a stream stored on a subject, from the first, then each new one as it is stored. */
export function storedSource(js: JetStreamClient, streamName: string, subject: string): ItemSource {
  return {
    start(sink) {
      let stopped = false;
      let messages: ConsumerMessages | undefined;
      void (async () => {
        const consumer = await js.consumers.get(streamName, {
          filter_subjects: subject,
          deliver_policy: DeliverPolicy.All,
        });
        if (stopped) return;
        messages = await consumer.consume({ max_messages: 256, callback: (msg) => sink.push(msg.data) });
        if (stopped) messages.stop();
      })().catch((error: unknown) => sink.fail(error as Error));
      return {
        stop: () => {
          stopped = true;
          messages?.stop();
        },
      };
    },
  };
}

/** How long a reader waits, and the error code of each kind of silence. */
export interface ReadTimeouts {
  firstItemMs: number;
  idleMs: number;
  totalMs: number;
  codes: { first: ErrorCode; idle: ErrorCode; total: ErrorCode };
}

export interface SequenceReaderOptions<I extends z.ZodType<{ seq: number }>> {
  /** The stream read: its item schema, terminal item and name. */
  stream: Pick<ItemStream<I>, 'item' | 'isTerminal' | 'what'>;
  timeouts: ReadTimeouts;
  /** Items up to and including this sequence number are read but not yielded (the client has them). */
  afterSeq?: number;
  /** Called when reading fails (a gap, an invalid item, a timeout), before the error reaches the reader. */
  onFailure?: (error: unknown) => void;
}

interface Waiter<T> {
  resolve: (item: T | undefined) => void;
  reject: (error: Error) => void;
}

/**
 * @example
 * const reader = new SequenceReader(subscriptionSource(nc, subject), { stream: TurnStreams.chunks, timeouts });
 * await call(nc, ...); // ask the other side to start publishing
 * for await (const chunk of reader) { ... }
 */
export class SequenceReader<I extends z.ZodType<{ seq: number }>> implements AsyncIterable<z.infer<I>> {
  private readonly source: { stop(): void };
  private readonly queue: z.infer<I>[] = [];
  private failure: Error | undefined;
  private waiter: Waiter<z.infer<I>> | undefined;
  private closed = false;
  private readonly startedAt = Date.now();

  /** Delivery starts here, before the constructor returns. */
  constructor(
    source: ItemSource,
    private readonly options: SequenceReaderOptions<I>,
  ) {
    const { item, what } = options.stream;
    this.source = source.start({
      push: (data) => {
        try {
          this.push(decode(item, data, what));
        } catch (invalid) {
          this.fail(invalid as Error);
        }
      },
      fail: (error) => this.fail(error),
    });
  }

  /** Items received and not yet read: more than 0 means the next read will not wait. */
  get buffered(): number {
    return this.queue.length;
  }

  /** Stops reading; a pending or later read ends the iteration. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.source.stop();
    this.waiter?.resolve(undefined);
    this.waiter = undefined;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<z.infer<I>> {
    const { timeouts, stream, afterSeq = 0 } = this.options;
    let expected = 1;
    try {
      for (;;) {
        const item = await this.next(expected === 1 ? timeouts.firstItemMs : timeouts.idleMs, expected === 1);
        if (item === undefined) return;
        if (item.seq < expected) continue; // a redelivered duplicate
        if (item.seq > expected) {
          throw new ParleyError('stream_interrupted', `${stream.what}: item ${expected} of the turn was lost`);
        }
        expected += 1;
        if (item.seq > afterSeq) yield item;
        if (stream.isTerminal(item)) return;
      }
    } catch (error) {
      this.options.onFailure?.(error);
      throw error;
    } finally {
      this.close();
    }
  }

  private next(timeoutMs: number, first: boolean): Promise<z.infer<I> | undefined> {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift());
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.resolve(undefined);
    const { timeouts, stream } = this.options;
    const left = this.startedAt + timeouts.totalMs - Date.now();
    const total = left <= timeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.waiter = undefined;
          const code = total ? timeouts.codes.total : first ? timeouts.codes.first : timeouts.codes.idle;
          const limit = total ? timeouts.totalMs : timeoutMs;
          reject(new ParleyError(code, `${stream.what}: nothing received within ${limit} ms`));
        },
        Math.max(0, Math.min(timeoutMs, left)),
      );
      this.waiter = {
        resolve: (item) => {
          clearTimeout(timer);
          resolve(item);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  private push(item: z.infer<I>): void {
    if (this.closed) return;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.resolve(item);
    } else {
      this.queue.push(item);
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(error);
  }
}
