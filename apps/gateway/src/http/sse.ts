/**
 * Server-sent events: headers that stop proxies from buffering, Nagle off so each event leaves at once.
 */
import type { Response } from 'express';

export function openEventStream(res: Response): void {
  res.socket?.setNoDelay(true);
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
}

/** Writes one event; `event` and `id` are omitted when absent (OpenAI's stream uses bare `data:` lines). */
export function writeEvent(res: Response, { event, id, data }: { event?: string; id?: number; data: string }): void {
  let text = '';
  if (event) text += `event: ${event}\n`;
  if (id !== undefined) text += `id: ${id}\n`;
  text += `data: ${data}\n\n`;
  res.write(text);
}
