/**
 * The routing file (`PARLEY_MODELS_FILE`, YAML): model aliases clients ask for → weighted targets (A/B splits,
 * sticky per conversation) and ordered fallbacks. Targets name the *environment variable* holding their key,
 * never the key. Errors name the line and the field. Inference routes by it; deploy-check reads it to compare
 * the targets with the manifests.
 *
 * ```yaml
 * targets:
 *   llama-a: { provider: openai-compatible, baseUrl: http://vllm-a:8000/v1, model: meta-llama/Llama-3.1-8B-Instruct }
 *   llama-b: { provider: openai-compatible, baseUrl: http://vllm-b:8000/v1, model: meta-llama/Llama-3.1-8B-Instruct }
 *   openai:  { provider: openai-compatible, baseUrl: https://api.openai.com/v1, model: gpt-4o-mini, apiKeyEnv: OPENAI_API_KEY }
 *   sorry:   { provider: static, reply: "Our assistant is unavailable right now; an agent will get back to you." }
 * models:
 *   support:
 *     split: [{ target: llama-a, weight: 90 }, { target: llama-b, weight: 10 }]
 *     fallbacks: [openai, sorry]
 *     maxTokens: { default: 512, max: 2048 }
 *   embed:
 *     kind: embedding
 *     split: [{ target: e5-a }]
 * ```
 *
 * (with a target `e5-a` serving an embedding model). An alias's `kind` says which route it serves; splits and
 * fallbacks of an embedding alias should serve the same model, since vectors of two models cannot be compared.
 */
import { z } from 'zod';
import { parseYamlFile } from './yaml-file.js';

const NAME = /^[A-Za-z0-9._:/-]{1,128}$/;

/** The header carrying the conversation id to the upstream unless a target names another (`sessionHeader`). */
export const DEFAULT_SESSION_HEADER = 'x-parley-conversation-id';

/** Limits and resilience of a networked target (defaults: apps/inference/src/routing/target-guard.ts). */
const guardFields = {
  /** From request to first token; a stalled target is then retried or skipped. */
  firstTokenTimeoutMs: z.number().int().positive().optional(),
  maxConcurrency: z.number().int().positive().optional(),
  maxQueue: z.number().int().nonnegative().optional(),
  retries: z.number().int().nonnegative().max(10).optional(),
  breaker: z
    .object({
      failureRatio: z.number().gt(0).lt(1).optional(),
      window: z.number().int().positive().optional(),
      minimumCalls: z.number().int().positive().optional(),
      cooldownMs: z.number().int().positive().optional(),
    })
    .strict()
    .optional(),
  apiKeyEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name')
    .optional(),
  /**
   * Header carrying the conversation id (session affinity in vLLM production-stack's router, whose
   * `--session-key` it must equal); DEFAULT_SESSION_HEADER when unset.
   */
  sessionHeader: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/, 'expected a header name')
    .optional(),
};

/**
 * What every target may say of the request's parameters: `dropParams` names parameters (contract names, e.g.
 * `logit_bias`, `user`; inference checks them) left out of the upstream request on purpose, which the response
 * reports in `x-parley-dropped-params`.
 */
const paramFields = {
  dropParams: z
    .array(z.string().regex(/^[a-z_]{1,64}$/, 'expected a parameter name'))
    .max(32)
    .optional(),
};

/**
 * What a target's tokens cost, in US dollars per million tokens: `input` (prompt), `output` (completion) and
 * `cached` (prompt tokens served from the upstream's cache; unset: priced as input). Cost in usage records,
 * metrics and reports comes from it; a target without one costs nothing there.
 */
const PriceSchema = z
  .object({
    input: z.number().nonnegative(),
    output: z.number().nonnegative(),
    cached: z.number().nonnegative().optional(),
  })
  .strict();
export type TargetPrice = z.infer<typeof PriceSchema>;
const priceFields = { price: PriceSchema.optional() };

const httpUrl = z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' });

const TargetSchema = z.discriminatedUnion('provider', [
  z
    .object({
      provider: z.literal('openai-compatible'),
      baseUrl: httpUrl,
      model: z.string().min(1),
      /** Connect and response-header timeout. */
      timeoutMs: z.number().int().positive().optional(),
      /** `http` (our lean client) or `sdk` (the `openai` SDK); unset: `sdk` for api.openai.com, else `http`. */
      transport: z.enum(['http', 'sdk']).optional(),
      /**
       * The field the length limit is sent in; unset: `max_completion_tokens` for OpenAI's reasoning models
       * (o1, o3, o4, gpt-5 names), `max_tokens` for every other model.
       */
      maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']).optional(),
      ...guardFields,
      ...paramFields,
      ...priceFields,
    })
    .strict(),
  z
    .object({
      provider: z.literal('huggingface'),
      model: z.string().min(1),
      /** A dedicated Inference Endpoint or TGI server; without it, Inference Providers route by model id. */
      endpointUrl: httpUrl.optional(),
      /** Inference Provider (`auto`, `together`, `groq`, …) when there is no endpointUrl. */
      hfProvider: z.string().min(1).optional(),
      ...guardFields,
      ...paramFields,
      ...priceFields,
    })
    .strict(),
  z.object({ provider: z.literal('static'), reply: z.string().min(1).max(4_000), ...paramFields }).strict(),
]);
/** One target of a routing file, told apart by its `provider`. */
export type TargetConfig = z.infer<typeof TargetSchema>;

const ModelSchema = z
  .object({
    /** What the alias serves: chat completions (the default) or embeddings (`/v1/embeddings`). */
    kind: z.enum(['chat', 'embedding']).default('chat'),
    split: z
      .array(z.object({ target: z.string(), weight: z.number().positive().default(1) }).strict())
      .min(1, 'a model needs at least one target'),
    fallbacks: z.array(z.string()).default([]),
    /**
     * Completion tokens a request gets when it names none (`default`), and the most it may ask for (`max`; more
     * is refused with 400). Unset: inference's PARLEY_DEFAULT_MAX_TOKENS and PARLEY_MAX_TOKENS_LIMIT.
     */
    maxTokens: z
      .object({ default: z.number().int().positive().optional(), max: z.number().int().positive().optional() })
      .strict()
      .optional(),
    /**
     * Shadow traffic: a `share` of conversation turns is also sent to the candidate `target`, whose reply is stored
     * for comparison and never streamed. Its own budget: at most `maxConcurrent` shadow calls at once and
     * `perMinute` started per minute (per inference replica); turns over it are not shadowed.
     */
    shadow: z
      .object({
        target: z.string(),
        share: z.number().gt(0).max(1),
        maxConcurrent: z.number().int().positive().max(1_000).default(2),
        perMinute: z.number().int().positive().max(100_000).default(60),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((m) => !m.maxTokens?.default || !m.maxTokens.max || m.maxTokens.default <= m.maxTokens.max, {
    path: ['maxTokens', 'default'],
    message: 'must not be more than maxTokens.max',
  })
  .refine((m) => m.kind === 'chat' || m.maxTokens === undefined, {
    path: ['maxTokens'],
    message: 'an embedding model generates no tokens; remove maxTokens',
  })
  .refine((m) => m.kind === 'chat' || m.shadow === undefined, {
    path: ['shadow'],
    message: 'only a chat model can have shadow traffic',
  });

/** A routing file: targets by name, and model aliases whose splits and fallbacks name only existing targets. */
const RoutingFileSchema = z
  .object({
    targets: z.record(z.string().regex(NAME, 'invalid target name'), TargetSchema),
    models: z.record(z.string().regex(NAME, 'invalid model alias'), ModelSchema),
  })
  .strict()
  .superRefine((file, ctx) => {
    for (const [alias, model] of Object.entries(file.models)) {
      const refs: [string, (string | number)[]][] = [
        ...model.split.map((s, i): [string, (string | number)[]] => [
          s.target,
          ['models', alias, 'split', i, 'target'],
        ]),
        ...model.fallbacks.map((t, i): [string, (string | number)[]] => [t, ['models', alias, 'fallbacks', i]]),
      ];
      const shadow = model.shadow?.target;
      if (shadow !== undefined) {
        const path = ['models', alias, 'shadow', 'target'];
        if (!Object.hasOwn(file.targets, shadow))
          ctx.addIssue({ code: 'custom', path, message: `no target "${shadow}"` });
        else if (file.targets[shadow]!.provider === 'static') {
          ctx.addIssue({ code: 'custom', path, message: `target "${shadow}" is a static reply: nothing to compare` });
        }
      }
      for (const [name, path] of refs) {
        if (!Object.hasOwn(file.targets, name)) ctx.addIssue({ code: 'custom', path, message: `no target "${name}"` });
        else if (model.kind === 'embedding' && file.targets[name]!.provider === 'static') {
          ctx.addIssue({
            code: 'custom',
            path,
            message: `target "${name}" is a static reply and serves no embeddings`,
          });
        }
      }
    }
    if (Object.keys(file.models).length === 0) ctx.addIssue({ code: 'custom', path: ['models'], message: 'no models' });
  });
export type RoutingFile = z.infer<typeof RoutingFileSchema>;

/** A routing file that cannot be used; the message names the source and, when it can, the line and field. */
export class RoutingFileError extends Error {
  override readonly name = 'RoutingFileError';
}

/**
 * Parses and validates a routing file; the error names the source, line and field.
 * @example parseRoutingFile(readFileSync(path, 'utf8'), path)
 */
export function parseRoutingFile(text: string, source: string): RoutingFile {
  return parseYamlFile(RoutingFileSchema, text, source, (message) => new RoutingFileError(message));
}
