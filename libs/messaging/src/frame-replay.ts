/**
 * Reads a conversation turn's frames back from the frames stream: every stored frame after `afterSeq`, then
 * new ones as they are stored, until the terminal frame. This is how a client resumes a reply from any
 * gateway replica, and how a retried request re-attaches to its turn. The numbering and timeouts are the
 * live reader's.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { Streams, TurnStreams } from '@parley/contracts';
import { SequenceReader, storedSource, type ReadTimeouts } from './sequence-reader.js';

/**
 * @example for await (const frame of replayFrames(js, { turnId, afterSeq: 3, timeouts })) send(frame);
 */
export function replayFrames(
  js: JetStreamClient,
  { turnId, afterSeq, timeouts }: { turnId: string; afterSeq: number; timeouts: ReadTimeouts },
): SequenceReader<typeof TurnStreams.frames.item> {
  const stream = TurnStreams.frames;
  return new SequenceReader(storedSource(js, Streams.frames.name, stream.subject(turnId)), {
    stream,
    timeouts,
    afterSeq,
  });
}
