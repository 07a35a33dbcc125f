import { describe, expect, it } from 'vitest';
import { parseRoutingFile } from './routing-file.js';

const VALID = `targets:
  a: { provider: openai-compatible, baseUrl: "http://a:8000/v1", model: m-a }
  b: { provider: openai-compatible, baseUrl: "http://b:8000/v1", model: m-b, apiKeyEnv: B_KEY, timeoutMs: 5000 }
  sorry: { provider: static, reply: "We will get back to you." }
models:
  support:
    split: [{ target: a, weight: 90 }, { target: b, weight: 10 }]
    fallbacks: [sorry]
`;

describe('routing file', () => {
  it('routing file - a valid file parses with defaults', () => {
    const file = parseRoutingFile(VALID, 'models.yaml');
    expect(Object.keys(file.targets)).toEqual(['a', 'b', 'sorry']);
    expect(file.models.support?.split).toEqual([
      { target: 'a', weight: 90 },
      { target: 'b', weight: 10 },
    ]);
    expect(file.models.support?.fallbacks).toEqual(['sorry']);
  });

  it('routing file - errors name the source, the line and the field', () => {
    const unknownTarget = VALID.replace('fallbacks: [sorry]', 'fallbacks: [nobody]');
    expect(() => parseRoutingFile(unknownTarget, 'models.yaml')).toThrow(
      /^models\.yaml:8: models\.support\.fallbacks\.0: no target "nobody"$/,
    );
    const badUrl = VALID.replace('"http://b:8000/v1"', 'ftp://b');
    expect(() => parseRoutingFile(badUrl, 'models.yaml')).toThrow(/^models\.yaml:3: targets\.b\.baseUrl: /);
    const keyInFile = VALID.replace('apiKeyEnv: B_KEY', 'apiKey: sk-123');
    expect(() => parseRoutingFile(keyInFile, 'models.yaml')).toThrow(/^models\.yaml:3: targets\.b: .*apiKey/);
    expect(() => parseRoutingFile('targets: [', 'models.yaml')).toThrow(/^models\.yaml:1: /);
    expect(() => parseRoutingFile('targets: {}\nmodels: {}\n', 'models.yaml')).toThrow(/models: no models/);
  });

  it('routing file - a target may carry a price table; an alias a shadow target with its share and budget', () => {
    const priced = VALID.replace('timeoutMs: 5000', 'timeoutMs: 5000, price: { input: 0.15, output: 0.6 }');
    expect(parseRoutingFile(priced, 'models.yaml').targets.b).toMatchObject({ price: { input: 0.15, output: 0.6 } });
    expect(() => parseRoutingFile(priced.replace('input: 0.15', 'input: -1'), 'models.yaml')).toThrow(
      /^models\.yaml:3: targets\.b\.price\.input: /,
    );
    const shadowed = (shadow: string) =>
      VALID.replace('fallbacks: [sorry]', `fallbacks: [sorry]\n    shadow: ${shadow}`);
    expect(parseRoutingFile(shadowed('{ target: b, share: 0.1 }'), 'models.yaml').models.support?.shadow).toEqual({
      target: 'b',
      share: 0.1,
      maxConcurrent: 2,
      perMinute: 60,
    });
    expect(() => parseRoutingFile(shadowed('{ target: nobody, share: 0.1 }'), 'models.yaml')).toThrow(
      /models\.support\.shadow\.target: no target "nobody"/,
    );
    expect(() => parseRoutingFile(shadowed('{ target: sorry, share: 0.1 }'), 'models.yaml')).toThrow(
      /models\.support\.shadow\.target: target "sorry" is a static reply/,
    );
    expect(() => parseRoutingFile(shadowed('{ target: b, share: 1.5 }'), 'models.yaml')).toThrow(
      /models\.support\.shadow\.share: /,
    );
  });

  it('routing file - an openai-compatible target takes only the http or sdk transport', () => {
    const pinned = (transport: string) => VALID.replace('timeoutMs: 5000', `timeoutMs: 5000, transport: ${transport}`);
    expect(parseRoutingFile(pinned('sdk'), 'models.yaml').targets.b).toMatchObject({ transport: 'sdk' });
    expect(() => parseRoutingFile(pinned('grpc'), 'models.yaml')).toThrow(/^models\.yaml:3: targets\.b\.transport: /);
  });

  it('routing file - a target may drop parameters and an openai-compatible one pick its length field', () => {
    const file = parseRoutingFile(
      VALID.replace(
        'timeoutMs: 5000',
        'timeoutMs: 5000, dropParams: [user, seed], maxTokensField: max_completion_tokens',
      ).replace('reply: "We will get back to you."', 'reply: "We will get back to you.", dropParams: [tools]'),
      'models.yaml',
    );
    expect(file.targets.b).toMatchObject({ dropParams: ['user', 'seed'], maxTokensField: 'max_completion_tokens' });
    expect(file.targets.sorry).toMatchObject({ dropParams: ['tools'] });
    const badField = VALID.replace('timeoutMs: 5000', 'timeoutMs: 5000, maxTokensField: max_length');
    expect(() => parseRoutingFile(badField, 'models.yaml')).toThrow(/^models\.yaml:3: targets\.b\.maxTokensField: /);
    const badName = VALID.replace('timeoutMs: 5000', 'timeoutMs: 5000, dropParams: ["Top P"]');
    expect(() => parseRoutingFile(badName, 'models.yaml')).toThrow(
      /targets\.b\.dropParams\.0: expected a parameter name/,
    );
  });

  it('routing file - an alias is a chat model unless it says embedding; embedding aliases take no static target or maxTokens', () => {
    expect(parseRoutingFile(VALID, 'models.yaml').models.support?.kind).toBe('chat');
    const embedding = `${VALID}  embed:\n    kind: embedding\n    split: [{ target: a }]\n    fallbacks: [b]\n`;
    expect(parseRoutingFile(embedding, 'models.yaml').models.embed).toMatchObject({
      kind: 'embedding',
      fallbacks: ['b'],
    });
    expect(() => parseRoutingFile(embedding.replace('fallbacks: [b]', 'fallbacks: [sorry]'), 'models.yaml')).toThrow(
      /^models\.yaml:12: models\.embed\.fallbacks\.0: target "sorry" is a static reply and serves no embeddings$/,
    );
    const withMaxTokens = `${embedding}    maxTokens: { max: 10 }\n`;
    expect(() => parseRoutingFile(withMaxTokens, 'models.yaml')).toThrow(
      /models\.embed\.maxTokens: .*remove maxTokens/,
    );
    expect(() => parseRoutingFile(embedding.replace('kind: embedding', 'kind: vision'), 'models.yaml')).toThrow(
      /models\.embed\.kind: /,
    );
  });
});
