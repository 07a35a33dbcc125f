import type { ChatProvider, ProviderEvent } from './provider.js';

/** The last fallback: a configured message, so a customer never sees a bare failure. */
export class StaticReplyProvider implements ChatProvider {
  readonly system = 'parley.static';
  readonly name = 'static';

  constructor(private readonly reply: string) {}

  async *stream(): AsyncGenerator<ProviderEvent> {
    yield { type: 'delta', text: this.reply };
    yield { type: 'end', finishReason: 'stop' };
  }
}
