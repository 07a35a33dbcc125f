/**
 * Reads one turn's sequence-numbered messages (frames or chunks) from a subject, in order, with the timeouts
 * every hop must have: until the first item, between items, and in total. A missing item is an error, never a
 * silent gap. The subscription exists from construction, so create the reader before asking anyone to publish.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { ParleyError, type ErrorCode } from '@parley/contracts';
import type { z } from 'zod';
import { decode } from './codec.js';

export interface SequenceReaderOptions<S extends z.ZodType<{ seq: number }>> {
  subject: string;
  schema: S;
  /** The item after which the sequence is complete. */
  isTerminal: (item: z.infer<S>) => boolean;
  firstItemTimeoutMs: number;
  idleTimeoutMs: number;
  totalTimeoutMs: number;
  /** The error code for each kind of timeout. */
  timeoutCodes: { first: ErrorCode; idle: ErrorCode; total: ErrorCode };
  /** Names the sequence in error messages (`frames`, `chunks`). */
  what: string;
}

interface Waiter<T> {
  resolve: (item: T | undefined) => void;
  reject: (error: Error) => void;
}

/**
 * @example
 * const reader = new SequenceReader(nc, { subject: inferenceChunksSubject(turnId), schema: ChunkSchema, ... });
 * await request(nc, ...); // ask inference to start publishing
 * for await (const chunk of reader) { ... }
 */
export class SequenceReader<S extends z.ZodType<{ seq: number }>> implements AsyncIterable<z.infer<S>> {
  private readonly subscription: Subscription;
  private readonly queue: z.infer<S>[] = [];
  private failure: Error | undefined;
  private waiter: Waiter<z.infer<S>> | undefined;
  private closed = false;
  private readonly startedAt = Date.now();

  constructor(
    nc: NatsConnection,
    private readonly options: SequenceReaderOptions<S>,
  ) {
    this.subscription = nc.subscribe(options.subject, {
      callback: (error, msg) => {
        if (error) return this.fail(error);
        try {
          this.push(decode(options.schema, msg.data, options.what));
        } catch (invalid) {
          this.fail(invalid as Error);
        }
      },
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
    this.subscription.unsubscribe();
    this.waiter?.resolve(undefined);
    this.waiter = undefined;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<z.infer<S>> {
    const { firstItemTimeoutMs, idleTimeoutMs, isTerminal } = this.options;
    let expected = 1;
    try {
      for (;;) {
        const item = await this.next(expected === 1 ? firstItemTimeoutMs : idleTimeoutMs, expected === 1);
        if (item === undefined) return;
        if (item.seq < expected) continue; // a redelivered duplicate
        if (item.seq > expected) {
          throw new ParleyError('internal_error', `${this.options.what}: item ${expected} of the turn was lost`);
        }
        expected += 1;
        yield item;
        if (isTerminal(item)) return;
      }
    } finally {
      this.close();
    }
  }

  private next(timeoutMs: number, first: boolean): Promise<z.infer<S> | undefined> {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift());
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.resolve(undefined);
    const left = this.startedAt + this.options.totalTimeoutMs - Date.now();
    const total = left <= timeoutMs;
    const { timeoutCodes, what } = this.options;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.waiter = undefined;
          const code = total ? timeoutCodes.total : first ? timeoutCodes.first : timeoutCodes.idle;
          const limit = total ? this.options.totalTimeoutMs : timeoutMs;
          reject(new ParleyError(code, `${what}: nothing received within ${limit} ms`));
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

  private push(item: z.infer<S>): void {
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
