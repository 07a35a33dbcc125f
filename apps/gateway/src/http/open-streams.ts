/**
 * The gateway's open event streams, so that a SIGTERM is bounded by `PARLEY_SHUTDOWN_GRACE_MS` like the other
 * services' is, not by the 120 s turn timeout: once the gateway is stopping, new requests get `503
 * shutting_down`; streams still open when the grace is over end with a retryable `shutting_down` error event.
 * A conversation turn goes on regardless (the responder runs it) and is resumed from another replica with
 * `Last-Event-ID`; a stateless one is cancelled, since nothing could resume it.
 */
import { ParleyError } from '@parley/contracts';
import type { NextFunction, Request, Response } from 'express';
import { sendError } from './errors.js';

/** What ends one stream now: writes the error event and stops reading its frames. */
export type Interrupt = (error: ParleyError) => void;

export class OpenStreams {
  private readonly open = new Set<Interrupt>();
  private stopping = false;
  private emptied: (() => void) | undefined;

  get isStopping(): boolean {
    return this.stopping;
  }

  get size(): number {
    return this.open.size;
  }

  /** Tracks a stream until the returned function is called (when it ends, however it ends). */
  track(interrupt: Interrupt): () => void {
    this.open.add(interrupt);
    return () => {
      this.open.delete(interrupt);
      if (this.open.size === 0) this.emptied?.();
    };
  }

  /**
   * Refuses new requests from now on, waits up to `graceMs` for the open streams to end, then interrupts
   * the rest. Resolves with how many had to be interrupted.
   */
  async drain(graceMs: number): Promise<number> {
    this.stopping = true;
    if (this.open.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.emptied = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const left = [...this.open];
    const error = new ParleyError('shutting_down', 'this gateway is shutting down: resume or retry', {
      retryAfterSeconds: 1,
    });
    for (const interrupt of left) interrupt(error);
    return left.length;
  }
}

/** While the gateway is stopping, every request is `503 shutting_down`, and its connection is closed after. */
export function refuseWhileStopping(streams: OpenStreams) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!streams.isStopping) return next();
    res.setHeader('Connection', 'close');
    sendError(req, res, new ParleyError('shutting_down', 'this gateway is shutting down', { retryAfterSeconds: 1 }));
  };
}
