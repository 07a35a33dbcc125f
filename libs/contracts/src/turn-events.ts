/**
 * The SSE events of a conversation turn, as the client sees them: `event: delta | done | error`, `id` = the
 * frame's sequence number, `data` = JSON of the schema below. The gateway writes them with {@link turnEvent},
 * the OpenAPI document describes them from these schemas, and the widget reads them by these types.
 */
import { z } from 'zod';
import { ErrorInfoSchema, FinishReasonSchema, UsageSchema, type Frame } from './messages.js';
import { servedFields, servedOf } from './quality.js';

export const DeltaEventSchema = z.object({ text: z.string() });
export const DoneEventSchema = z.object({
  turnId: z.string(),
  messageId: z.string().optional(),
  finishReason: FinishReasonSchema,
  model: z.string(),
  usage: UsageSchema.optional(),
  /** The arm the conversation is pinned to, and the target and upstream model that served this reply. */
  ...servedFields,
  /** The frames had expired: this is the stored reply, whole, replacing what the client showed. */
  fromHistory: z.literal(true).optional(),
});
export const ErrorEventSchema = z.object({ turnId: z.string(), error: ErrorInfoSchema });

export type DeltaEvent = z.infer<typeof DeltaEventSchema>;
export type DoneEvent = z.infer<typeof DoneEventSchema>;
export type ErrorEvent = z.infer<typeof ErrorEventSchema>;

export type TurnEvent =
  | { event: 'delta'; id: number; data: DeltaEvent }
  | { event: 'done'; id: number; data: DoneEvent }
  | { event: 'error'; id: number; data: ErrorEvent };

/**
 * The event a frame is sent as.
 * @example writeEvent(res, turnEvent(frame, turnId))
 */
export function turnEvent(frame: Frame, turnId: string): TurnEvent {
  switch (frame.type) {
    case 'delta':
      return { event: 'delta', id: frame.seq, data: { text: frame.text } };
    case 'done': {
      const { finishReason, messageId, model, usage } = frame;
      const data = { turnId, messageId, finishReason, model, usage, ...servedOf(frame) };
      return { event: 'done', id: frame.seq, data };
    }
    case 'error':
      return { event: 'error', id: frame.seq, data: { turnId, error: frame.error } };
    case 'tool_call':
      // Conversation turns offer the model no tools; the responder ends a turn whose model calls one anyway.
      throw new Error('a conversation turn carries no tool calls');
  }
}
