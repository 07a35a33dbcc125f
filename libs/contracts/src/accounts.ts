/**
 * Projects (tenants), their API keys, and what a turn consumed. Projects and keys live in the `accounts`
 * key-value bucket, shared by every gateway replica; a key is stored only as the SHA-256 digest of its secret.
 * Usage records are the durable account of consumption (the usage stream): budgets are rebuilt from them.
 */
import { z } from 'zod';
import { AccountSchema, IdSchema, UsageSchema } from './messages.js';
import { servedFields } from './quality.js';

/** What a key may do. `chat`: `/v1/chat/completions`; `conversations`: the conversation routes; `erase`: erasure by user; `admin`: `/v1/admin`. */
export const ScopeSchema = z.enum(['chat', 'conversations', 'erase', 'admin']);
export type Scope = z.infer<typeof ScopeSchema>;
export const ALL_SCOPES: readonly Scope[] = ScopeSchema.options;

/** A project's id: lower-case letters, digits, `_` and `-`, as it appears in NATS subjects and metric labels. */
export const ProjectIdSchema = AccountSchema.shape.project;

/** A key's id (`key_` and 16 hex digits): what conversations, logs and usage name a key by, never its secret. */
export const KeyIdSchema = z.string().regex(/^key_[0-9a-f]{16}$/, 'key_ and 16 hex digits');

const count = z.number().int().positive();

/**
 * Consumption limits. Tokens are prompt plus completion; a turn reserves its estimated prompt plus its
 * `max_tokens` before it starts and settles on the real usage when it ends.
 */
export const LimitsSchema = z.strictObject({
  requestsPerMinute: count.optional(),
  tokensPerMinute: count.optional(),
  concurrentStreams: count.optional(),
  tokensPerDay: count.optional(),
  tokensPerMonth: count.optional(),
});
export type Limits = z.infer<typeof LimitsSchema>;

const ModelsSchema = z.array(z.string().min(1).max(256)).max(100);

/** The project record (bucket `accounts`, key `project.<id>`). */
export const ProjectRecordSchema = z.object({
  id: ProjectIdSchema,
  name: z.string().min(1).max(200),
  /** Placed before every conversation's own system prompt in this project. */
  systemPrompt: z.string().max(32_000).optional(),
  /** Model aliases the project may use; every model when unset. */
  models: ModelsSchema.optional(),
  limits: LimitsSchema.optional(),
  /** Whether `logprobs`, `top_logprobs` and `logit_bias` are passed on (they help extract a model). */
  allowLogprobs: z.boolean().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ProjectRecord = z.infer<typeof ProjectRecordSchema>;

/** A secret a key accepts: its digest, and until when when it is being rotated out. */
const SecretSchema = z.object({ digest: z.string().regex(/^[0-9a-f]{64}$/), validUntil: z.string().optional() });

/** The key record (bucket `accounts`, key `key.<id>`). */
export const KeyRecordSchema = z.object({
  id: KeyIdSchema,
  project: ProjectIdSchema,
  name: z.string().min(1).max(200),
  scopes: z.array(ScopeSchema).min(1),
  models: ModelsSchema.optional(),
  limits: LimitsSchema.optional(),
  expiresAt: z.string().optional(),
  revokedAt: z.string().optional(),
  /** The current secret first; a rotated-out one until its grace period ends. */
  secrets: z.array(SecretSchema).min(1),
  /** The secret's last four characters, to tell keys apart in a listing. */
  hint: z.string().max(8),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type KeyRecord = z.infer<typeof KeyRecordSchema>;

const isoDate = z.iso.datetime({ offset: true });

export const CreateProjectBodySchema = z.strictObject({
  id: ProjectIdSchema,
  name: z.string().min(1).max(200).optional(),
  systemPrompt: ProjectRecordSchema.shape.systemPrompt,
  models: ModelsSchema.optional(),
  limits: LimitsSchema.optional(),
  allowLogprobs: z.boolean().optional(),
});
export type CreateProjectBody = z.infer<typeof CreateProjectBodySchema>;

/** A field set to `null` is removed. */
export const PatchProjectBodySchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  systemPrompt: ProjectRecordSchema.shape.systemPrompt.unwrap().nullable().optional(),
  models: ModelsSchema.nullable().optional(),
  limits: LimitsSchema.nullable().optional(),
  allowLogprobs: z.boolean().nullable().optional(),
});
export type PatchProjectBody = z.infer<typeof PatchProjectBodySchema>;

export const CreateKeyBodySchema = z.strictObject({
  project: ProjectIdSchema,
  name: z.string().min(1).max(200),
  scopes: z.array(ScopeSchema).min(1),
  models: ModelsSchema.optional(),
  limits: LimitsSchema.optional(),
  expiresAt: isoDate.optional(),
});
export type CreateKeyBody = z.infer<typeof CreateKeyBodySchema>;

/** A field set to `null` is removed. */
export const PatchKeyBodySchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  scopes: z.array(ScopeSchema).min(1).optional(),
  models: ModelsSchema.nullable().optional(),
  limits: LimitsSchema.nullable().optional(),
  expiresAt: isoDate.nullable().optional(),
});
export type PatchKeyBody = z.infer<typeof PatchKeyBodySchema>;

export const RotateKeyBodySchema = z.strictObject({
  /** How long the old secret keeps working beside the new one (0: it stops at once). */
  gracePeriodSeconds: z
    .number()
    .int()
    .min(0)
    .max(30 * 24 * 3600)
    .default(3600),
});
export type RotateKeyBody = z.infer<typeof RotateKeyBodySchema>;

/** A key as the admin API shows it: everything but its secrets. */
export const KeyViewSchema = KeyRecordSchema.omit({ secrets: true }).extend({
  object: z.literal('api_key'),
  /** From PARLEY_API_KEYS or PARLEY_ADMIN_API_KEYS: changed only by changing the configuration. */
  configured: z.boolean(),
  /** When a rotated-out secret stops working. */
  previousSecretValidUntil: z.string().optional(),
});
export type KeyView = z.infer<typeof KeyViewSchema>;

/** What key creation and rotation answer: the secret, shown this once. */
export const KeyCreatedSchema = KeyViewSchema.extend({ key: z.string() });
export type KeyCreated = z.infer<typeof KeyCreatedSchema>;

export const ProjectViewSchema = ProjectRecordSchema.extend({ object: z.literal('project') });
export type ProjectView = z.infer<typeof ProjectViewSchema>;

export const TurnOutcomeSchema = z.enum(['done', 'cancelled', 'error']);

/** What one turn consumed (usage stream, subject `parley.usage.v1.<project>`), written by the responder as the turn ends. */
export const UsageRecordSchema = z.object({
  turnId: IdSchema,
  account: AccountSchema,
  model: z.string(),
  usage: UsageSchema,
  /** The upstream did not report usage (a failed or cancelled turn): counted from the text, pessimistically. */
  estimated: z.boolean(),
  outcome: TurnOutcomeSchema,
  at: z.string(),
  /** The turn's arm, and the target and upstream model that served it (unset when none did). */
  ...servedFields,
  /** The conversation of a conversation turn (experiment reports count conversations per arm). */
  conversationId: IdSchema.optional(),
  /** Cost by the serving target's price table, in US dollars (unset: no price, or no usage reported). */
  costUsd: z.number().nonnegative().optional(),
  /** From the turn's start at the responder to the model's first token (unset: none came). */
  firstTokenMs: z.number().nonnegative().optional(),
  /** Characters of the reply the client got. */
  replyChars: z.number().int().nonnegative().optional(),
  /** Of a failed turn: its error code. */
  errorCode: z.string().optional(),
  /** The user message's sentiment label from the configured classifier (lower case), when it answered in time. */
  sentiment: z.string().max(64).optional(),
});
export type UsageRecord = z.infer<typeof UsageRecordSchema>;

export const UsageQuerySchema = z.strictObject({
  project: ProjectIdSchema.optional(),
  key: KeyIdSchema.optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
  /** `target`: the target that served (`none` for turns none did); `arm`: the arm assigned. */
  groupBy: z.enum(['day', 'model', 'key', 'project', 'target', 'arm']).default('day'),
});
export type UsageQuery = z.infer<typeof UsageQuerySchema>;

export const UsageReportSchema = z.object({
  object: z.literal('usage'),
  from: z.string(),
  to: z.string(),
  groupBy: UsageQuerySchema.shape.groupBy.unwrap(),
  data: z.array(
    z.object({
      group: z.string(),
      requests: z.number().int().nonnegative(),
      prompt_tokens: z.number().int().nonnegative(),
      completion_tokens: z.number().int().nonnegative(),
      total_tokens: z.number().int().nonnegative(),
      /** US dollars by the serving targets' price tables (0 for targets without one). */
      cost_usd: z.number().nonnegative(),
    }),
  ),
});
export type UsageReport = z.infer<typeof UsageReportSchema>;
