/**
 * Reading a stream from a point to its end, once: the backup reads whole streams with it, the gateway its usage
 * records of a period.
 */
import { DeliverPolicy, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';

/** Messages a read asks for at a time. */
const READ_BATCH = 1_000;
/** How long a read waits for a batch before it asks the server whether anything is left. */
const IDLE_CHECK_MS = 1_000;

export interface ReadStreamOptions {
  /** How long the stream may send nothing while messages are left before the read fails. */
  idleTimeoutMs: number;
  /** Only messages stored at or after this time. */
  from?: Date;
  /** Only messages on subjects matching this filter. */
  subject?: string;
}

/** The stream sent nothing for too long while messages were left. */
export class StreamReadError extends Error {
  override readonly name = 'StreamReadError';
}

/**
 * Every message of `stream` (from `from`, on `subject`), in order, until the read has caught up (no message
 * pending). Read in batches; a batch that brings nothing within a second asks the server whether anything is
 * left (the rest may have been erased while the read ran).
 *
 * @throws StreamReadError when the stream sends nothing for `idleTimeoutMs` while messages are left.
 */
export async function* readStream(
  js: JetStreamClient,
  stream: string,
  { idleTimeoutMs, from, subject }: ReadStreamOptions,
): AsyncGenerator<JsMsg> {
  const consumer = await js.consumers.get(stream, {
    ...(from ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: from.toISOString() } : {}),
    // One subject as a string: the client then sends `filter_subject`, which servers before 2.10 understand.
    ...(subject ? { filter_subjects: subject } : {}),
  });
  let idleSince = performance.now();
  let last = 0;
  try {
    for (;;) {
      const batch = await consumer.fetch({ max_messages: READ_BATCH, expires: IDLE_CHECK_MS });
      let received = 0;
      for await (const msg of batch) {
        received += 1;
        last = msg.seq;
        yield msg;
        if (msg.info.pending === 0) return;
      }
      if (received > 0) {
        idleSince = performance.now();
        continue;
      }
      const { num_pending: left } = await consumer.info();
      if (left === 0) return;
      if (performance.now() - idleSince > idleTimeoutMs) {
        throw new StreamReadError(
          `${stream} sent nothing for ${idleTimeoutMs} ms after sequence ${last}, ${left} left`,
        );
      }
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}
