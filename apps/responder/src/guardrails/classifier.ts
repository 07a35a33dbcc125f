/**
 * The optional classifier behind the `moderation` check: an OpenAI-compatible `/v1/moderations` endpoint, or a
 * Hugging Face text-classification model through `@huggingface/inference` (loaded only when configured). Every
 * call has the configured timeout; a classifier that fails or is too slow gives `error`, and the policy's
 * `onError` decides (docs/guardrails.md).
 */
import type { ClassifierConfig } from '@parley/config';

/** A classification: `flagged`, or not; `error` when the classifier could not say (failed, timed out). */
export type Verdict = { outcome: 'flagged' | 'clean' } | { outcome: 'error'; reason: 'timeout' | 'failed' };

export interface Classifier {
  readonly config: ClassifierConfig;
  classify(text: string): Promise<Verdict>;
}

/** Builds the classifier of a guardrails file; `apiKey` is the value of its `apiKeyEnv`, if any. */
export function createClassifier(config: ClassifierConfig, apiKey: string | undefined): Classifier {
  const ask = config.kind === 'openai-moderation' ? openAiModeration(config, apiKey) : huggingFace(config, apiKey);
  return {
    config,
    async classify(text) {
      const signal = AbortSignal.timeout(config.timeoutMs);
      try {
        return { outcome: (await ask(text, signal)) ? 'flagged' : 'clean' };
      } catch {
        // The reason is logged by the caller without the text; the error itself may quote the request.
        return { outcome: 'error', reason: signal.aborted ? 'timeout' : 'failed' };
      }
    },
  };
}

type Ask = (text: string, signal: AbortSignal) => Promise<boolean>;

function openAiModeration(config: Extract<ClassifierConfig, { kind: 'openai-moderation' }>, apiKey?: string): Ask {
  return async (text, signal) => {
    const res = await fetch(config.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(apiKey && { authorization: `Bearer ${apiKey}` }) },
      body: JSON.stringify({ input: text, ...(config.model && { model: config.model }) }),
      signal,
    });
    if (!res.ok) throw new Error(`moderation answered ${String(res.status)}`);
    const body = (await res.json()) as { results?: { flagged?: unknown }[] };
    const flagged = body.results?.[0]?.flagged;
    if (typeof flagged !== 'boolean') throw new Error('moderation answer without results[0].flagged');
    return flagged;
  };
}

function huggingFace(config: Extract<ClassifierConfig, { kind: 'huggingface' }>, apiKey?: string): Ask {
  let client: Promise<import('@huggingface/inference').InferenceClient> | undefined;
  const labels = new Set(config.labels.map((l) => l.toLowerCase()));
  return async (text, signal) => {
    client ??= import('@huggingface/inference').then(({ InferenceClient }) => new InferenceClient(apiKey));
    const scores = await (
      await client
    ).textClassification(
      { inputs: text, ...(config.endpointUrl ? { endpointUrl: config.endpointUrl } : { model: config.model }) },
      { signal },
    );
    return scores.some((s) => labels.has(s.label.toLowerCase()) && s.score >= config.threshold);
  };
}
