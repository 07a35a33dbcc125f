/**
 * Hugging Face through `@huggingface/inference`: Inference Providers by model id (`hfProvider`, e.g. `auto`,
 * `together`), or a dedicated Inference Endpoint / TGI server by `endpointUrl` (the SDK posts to
 * `{endpointUrl}/v1/chat/completions`).
 *
 * The SDK is loaded on the first request (about 2 MB and 50 ms of start-up that deployments without a Hugging
 * Face target should not pay).
 */
import type { InferenceClient, InferenceProviderOrPolicy } from '@huggingface/inference';
import { ParleyError, type GenerationParamName } from '@parley/contracts';
import { chunkEvents } from './openai-framing.js';
import { upstreamStatusError } from './upstream-errors.js';
import {
  DEFAULT_SESSION_HEADER,
  upstreamHeaders,
  type ChatProvider,
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

/** Streams chat completions from Hugging Face: an Inference Provider or a dedicated endpoint. */
export class HuggingFaceProvider implements ChatProvider {
  readonly system = 'huggingface';
  readonly name: string;
  /**
   * What Hugging Face's chat completion input lacks (`parallel_tool_calls`, `user`) or reads differently
   * (`logit_bias` is a list of biases there, not a map of token ids).
   */
  readonly unsupportedParams = new Set<GenerationParamName>(['parallel_tool_calls', 'user', 'logit_bias']);
  private client: Promise<InferenceClient> | undefined;

  constructor(private readonly options: HuggingFaceOptions) {
    this.name = options.name ?? 'huggingface';
  }

  stream(input: GenerateInput): AsyncGenerator<ProviderEvent> {
    const headers = upstreamHeaders(input, this.options.sessionHeader ?? DEFAULT_SESSION_HEADER);
    // The SDK has no per-request headers; a fetch wrapper adds them.
    const withHeaders: typeof fetch = (url, init) =>
      fetch(url, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), ...headers } });
    // The parameters, messages, tools and response formats have OpenAI's names and shapes in Hugging Face's chat
    // completion input too; its types are only narrower (no `null` content, no `strict: null`), hence the cast.
    const args = {
      ...input.params,
      model: input.model,
      ...(this.options.endpointUrl
        ? { endpointUrl: this.options.endpointUrl }
        : { provider: this.options.hfProvider ?? 'auto' }),
      messages: input.messages,
      stream_options: { include_usage: true },
    } as ChatInput;
    return chunkEvents(
      async () =>
        (await this.connect()).chatCompletionStream(args, {
          signal: input.signal,
          fetch: withHeaders,
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
