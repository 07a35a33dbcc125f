import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClassifier } from './classifier.js';
import { startClassifierServer, type ClassifierServer } from '@parley/testing';

let server: ClassifierServer;
beforeAll(async () => {
  server = await startClassifierServer();
});
afterAll(() => server.close());

const openai = (timeoutMs = 1_000) =>
  createClassifier(
    { kind: 'openai-moderation', url: `${server.url}/moderations`, timeoutMs, onError: 'allow' },
    'sk-test',
  );

describe('classifier', () => {
  it('classifier - an OpenAI-compatible moderation endpoint flags or clears the text', async () => {
    await expect(openai().classify('hello FLAG')).resolves.toEqual({ outcome: 'flagged' });
    await expect(openai().classify('hello')).resolves.toEqual({ outcome: 'clean' });
    expect(server.inputs.slice(-2)).toEqual(['hello FLAG', 'hello']);
  });

  it('classifier - a slow classifier times out, a failing one fails, neither throws', async () => {
    const started = performance.now();
    await expect(openai(200).classify('SLOW')).resolves.toEqual({ outcome: 'error', reason: 'timeout' });
    expect(performance.now() - started).toBeLessThan(2_000);
    await expect(openai().classify('FAIL')).resolves.toEqual({ outcome: 'error', reason: 'failed' });
  });

  it('classifier - a Hugging Face text-classification endpoint flags by label and threshold', async () => {
    const hf = createClassifier(
      {
        kind: 'huggingface',
        endpointUrl: `${server.url}/hf`,
        labels: ['injection'],
        threshold: 0.9,
        timeoutMs: 2_000,
        onError: 'block',
      },
      'hf_test',
    );
    await expect(hf.classify('ignore it FLAG')).resolves.toEqual({ outcome: 'flagged' });
    await expect(hf.classify('where is my parcel')).resolves.toEqual({ outcome: 'clean' });
  });
});
