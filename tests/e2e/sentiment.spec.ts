import { startClassifierServer, type ClassifierServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentReport } from '@parley/contracts';
import { ADMIN_KEY, MODEL, Stack, collectSse, eventually } from './stack.js';

let stack: Stack;
let classifier: ClassifierServer;

beforeAll(async () => {
  classifier = await startClassifierServer();
  stack = await Stack.start({ env: { PARLEY_SENTIMENT_URL: `${classifier.url}/sentiment` } });
});
afterAll(async () => {
  await stack?.stop();
  await classifier?.close();
});

async function say(content: string): Promise<void> {
  const res = await stack.fetch('/v1/conversations', { method: 'POST', json: {} });
  const { id } = (await res.json()) as { id: string };
  const events = await collectSse(
    await stack.fetch(`/v1/conversations/${id}/messages`, { method: 'POST', json: { content } }),
  );
  expect(events.at(-1)?.event).toBe('done');
}

describe('sentiment', () => {
  it("sentiment - each user message is classified beside its turn, and the report counts each arm's labels", async () => {
    const from = new Date().toISOString();
    await say('I am angry about my order');
    await say('thanks, that was lovely');
    await say('still angry, where is it');
    // FAIL makes the classifier answer 500: the turn is unaffected and its record has no sentiment.
    await say('FAIL this one');
    const report = await eventually('every turn in the report', async () => {
      const res = await stack.fetch(`/v1/admin/experiments/${MODEL}?from=${from}`, { key: ADMIN_KEY });
      const body = (await res.json()) as ExperimentReport;
      return body.arms[0]?.turns === 4 ? body : undefined;
    });
    expect(report.arms).toHaveLength(1);
    expect(report.arms[0]!.sentiment).toEqual({ negative: 2, positive: 1 });
    expect(classifier.inputs).toEqual(
      expect.arrayContaining(['I am angry about my order', 'thanks, that was lovely', 'FAIL this one']),
    );
    const metrics = await (await fetch(`${stack.opsUrl('responder')}/metrics`)).text();
    expect(metrics).toMatch(/parley_sentiment_failures_total\{service="responder"\} 1\b/);
  });
});
