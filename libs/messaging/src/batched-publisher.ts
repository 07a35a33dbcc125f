/**
 * Publishing for streams of messages on one connection: a message someone is waiting for goes out at once,
 * the ones that can wait a moment go out together at the end of the event loop's I/O phase.
 *
 * nats.js writes its buffer to the socket in a microtask, so every publish made from its own I/O callback is its
 * own `write` system call. Inference publishes one chunk per upstream read; at 64 streams that was 24 writes
 * per turn, and the write calls were a third of its CPU. Held until `setImmediate`, which runs right after the
 * I/O phase, the chunks read in one turn of the loop leave in one write (docs/performance.md).
 */
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@parley/tracing';

interface Held {
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
}

export class BatchedPublisher {
  private held: Held[] = [];
  private scheduled = false;
  private readonly flushHeld = () => this.flush();

  constructor(
    private readonly nc: NatsConnection,
    private readonly log: Logger,
  ) {}

  /**
   * Publishes now, after anything held (order is kept across every subject). For a message on the critical
   * path, such as a stream's first token.
   *
   * @throws the connection's error when it is closed, as `publish` does.
   */
  now(subject: string, data: Uint8Array, headers?: MsgHdrs): void {
    this.flush();
    this.nc.publish(subject, data, { headers });
  }

  /** Publishes with the others of this turn of the event loop: a later token of a stream. */
  soon(subject: string, data: Uint8Array, headers?: MsgHdrs): void {
    this.held.push({ subject, data, headers });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushHeld);
    }
  }

  /**
   * One message of a numbered stream (a turn's chunks or frames): the first (`seq` 1) is what the client waits
   * for and goes now; later ones go soon.
   */
  inStream(seq: number, subject: string, data: Uint8Array, headers?: MsgHdrs): void {
    if (seq === 1) this.now(subject, data, headers);
    else this.soon(subject, data, headers);
  }

  /** Publishes everything held. A connection that closed meanwhile loses them, and that is logged. */
  flush(): void {
    this.scheduled = false;
    if (this.held.length === 0) return;
    const held = this.held;
    this.held = [];
    try {
      for (const { subject, data, headers } of held) this.nc.publish(subject, data, { headers });
    } catch (error) {
      // The readers of those subjects end in their own timeouts with an error the client sees.
      this.log.error({ err: error, messages: held.length }, 'could not publish held messages');
    }
  }
}
