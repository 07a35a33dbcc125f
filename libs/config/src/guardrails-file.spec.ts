import { describe, expect, it } from 'vitest';
import { DEFAULT_GUARDRAIL_POLICY, parseGuardrailsFile, resolveGuardrailPolicy } from './guardrails-file.js';

const FILE = `
default:
  pii: { kinds: [email, card] }
  blockedMessage: Not here.
models:
  support: { injection: { action: block } }
projects:
  acme:
    pii: { input: block }
    models:
      support:
        leak: { minChars: 30 }
        blockedMessage: Acme says no.
`;

describe('guardrails file', () => {
  it('guardrails file - layers apply default, model, project, project model, each overriding what it sets', () => {
    const file = parseGuardrailsFile(FILE, 'g.yaml');
    expect(resolveGuardrailPolicy(undefined, 'acme', 'support')).toEqual(DEFAULT_GUARDRAIL_POLICY);
    expect(resolveGuardrailPolicy(file, 'other', 'chat')).toEqual({
      ...DEFAULT_GUARDRAIL_POLICY,
      pii: { input: 'redact', output: 'redact', kinds: ['email', 'card'] },
      blockedMessage: 'Not here.',
    });
    expect(resolveGuardrailPolicy(file, 'acme', 'support')).toEqual({
      ...DEFAULT_GUARDRAIL_POLICY,
      pii: { input: 'block', output: 'redact', kinds: ['email', 'card'] },
      injection: { action: 'block' },
      leak: { action: 'block', minChars: 30 },
      blockedMessage: 'Acme says no.',
    });
    expect(resolveGuardrailPolicy(file, undefined, 'support').injection.action).toBe('block');
  });

  it('guardrails file - errors name the line and the field', () => {
    expect(() => parseGuardrailsFile('default:\n  injection: { action: redact }\n', 'g.yaml')).toThrow(
      /^g\.yaml:2: default\.injection\.action: injection: expected block, flag or off/,
    );
    expect(() => parseGuardrailsFile('default:\n  pii: { kinds: [passport] }\n', 'g.yaml')).toThrow(
      /^g\.yaml:2: default\.pii\.kinds\.0: /,
    );
    expect(() => parseGuardrailsFile('projects:\n  acme:\n    moderation: { input: block }\n', 'g.yaml')).toThrow(
      /^g\.yaml:3: projects\.acme\.moderation: needs a classifier in the file/,
    );
    expect(() => parseGuardrailsFile('default: [\n', 'g.yaml')).toThrow(/^g\.yaml:\d+: /);
    expect(() => parseGuardrailsFile('surprise: 1\n', 'g.yaml')).toThrow(/^g\.yaml:1: /);
  });

  it('guardrails file - a classifier gets its defaults; a Hugging Face one needs a model or an endpoint', () => {
    const file = parseGuardrailsFile(
      'classifier: { kind: openai-moderation, url: "http://127.0.0.1:9/v1/moderations" }\ndefault: { moderation: { input: block } }\n',
      'g.yaml',
    );
    expect(file.classifier).toMatchObject({ timeoutMs: 1_500, onError: 'allow' });
    expect(() => parseGuardrailsFile('classifier: { kind: huggingface, labels: [toxic] }\n', 'g.yaml')).toThrow(
      /^g\.yaml:1: classifier\.model: needs endpointUrl or model/,
    );
  });
});
