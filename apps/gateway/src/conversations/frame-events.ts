/**
 * Writes a conversation turn's frames as SSE events: `delta`, then one `done` or `error`, `id` = the frame's
 * sequence number. A failure to read frames ends the stream with an `error` event, never silently.
 */
import type { Frame, HistoryMessage } from '@parley/contracts';
import type { Response } from 'express';
import { toParleyError } from '../http/errors.js';
import { openEventStream, writeEvent } from '../http/sse.js';

export async function writeFrameEvents(
  res: Response,
  { turnId, frames, afterSeq = 0 }: { turnId: string; frames: AsyncIterable<Frame>; afterSeq?: number },
): Promise<void> {
  res.setHeader('X-Parley-Turn-Id', turnId);
  openEventStream(res);
  let lastSeq = afterSeq;
  try {
    for await (const frame of frames) {
      lastSeq = frame.seq;
      if (frame.type === 'delta') {
        writeEvent(res, { event: 'delta', id: frame.seq, data: JSON.stringify({ text: frame.text }) });
      } else if (frame.type === 'done') {
        const { finishReason, messageId, model, usage } = frame;
        const data = { turnId, messageId, finishReason, model, usage };
        writeEvent(res, { event: 'done', id: frame.seq, data: JSON.stringify(data) });
      } else {
        writeEvent(res, { event: 'error', id: frame.seq, data: JSON.stringify({ turnId, error: frame.error }) });
      }
    }
  } catch (error) {
    const info = toParleyError(error).toInfo();
    writeEvent(res, { event: 'error', id: lastSeq + 1, data: JSON.stringify({ turnId, error: info }) });
  } finally {
    res.end();
  }
}

/**
 * A finished turn whose frames have expired, replayed from history: the whole reply as one `delta` (id 1)
 * and `done` (id 2) marked `fromHistory`, so the client replaces what it showed.
 */
export function writeStoredReply(res: Response, turnId: string, message: HistoryMessage): void {
  res.setHeader('X-Parley-Turn-Id', turnId);
  openEventStream(res);
  writeEvent(res, { event: 'delta', id: 1, data: JSON.stringify({ text: message.content }) });
  const done = {
    turnId,
    messageId: message.id,
    finishReason: message.finishReason ?? 'stop',
    model: message.model ?? '',
    usage: message.usage,
    fromHistory: true,
  };
  writeEvent(res, { event: 'done', id: 2, data: JSON.stringify(done) });
  res.end();
}
