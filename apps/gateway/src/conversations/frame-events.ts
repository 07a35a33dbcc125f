/**
 * Writes a conversation turn's frames as SSE events (contracts' `turnEvent`): `delta`, then one `done` or
 * `error`, `id` = the frame's sequence number. A failure to read frames ends the stream with an `error` event,
 * never silently.
 */
import {
  servedOf,
  turnEvent,
  type DoneEvent,
  type Frame,
  type HistoryMessage,
  type TurnEvent,
} from '@parley/contracts';
import type { Response } from 'express';
import { toParleyError } from '../http/errors.js';
import type { OpenStreams } from '../http/open-streams.js';
import { openEventStream, writeEvent } from '../http/sse.js';

function send(res: Response, { event, id, data }: TurnEvent): void {
  writeEvent(res, { event, id, data: JSON.stringify(data) });
}

/**
 * @param streams when given, the stream is tracked so that a stopping gateway can end it with a retryable
 *   `shutting_down` event; the turn goes on, and the client resumes it elsewhere after the last id it got.
 */
export async function writeFrameEvents(
  res: Response,
  {
    turnId,
    frames,
    afterSeq = 0,
    close,
  }: { turnId: string; frames: AsyncIterable<Frame>; afterSeq?: number; close?: () => void },
  streams?: OpenStreams,
): Promise<void> {
  res.setHeader('X-Parley-Turn-Id', turnId);
  openEventStream(res);
  let lastSeq = afterSeq;
  let ended = false;
  const endWith = (error: unknown) => {
    if (ended) return;
    ended = true;
    send(res, { event: 'error', id: lastSeq + 1, data: { turnId, error: toParleyError(error).toInfo() } });
  };
  const untrack = streams?.track((error) => {
    endWith(error);
    close?.();
    res.end();
  });
  try {
    for await (const frame of frames) {
      if (ended) break;
      lastSeq = frame.seq;
      send(res, turnEvent(frame, turnId));
    }
  } catch (error) {
    endWith(error);
  } finally {
    untrack?.();
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
  send(res, { event: 'delta', id: 1, data: { text: message.content } });
  const done: DoneEvent = {
    turnId,
    messageId: message.id,
    finishReason: message.finishReason ?? 'stop',
    model: message.model ?? '',
    usage: message.usage,
    ...servedOf(message),
    fromHistory: true,
  };
  send(res, { event: 'done', id: 2, data: done });
  res.end();
}
