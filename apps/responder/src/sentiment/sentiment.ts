/**
 * Sentiment of user messages as a quality signal: each conversation turn's user message is classified by a
 * Hugging Face text-classification endpoint (PARLEY_SENTIMENT_URL, through `@huggingface/inference`) while the
 * turn runs. It never delays the turn: the classification starts beside the generation, and only the usage
 * record, written after the reply was sent, waits for it, at most PARLEY_SENTIMENT_TIMEOUT_MS. A failure or
 * timeout is counted and logged, and the record goes without a sentiment.
 */
import type { ResponderConfig } from '@parley/config';
import type { TurnStart } from '@parley/contracts';
import type { Logger, Registry } from '@parley/tracing';
import { Counter } from 'prom-client';

type Client = import('@huggingface/inference').InferenceClient;

export class Sentiment {
  private client: Promise<Client> | undefined;
  private readonly labels: Counter<'model' | 'label'>;
  private readonly failures: Counter;

  constructor(
    private readonly config: Pick<
      ResponderConfig,
      'PARLEY_SENTIMENT_URL' | 'PARLEY_SENTIMENT_API_KEY' | 'PARLEY_SENTIMENT_TIMEOUT_MS'
    >,
    private readonly deps: { log: Logger; metrics: Registry },
  ) {
    this.labels = new Counter({
      name: 'parley_sentiment_total',
      help: 'User messages by model and sentiment label (PARLEY_SENTIMENT_URL)',
      labelNames: ['model', 'label'] as const,
      registers: [deps.metrics],
    });
    this.failures = new Counter({
      name: 'parley_sentiment_failures_total',
      help: 'Sentiment classifications that failed or took longer than PARLEY_SENTIMENT_TIMEOUT_MS',
      registers: [deps.metrics],
    });
  }

  /**
   * Starts classifying the turn's user message; the promise gives its top label (lower case), or undefined
   * without a classifier, for a stateless turn, or on failure. Never rejects.
   */
  classify(turn: TurnStart): Promise<string | undefined> {
    const url = this.config.PARLEY_SENTIMENT_URL;
    if (!url || turn.kind !== 'conversation') return Promise.resolve(undefined);
    const signal = AbortSignal.timeout(this.config.PARLEY_SENTIMENT_TIMEOUT_MS);
    return this.ask(url, turn.userMessage.content, signal).then(
      (label) => {
        if (label !== undefined) this.labels.inc({ model: turn.model, label });
        return label;
      },
      (error: unknown) => {
        this.failures.inc();
        this.deps.log.warn({ err: error, turnId: turn.turnId, code: 'sentiment_failed' }, 'sentiment not classified');
        return undefined;
      },
    );
  }

  private async ask(endpointUrl: string, text: string, signal: AbortSignal): Promise<string | undefined> {
    const apiKey = this.config.PARLEY_SENTIMENT_API_KEY;
    this.client ??= import('@huggingface/inference').then(({ InferenceClient }) => new InferenceClient(apiKey));
    const scores = await (await this.client).textClassification({ inputs: text, endpointUrl }, { signal });
    const top = [...scores].sort((a, b) => b.score - a.score)[0];
    return top?.label.toLowerCase().slice(0, 64);
  }
}
