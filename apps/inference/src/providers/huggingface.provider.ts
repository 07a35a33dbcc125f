/**
 * Hugging Face through `@huggingface/inference`: Inference Providers by model id (`hfProvider`, e.g. `auto`,
 * `together`), or a dedicated Inference Endpoint / TGI server by `endpointUrl` (the SDK posts to
 * `{endpointUrl}/v1/chat/completions`). Embeddings are its feature extraction: a dedicated endpoint (Text
 * Embeddings Inference) gets `POST {endpointUrl}` with `{ inputs }` and answers one vector per input.
 *
 * The SDK is loaded on the first request (about 2 MB and 50 ms of start-up that deployments without a Hugging
 * Face target should not pay).
 */
import type { InferenceClient, InferenceProviderOrPolicy } from '@huggingface/inference';
import { ParleyError, type EmbedReply, type GenerationParamName } from '@parley/contracts';
import { chunkEvents } from './openai-framing.js';
import { upstreamStatusError } from './upstream-errors.js';
import {
  DEFAULT_SESSION_HEADER,
  upstreamHeaders,
  type ChatProvider,
  type EmbedInput,
  type EmbedOutput,
  type EmbeddingSupport,
  type GenerateInput,
  type ProviderEvent,
} from './provider.js';

/** One Hugging Face target's settings. */
export interface HuggingFaceOptions {
  name?: string;
  accessToken?: string;
  /** A dedicated endpoint or TGI server; without it, Inference Providers route by model id. */
  endpointUrl?: string;
  hfProvider?: InferenceProviderOrPolicy;
  sessionHeader?: string;
}

type ChatInput = Parameters<InferenceClient['chatCompletionStream']>[0];

/** Hugging Face reports no token counts for feature extraction: usage is estimated at this many characters a token. */
const CHARS_PER_TOKEN = 4;

/** Streams chat completions from Hugging Face: an Inference Provider or a dedicated endpoint. */
export class HuggingFaceProvider implements ChatProvider {
  readonly system = 'huggingface';
  readonly name: string;
  /**
   * What Hugging Face's chat completion input lacks (`parallel_tool_calls`, `user`) or reads differently
   * (`logit_bias` is a list of biases there, not a map of token ids).
   */
  readonly unsupportedParams = new Set<GenerationParamName>(['parallel_tool_calls', 'user', 'logit_bias']);
  /** Feature extraction takes texts (no token ids) and, as OpenAI does, `dimensions`; it has no `user`. */
  readonly embeddings: EmbeddingSupport = { tokenInput: false, params: new Set(['dimensions']) };
  private client: Promise<InferenceClient> | undefined;

  constructor(private readonly options: HuggingFaceOptions) {
    this.name = options.name ?? 'huggingface';
  }

  async embed(input: EmbedInput): Promise<EmbedOutput> {
    // Inference routes token-id inputs only to providers that take them.
    const texts = input.input as string[];
    let output;
    try {
      output = await (
        await this.connect()
      ).featureExtraction(
        {
          model: input.model,
          ...this.where(),
          inputs: texts,
          ...(input.dimensions && { dimensions: input.dimensions }),
        },
        { signal: input.signal, fetch: this.fetchWith(input), retry_on_error: false },
      );
    } catch (error) {
      throw toParleyError(error);
    }
    // A pooled model gives one vector per input; a token-level one (a list per token) is no embedding.
    const vectors = output.length === texts.length && output.every(isVector) ? (output as number[][]) : undefined;
    if (!vectors) {
      throw new ParleyError('upstream_error', 'the Hugging Face upstream did not answer one vector per input');
    }
    const tokens = texts.reduce((sum, text) => sum + Math.ceil(text.length / CHARS_PER_TOKEN), 0);
    const usage: EmbedReply['usage'] = { prompt_tokens: tokens, total_tokens: tokens };
    return { embeddings: vectors, usage };
  }

  /** A dedicated endpoint, or an Inference Provider routing by model id. */
  private where(): { endpointUrl: string } | { provider: InferenceProviderOrPolicy } {
    return this.options.endpointUrl
      ? { endpointUrl: this.options.endpointUrl }
      : { provider: this.options.hfProvider ?? 'auto' };
  }

  /** The SDK has no per-request headers; a fetch wrapper adds them. */
  private fetchWith(input: Pick<GenerateInput, 'traceparent' | 'conversationId'>): typeof fetch {
    const headers = upstreamHeaders(input, this.options.sessionHeader ?? DEFAULT_SESSION_HEADER);
    return (url, init) =>
      fetch(url, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), ...headers } });
  }

  stream(input: GenerateInput): AsyncGenerator<ProviderEvent> {
    // The parameters, messages, tools and response formats have OpenAI's names and shapes in Hugging Face's chat
    // completion input too; its types are only narrower (no `null` content, no `strict: null`), hence the cast.
    const args = {
      ...input.params,
      model: input.model,
      ...this.where(),
      messages: input.messages,
      stream_options: { include_usage: true },
    } as ChatInput;
    return chunkEvents(
      async () =>
        (await this.connect()).chatCompletionStream(args, {
          signal: input.signal,
          fetch: this.fetchWith(input),
          retry_on_error: false,
        }),
      { signal: input.signal, toError: toParleyError },
    );
  }

  private connect(): Promise<InferenceClient> {
    this.client ??= loadSdk().then(({ InferenceClient }) => new InferenceClient(this.options.accessToken));
    return this.client;
  }
}

type Sdk = typeof import('@huggingface/inference');
let sdk: Sdk | undefined;

async function loadSdk(): Promise<Sdk> {
  sdk ??= await import('@huggingface/inference');
  return sdk;
}

function isVector(value: unknown): value is number[] {
  return Array.isArray(value) && value.length > 0 && value.every((x) => typeof x === 'number');
}

function toParleyError(error: unknown): ParleyError {
  // Errors come from the SDK's calls, so it is loaded by the time one is mapped.
  if (
    sdk &&
    (error instanceof sdk.InferenceClientProviderApiError || error instanceof sdk.InferenceClientHubApiError)
  ) {
    return upstreamStatusError(error.httpResponse.status, { upstream: 'the Hugging Face upstream' });
  }
  return new ParleyError('upstream_error', 'the Hugging Face upstream failed', { cause: error });
}
