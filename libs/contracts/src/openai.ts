/**
 * The OpenAI-compatible surface (`/v1/chat/completions`, `/v1/embeddings`, `/v1/models`): what OpenAI SDKs send, and the shapes
 * they expect back, streamed (`chat.completion.chunk`) or whole (`chat.completion`). The gateway's writer
 * builds these types and the OpenAPI document is generated from the same schemas.
 */
import { z } from 'zod';
import {
  GenerationParamsSchema,
  ModelMessageSchema,
  TokenLogprobSchema,
  ToolCallSchema,
  UsageSchema,
} from './messages.js';

/** OpenAI's newer name for a system message; the gateway sends it to the model as `system`. */
const DeveloperMessageSchema = ModelMessageSchema.options[0].extend({ role: z.literal('developer') });
export const OpenAIMessageSchema = z.discriminatedUnion('role', [
  DeveloperMessageSchema,
  ...ModelMessageSchema.options,
]);
export type OpenAIMessage = z.infer<typeof OpenAIMessageSchema>;

type Shape = typeof GenerationParamsSchema.shape;
/** SDKs send `null` for a parameter they leave unset. */
const nullableParams = Object.fromEntries(
  Object.entries(GenerationParamsSchema.shape).map(([name, schema]) => [name, schema.nullable()]),
) as { [K in keyof Shape]: z.ZodNullable<Shape[K]> };

/**
 * The request body. Strict: a parameter that is not listed here is a 400 naming it, never silently dropped.
 */
export const ChatCompletionBodySchema = z.strictObject({
  model: z.string().min(1).max(256),
  messages: z.array(OpenAIMessageSchema).min(1, 'messages must not be empty'),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullish(),
  ...nullableParams,
  // OpenAI's spellings beside the contract's: one stop string, and the newer name of max_tokens.
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  n: z
    .literal(1, { error: 'only one choice (n = 1) is supported' })
    .nullish()
    .describe('Only one choice is supported.'),
});
export type ChatCompletionBody = z.infer<typeof ChatCompletionBodySchema>;

/**
 * OpenAI parameters Parley does not serve, with the reason the 400 gives. Any other unknown parameter is
 * refused too, as unknown.
 */
export const UNSUPPORTED_CHAT_PARAMS: Readonly<Record<string, string>> = {
  store: 'stateless completions are never stored; use /v1/conversations for stored history',
  metadata: 'stateless completions are never stored, so there is nothing to tag with metadata',
  functions: 'the deprecated functions parameter is not supported; use tools',
  function_call: 'the deprecated function_call parameter is not supported; use tool_choice',
  modalities: 'only text output is supported',
  audio: 'audio output is not supported',
  prediction: 'predicted outputs are not supported',
  service_tier: 'service tiers are not supported',
  web_search_options: 'web search is not supported',
};

/** Parameters that expose or steer the model's token probabilities: refused unless the caller is allowed them. */
export const LOGPROB_PARAMS = ['logprobs', 'top_logprobs', 'logit_bias'] as const;

export const OpenAIFinishReasonSchema = z.enum(['stop', 'length', 'content_filter', 'tool_calls']);
export type OpenAIFinishReason = z.infer<typeof OpenAIFinishReasonSchema>;

/** What every completion and chunk starts with. */
const completionHead = {
  id: z.string(),
  created: z.number().int(),
  model: z.string(),
  system_fingerprint: z.null(),
};

/** `choices[].logprobs`: null unless `logprobs` was asked for. */
const ChoiceLogprobsSchema = z
  .object({ content: z.array(TokenLogprobSchema).nullable(), refusal: z.null() })
  .nullable();

/** A fragment of a tool call in a chunk: the first of a call has `id`, `type` and the name. */
export const ToolCallChunkSchema = z.object({
  index: z.number().int().nonnegative(),
  id: z.string().optional(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string().optional(), arguments: z.string().optional() }).optional(),
});
export type ToolCallChunk = z.infer<typeof ToolCallChunkSchema>;

/**
 * Parley's addition to a completion (and to a stream's finishing chunk): the arm assigned, and the target and
 * upstream model that served. OpenAI's SDKs keep unknown fields.
 */
export const ParleyServedSchema = z.object({
  arm: z.string().optional(),
  target: z.string().optional(),
  upstream_model: z.string().optional(),
});
export type ParleyServed = z.infer<typeof ParleyServedSchema>;

/** One `data:` line of a streamed completion. */
export const ChatCompletionChunkSchema = z.object({
  ...completionHead,
  object: z.literal('chat.completion.chunk'),
  choices: z.array(
    z.object({
      index: z.number().int(),
      delta: z.object({
        role: z.literal('assistant').optional(),
        content: z.string().nullable().optional(),
        tool_calls: z.array(ToolCallChunkSchema).optional(),
      }),
      logprobs: ChoiceLogprobsSchema,
      finish_reason: OpenAIFinishReasonSchema.nullable(),
    }),
  ),
  /** With `stream_options.include_usage`: null on every chunk but the last, which has no choices. */
  usage: UsageSchema.nullable().optional(),
  /** On the chunk with the finish reason. */
  parley: ParleyServedSchema.optional(),
});
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunkSchema>;

/** A whole completion (`stream` false). */
export const ChatCompletionSchema = z.object({
  ...completionHead,
  object: z.literal('chat.completion'),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({
        role: z.literal('assistant'),
        /** Null when the model only called tools. */
        content: z.string().nullable(),
        refusal: z.null(),
        tool_calls: z.array(ToolCallSchema).optional(),
      }),
      logprobs: ChoiceLogprobsSchema,
      finish_reason: OpenAIFinishReasonSchema,
    }),
  ),
  usage: UsageSchema,
  parley: ParleyServedSchema.optional(),
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

/** One model alias (`GET /v1/models/{id}`, and each entry of the list). */
export const OpenAIModelSchema = z.object({
  id: z.string(),
  object: z.literal('model'),
  created: z.number().int(),
  owned_by: z.string(),
});
export type OpenAIModel = z.infer<typeof OpenAIModelSchema>;

export const ModelListSchema = z.object({ object: z.literal('list'), data: z.array(OpenAIModelSchema) });

/** Inputs one `/v1/embeddings` request may carry, as OpenAI allows. */
const MAX_EMBEDDING_INPUTS = 2_048;
const TokenIdsSchema = z.array(z.number().int().nonnegative()).min(1, 'a token array must not be empty');

/**
 * The `/v1/embeddings` body. Strict like the chat body: a parameter not listed here is a 400 naming it. Token
 * arrays are taken where the model's upstream takes them.
 */
export const EmbeddingsBodySchema = z.strictObject({
  model: z.string().min(1).max(256),
  input: z.union([
    z.string().min(1, 'input must not be empty'),
    z
      .array(z.string().min(1, 'an input must not be empty'))
      .min(1, 'input must not be empty')
      .max(MAX_EMBEDDING_INPUTS),
    TokenIdsSchema,
    z.array(TokenIdsSchema).min(1, 'input must not be empty').max(MAX_EMBEDDING_INPUTS),
  ]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().positive().nullish(),
  user: z.string().max(256).nullish(),
});
export type EmbeddingsBody = z.infer<typeof EmbeddingsBodySchema>;

/** The `/v1/embeddings` response: one embedding per input, floats or base64 of little-endian float32. */
export const EmbeddingsResponseSchema = z.object({
  object: z.literal('list'),
  data: z.array(
    z.object({
      object: z.literal('embedding'),
      index: z.number().int().nonnegative(),
      embedding: z.union([z.array(z.number()), z.string()]),
    }),
  ),
  model: z.string(),
  usage: z.object({ prompt_tokens: z.number().int().nonnegative(), total_tokens: z.number().int().nonnegative() }),
});
export type EmbeddingsResponse = z.infer<typeof EmbeddingsResponseSchema>;
