import { z } from 'zod';

const ContentPartSchema = z.looseObject({ type: z.string(), text: z.string().optional() });

const MessageSchema = z.looseObject({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(ContentPartSchema), z.null()]).optional(),
});

const ToolSchema = z.looseObject({
  type: z.string(),
  function: z.looseObject({ name: z.string().min(1), parameters: z.unknown().optional() }).optional(),
});

/** The fields of an OpenAI chat completion request the simulator acts on; unknown fields pass unchecked. */
export const ChatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(MessageSchema).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: z.int().positive().nullish(),
  max_completion_tokens: z.int().positive().nullish(),
  tools: z.array(ToolSchema).nullish(),
  tool_choice: z
    .union([z.string(), z.looseObject({ type: z.string().optional(), function: z.looseObject({ name: z.string() }) })])
    .nullish(),
  response_format: z
    .looseObject({ type: z.string(), json_schema: z.looseObject({ schema: z.unknown().optional() }).optional() })
    .nullish(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

export const FinishReason = { stop: 'stop', length: 'length', toolCalls: 'tool_calls' } as const;
export type FinishReason = (typeof FinishReason)[keyof typeof FinishReason];

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** What every chunk and completion of one request shares. */
export interface CompletionMeta {
  id: string;
  created: number;
  model: string;
}

/** Builds the `usage` object with the total derived, so the three numbers can never disagree. */
export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/** One `data:` line of a server-sent event stream, with the blank line that ends the event. */
export function sseData(payload: unknown): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
}

export const SSE_DONE = sseData('[DONE]');

/** A tool call in a message, or a fragment of one in a delta (the first carries `id`, `type` and the name). */
export interface ToolCallPart {
  index?: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}

type Delta =
  | { role: 'assistant'; content: string | null; tool_calls?: ToolCallPart[] }
  | { content: string }
  | { tool_calls: ToolCallPart[] }
  | Record<string, never>;

/** A `chat.completion.chunk` with one choice, laid out as vLLM's OpenAI server sends it. */
export function chunk(meta: CompletionMeta, delta: Delta, finishReason: FinishReason | null = null): unknown {
  const choice =
    finishReason === null
      ? { index: 0, delta, logprobs: null, finish_reason: null }
      : { index: 0, delta, logprobs: null, finish_reason: finishReason, stop_reason: null };
  return { id: meta.id, object: 'chat.completion.chunk', created: meta.created, model: meta.model, choices: [choice] };
}

/** The trailing chunk sent when `stream_options.include_usage` is set: no choices, only usage. */
export function usageChunk(meta: CompletionMeta, usage: Usage): unknown {
  return { id: meta.id, object: 'chat.completion.chunk', created: meta.created, model: meta.model, choices: [], usage };
}

/** A non-streaming `chat.completion` response. */
export function completion(
  meta: CompletionMeta,
  options: { content: string | null; toolCalls?: ToolCallPart[]; finishReason: FinishReason; usage: Usage },
): unknown {
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: options.content,
          ...(options.toolCalls && { tool_calls: options.toolCalls }),
        },
        logprobs: null,
        finish_reason: options.finishReason,
        stop_reason: null,
      },
    ],
    usage: options.usage,
  };
}

/** The `GET /v1/models` list with the one served model. */
export function modelList(model: string, created: number): unknown {
  return {
    object: 'list',
    data: [{ id: model, object: 'model', created, owned_by: 'llm-sim', root: model, parent: null }],
  };
}

/** OpenAI's error body; clients such as the `openai` package read `error.message`, `type` and `code`. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function errorBody(options: {
  message: string;
  type?: string;
  param?: string | null;
  code?: string | null;
}): OpenAiErrorBody {
  const { message, type = 'invalid_request_error', param = null, code = null } = options;
  return { error: { message, type, param, code } };
}

// What OpenAI's API answers for the statuses the simulator can inject.
const FAULT_ERRORS: Record<number, { type: string; code: string; message: string }> = {
  429: { type: 'rate_limit_error', code: 'rate_limit_exceeded', message: 'Rate limit reached (simulated).' },
  500: { type: 'server_error', code: 'internal_error', message: 'The server had an error (simulated).' },
  503: { type: 'server_error', code: 'service_unavailable', message: 'The server is overloaded (simulated).' },
};

/** The error body for an injected status fault. */
export function faultErrorBody(status: number): OpenAiErrorBody {
  const known = FAULT_ERRORS[status] ?? { type: 'server_error', code: 'simulated', message: 'Simulated error.' };
  return errorBody(known);
}
