/**
 * The guardrails file (`PARLEY_GUARDRAILS_FILE`, YAML): what the responder checks in a turn's input and output,
 * and what it does on a finding, per project and model alias. Layers apply in this order, each overriding the
 * fields it sets: the built-in defaults ({@link DEFAULT_GUARDRAIL_POLICY}), `default`, `models.<alias>`,
 * `projects.<project>`, `projects.<project>.models.<alias>`. A classifier, when configured, serves the
 * `moderation` check. docs/guardrails.md describes the format.
 *
 * ```yaml
 * default:
 *   pii: { input: redact, output: redact, kinds: [email, phone, card, iban] }
 *   injection: { action: flag }
 *   blockedMessage: "Sorry, I can't help with that. An agent can: write to help@shop.example."
 * projects:
 *   acme:
 *     injection: { action: block }
 *     models:
 *       support: { leak: { action: block, minChars: 40 } }
 * ```
 */
import { z } from 'zod';
import { parseYamlFile } from './yaml-file.js';

const NAME = /^[A-Za-z0-9._:/-]{1,128}$/;
const PROJECT = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** The kinds of personal data the `pii` check finds. */
export const PII_KINDS = ['email', 'phone', 'card', 'iban'] as const;
export type PiiKind = (typeof PII_KINDS)[number];

const piiAction = z.enum(['block', 'redact', 'flag', 'off']);
const flagOrBlock = (check: string) =>
  z.enum(['block', 'flag', 'off'], { message: `${check}: expected block, flag or off (there is nothing to redact)` });

/** One layer of a policy: every field optional, so that a layer sets only what it changes. */
const PolicyLayerSchema = z.strictObject({
  /** Personal data in the visitor's message (before the model and storage) and in the model's reply. */
  pii: z
    .strictObject({
      input: piiAction.optional(),
      output: piiAction.optional(),
      kinds: z.array(z.enum(PII_KINDS)).min(1).optional(),
    })
    .optional(),
  /** Prompt-injection and jailbreak patterns in the visitor's message. */
  injection: z.strictObject({ action: flagOrBlock('injection').optional() }).optional(),
  /** The reply repeating a span of the system prompt; `block` cuts the reply there. */
  leak: z
    .strictObject({
      action: flagOrBlock('leak').optional(),
      /** Characters (whitespace collapsed, case ignored) of the system prompt that count as a leak. */
      minChars: z.number().int().min(20).max(1_000).optional(),
    })
    .optional(),
  /**
   * The configured classifier on the visitor's message (`block` or `flag`) and on the finished reply (`flag`
   * only: the reply has been streamed by then).
   */
  moderation: z
    .strictObject({
      input: flagOrBlock('moderation.input').optional(),
      output: z.enum(['flag', 'off'], { message: 'moderation.output: expected flag or off' }).optional(),
    })
    .optional(),
  /** What the visitor sees instead of a blocked message or reply. */
  blockedMessage: z.string().min(1).max(2_000).optional(),
});
export type GuardrailPolicyLayer = z.infer<typeof PolicyLayerSchema>;

const ProjectSchema = PolicyLayerSchema.extend({
  models: z.record(z.string().regex(NAME, 'invalid model alias'), PolicyLayerSchema).optional(),
});

const httpUrl = z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' });

/** Defaults of the classifier, with units in the names. */
export const CLASSIFIER_DEFAULTS = { timeoutMs: 1_500, threshold: 0.5 } as const;

const ClassifierSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    /** An OpenAI-compatible `POST /v1/moderations`: the reply's `results[0].flagged` decides. */
    kind: z.literal('openai-moderation'),
    /** The moderations URL itself, e.g. `https://api.openai.com/v1/moderations`. */
    url: httpUrl,
    model: z.string().min(1).optional(),
    apiKeyEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name')
      .optional(),
    timeoutMs: z.number().int().positive().max(60_000).default(CLASSIFIER_DEFAULTS.timeoutMs),
    /** `allow`: a classifier that fails or is too slow lets the turn go on (fail open); `block`: it does not. */
    onError: z.enum(['allow', 'block']).default('allow'),
  }),
  z.strictObject({
    /** A Hugging Face text-classification model (`@huggingface/inference`): a listed label at `threshold` flags. */
    kind: z.literal('huggingface'),
    /** A dedicated Inference Endpoint or TGI server; without it, Inference Providers by `model`. */
    endpointUrl: httpUrl.optional(),
    model: z.string().min(1).optional(),
    apiKeyEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name')
      .optional(),
    /** The labels that count as a finding, e.g. `[INJECTION]` or `[toxic, obscene]`. */
    labels: z.array(z.string().min(1)).min(1),
    threshold: z.number().gt(0).max(1).default(CLASSIFIER_DEFAULTS.threshold),
    timeoutMs: z.number().int().positive().max(60_000).default(CLASSIFIER_DEFAULTS.timeoutMs),
    onError: z.enum(['allow', 'block']).default('allow'),
  }),
]);
export type ClassifierConfig = z.infer<typeof ClassifierSchema>;

const GuardrailsFileSchema = z
  .strictObject({
    default: PolicyLayerSchema.optional(),
    models: z.record(z.string().regex(NAME, 'invalid model alias'), PolicyLayerSchema).optional(),
    projects: z.record(z.string().regex(PROJECT, 'invalid project id'), ProjectSchema).optional(),
    classifier: ClassifierSchema.optional(),
  })
  .superRefine((file, ctx) => {
    if (file.classifier?.kind === 'huggingface' && !file.classifier.endpointUrl && !file.classifier.model) {
      ctx.addIssue({ code: 'custom', path: ['classifier', 'model'], message: 'needs endpointUrl or model' });
    }
    if (file.classifier) return;
    // A layer that turns moderation on needs a classifier to ask.
    const layers: [GuardrailPolicyLayer, (string | number)[]][] = [
      ...(file.default ? [[file.default, ['default']] as [GuardrailPolicyLayer, string[]]] : []),
      ...Object.entries(file.models ?? {}).map(([m, l]): [GuardrailPolicyLayer, string[]] => [l, ['models', m]]),
      ...Object.entries(file.projects ?? {}).flatMap(([p, project]) => [
        [project, ['projects', p]] as [GuardrailPolicyLayer, string[]],
        ...Object.entries(project.models ?? {}).map(([m, l]): [GuardrailPolicyLayer, string[]] => [
          l,
          ['projects', p, 'models', m],
        ]),
      ]),
    ];
    for (const [layer, path] of layers) {
      const { input = 'off', output = 'off' } = layer.moderation ?? {};
      if (input !== 'off' || output !== 'off') {
        ctx.addIssue({ code: 'custom', path: [...path, 'moderation'], message: 'needs a classifier in the file' });
      }
    }
  });
export type GuardrailsFile = z.infer<typeof GuardrailsFileSchema>;

/** The policy of one turn, every field decided. */
export interface GuardrailPolicy {
  pii: { input: z.infer<typeof piiAction>; output: z.infer<typeof piiAction>; kinds: PiiKind[] };
  injection: { action: 'block' | 'flag' | 'off' };
  leak: { action: 'block' | 'flag' | 'off'; minChars: number };
  moderation: { input: 'block' | 'flag' | 'off'; output: 'flag' | 'off' };
  blockedMessage: string;
}

/**
 * Without a file, or where it says nothing: card numbers and IBANs are redacted in the message and the reply (a
 * support chat never needs them in clear; emails and phone numbers often are how an order is found, so they
 * are left alone), injection patterns are flagged, and a reply repeating 50 characters of the system prompt
 * is cut.
 */
export const DEFAULT_GUARDRAIL_POLICY: Readonly<GuardrailPolicy> = Object.freeze({
  pii: { input: 'redact', output: 'redact', kinds: ['card', 'iban'] },
  injection: { action: 'flag' },
  leak: { action: 'block', minChars: 50 },
  moderation: { input: 'off', output: 'off' },
  blockedMessage: 'Sorry, I cannot help with that request.',
} satisfies GuardrailPolicy);

/**
 * The policy of a turn of `project` (none: an unaccounted turn) on model alias `model`, layer over layer.
 * @example resolveGuardrailPolicy(file, 'acme', 'support').pii.output // 'redact'
 */
export function resolveGuardrailPolicy(
  file: GuardrailsFile | undefined,
  project: string | undefined,
  model: string,
): GuardrailPolicy {
  const projectFile = project === undefined ? undefined : file?.projects?.[project];
  const layers = [file?.default, file?.models?.[model], projectFile, projectFile?.models?.[model]];
  let policy: GuardrailPolicy = DEFAULT_GUARDRAIL_POLICY;
  for (const layer of layers) {
    if (!layer) continue;
    policy = {
      pii: { ...policy.pii, ...layer.pii },
      injection: { ...policy.injection, ...layer.injection },
      leak: { ...policy.leak, ...layer.leak },
      moderation: { ...policy.moderation, ...layer.moderation },
      blockedMessage: layer.blockedMessage ?? policy.blockedMessage,
    };
  }
  return policy;
}

/** A guardrails file that cannot be used; the message names the source and, when it can, the line and field. */
export class GuardrailsFileError extends Error {
  override readonly name = 'GuardrailsFileError';
}

/**
 * Parses and validates a guardrails file; the error names the source, line and field.
 * @example parseGuardrailsFile(readFileSync(path, 'utf8'), path)
 */
export function parseGuardrailsFile(text: string, source: string): GuardrailsFile {
  return parseYamlFile(GuardrailsFileSchema, text, source, (message) => new GuardrailsFileError(message));
}
