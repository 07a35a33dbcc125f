/**
 * The OpenAI-compatible surface (`/v1/chat/completions`, `/v1/models`): what OpenAI SDKs send, and the shapes
 * they expect back, streamed (`chat.completion.chunk`) or whole (`chat.completion`). The gateway's writer
 * builds these types and the OpenAPI document is generated from the same schemas.
 */
import { z } from 'zod';
import { GenerationParamsSchema, UsageSchema } from './messages.js';

const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() });
export const OpenAIMessageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string(), z.array(TextPartSchema)]),
  name: z.string().optional(),
});

type Shape = typeof GenerationParamsSchema.shape;
/** SDKs send `null` for a parameter they leave unset. */
const nullableParams = Object.fromEntries(
  Object.entries(GenerationParamsSchema.shape).map(([name, schema]) => [name, schema.nullable()]),
) as { [K in keyof Shape]: z.ZodNullable<Shape[K]> };

export const ChatCompletionBodySchema = z.looseObject({
  model: z.string().min(1).max(256),
  messages: z.array(OpenAIMessageSchema).min(1, 'messages must not be empty'),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  ...nullableParams,
  // OpenAI's spellings beside the contract's: one stop string, and the newer name of max_tokens.
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  n: z.literal(1).nullish().describe('Only one choice is supported.'),
  user: z.string().max(256).optional(),
});
export type ChatCompletionBody = z.infer<typeof ChatCompletionBodySchema>;

export const OpenAIFinishReasonSchema = z.enum(['stop', 'length', 'content_filter']);
export type OpenAIFinishReason = z.infer<typeof OpenAIFinishReasonSchema>;

/** What every completion and chunk starts with. */
const completionHead = {
  id: z.string(),
  created: z.number().int(),
  model: z.string(),
  system_fingerprint: z.null(),
};

/** One `data:` line of a streamed completion. */
export const ChatCompletionChunkSchema = z.object({
  ...completionHead,
  object: z.literal('chat.completion.chunk'),
  choices: z.array(
    z.object({
      index: z.number().int(),
      delta: z.object({ role: z.literal('assistant').optional(), content: z.string().optional() }),
      logprobs: z.null(),
      finish_reason: OpenAIFinishReasonSchema.nullable(),
    }),
  ),
  /** With `stream_options.include_usage`: null on every chunk but the last, which has no choices. */
  usage: UsageSchema.nullable().optional(),
});
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunkSchema>;

/** A whole completion (`stream` false). */
export const ChatCompletionSchema = z.object({
  ...completionHead,
  object: z.literal('chat.completion'),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() }),
      logprobs: z.null(),
      finish_reason: OpenAIFinishReasonSchema,
    }),
  ),
  usage: UsageSchema,
});
export type ChatCompletion = z.infer<typeof ChatCompletionSchema>;

/** OpenAI's error body; also the `data:` of an error inside a stream, which the SDKs raise as `APIError`. */
export const OpenAIErrorBodySchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string(),
  }),
});
export type OpenAIErrorBody = z.infer<typeof OpenAIErrorBodySchema>;

export const ModelListSchema = z.object({
  object: z.literal('list'),
  data: z.array(
    z.object({ id: z.string(), object: z.literal('model'), created: z.number().int(), owned_by: z.string() }),
  ),
});
