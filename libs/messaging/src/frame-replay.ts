/**
 * Reads a conversation turn's frames back from the frames stream: every stored frame after `afterSeq`, then
 * new ones as they are published, until the terminal frame. This is how a client resumes a reply from any
 * gateway replica, and how a retried request re-attaches to its turn.
 */
import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { FrameSchema, ParleyError, Streams, turnFramesSubject, type ErrorCode, type Frame } from '@parley/contracts';
import { decode } from './codec.js';

export interface ReplayOptions {
  turnId: string;
  /** Frames up to and including this sequence number are skipped (the client has them). */
  afterSeq: number;
  firstItemTimeoutMs: number;
  idleTimeoutMs: number;
  totalTimeoutMs: number;
  /** The code when frames stop coming (the responder is gone). */
  silenceCode: ErrorCode;
}

/**
 * @example for await (const frame of replayFrames(js, { turnId, afterSeq: 3, ... })) send(frame);
 */
export async function* replayFrames(js: JetStreamClient, options: ReplayOptions): AsyncGenerator<Frame> {
  const consumer = await js.consumers.get(Streams.frames.name, {
    filter_subjects: turnFramesSubject(options.turnId),
    deliver_policy: DeliverPolicy.All,
  });
  const messages = await consumer.consume({ max_messages: 256 });
  const iterator = messages[Symbol.asyncIterator]();
  const deadline = Date.now() + options.totalTimeoutMs;
  let expected = 1;
  try {
    for (;;) {
      const wait = expected === 1 ? options.firstItemTimeoutMs : options.idleTimeoutMs;
      const left = deadline - Date.now();
      const result = await within(iterator.next(), Math.min(wait, left), () =>
        left <= wait
          ? new ParleyError('turn_timeout', 'the turn took too long')
          : new ParleyError(options.silenceCode, `no frame of the turn within ${wait} ms`),
      );
      if (result.done) return;
      const frame = decode(FrameSchema, result.value.data, 'stored frame');
      if (frame.seq < expected) continue;
      if (frame.seq > expected) throw new ParleyError('internal_error', `frame ${expected} of the turn was lost`);
      expected += 1;
      if (frame.seq > options.afterSeq) yield frame;
      if (frame.type !== 'delta') return;
    }
  } finally {
    // `stop()`, not `close()`: close() waits for the iterator to drain, which never happens once we leave.
    messages.stop();
  }
}

async function within<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), Math.max(0, ms)))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
