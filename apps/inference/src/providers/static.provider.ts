import { ParleyError, type GenerationParamName } from '@parley/contracts';
import type { ChatProvider, EmbedOutput, ProviderEvent } from './provider.js';

/** The last fallback: a configured message, so a customer never sees a bare failure. */
export class StaticReplyProvider implements ChatProvider {
  readonly system = 'parley.static';
  readonly name = 'static';
  /** A fixed text calls no tool, follows no format and has no token probabilities. */
  readonly unsupportedParams = new Set<GenerationParamName>([
    'tools',
    'tool_choice',
    'parallel_tool_calls',
    'response_format',
    'logprobs',
    'top_logprobs',
    'logit_bias',
  ]);

  constructor(private readonly reply: string) {}

  async *stream(): AsyncGenerator<ProviderEvent> {
    yield { type: 'delta', text: this.reply };
    yield { type: 'end', finishReason: 'stop' };
  }

  /** A fixed text has no vectors; the routing file refuses a static target in an embedding alias too. */
  embed(): Promise<EmbedOutput> {
    return Promise.reject(new ParleyError('invalid_request', 'a static reply target serves no embeddings'));
  }
}
