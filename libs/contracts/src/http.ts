/**
 * Schemas of the public HTTP API bodies. The gateway validates with them and builds its OpenAPI document
 * from them, so the document cannot drift from what is enforced. Size limits are configuration and are
 * checked by the gateway after parsing.
 */
import { z } from 'zod';
import { HistoryMessageSchema, RatingSchema } from './records.js';

/** Longest per-conversation system prompt, in characters. */
export const MAX_SYSTEM_PROMPT_CHARS = 8_000;

/** An end user's id in the API client's own system: printable ASCII. */
export const ExternalUserIdSchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,256}$/, 'externalUserId must be 1 to 256 printable characters');

/** Up to 16 string pairs the API client attaches to a conversation. */
export const MetadataSchema = z
  .record(z.string().min(1).max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, 'metadata holds at most 16 keys');

export const CreateConversationBodySchema = z
  .object({
    externalUserId: ExternalUserIdSchema.optional().describe('The end user, for listing and per-user erasure.'),
    metadata: MetadataSchema.optional(),
    model: z.string().min(1).max(256).optional().describe('Model alias; the default alias when absent.'),
    systemPrompt: z
      .string()
      .max(MAX_SYSTEM_PROMPT_CHARS)
      .optional()
      .describe('Instructions for this conversation, sent after the deployment system prompt.'),
  })
  .strict();
export type CreateConversationBody = z.infer<typeof CreateConversationBodySchema>;

export const SendMessageBodySchema = z
  .object({ content: z.string().trim().min(1, 'content must not be empty').describe('The user message.') })
  .strict();
export type SendMessageBody = z.infer<typeof SendMessageBodySchema>;

export const ConversationSchema = z.object({
  id: z.string(),
  object: z.literal('conversation'),
  model: z.string(),
  createdAt: z.string(),
  systemPrompt: z.string().optional(),
  externalUserId: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});
export type Conversation = z.infer<typeof ConversationSchema>;

export const ConversationWithMessagesSchema = ConversationSchema.extend({ messages: z.array(HistoryMessageSchema) });
export type ConversationWithMessages = z.infer<typeof ConversationWithMessagesSchema>;

/** `POST /v1/widget/session`: a public widget key, and the visitor's current token to renew it. */
export const WidgetSessionBodySchema = z
  .object({
    key: z.string().min(1).max(160).describe('The public widget key (`pk_...`).'),
    visitorToken: z
      .string()
      .max(2048)
      .optional()
      .describe("The visitor's current, still valid token: the new one names the same visitor."),
  })
  .strict();
export type WidgetSessionBody = z.infer<typeof WidgetSessionBodySchema>;

export const WidgetSessionSchema = z.object({
  visitorToken: z.string().describe('Bearer token for this visitor: their own conversations and nothing else.'),
  visitorId: z.string(),
  expiresAt: z.string().describe('ISO time the token stops working.'),
  renewAfter: z.string().describe('ISO time after which the widget should renew the token.'),
});
export type WidgetSession = z.infer<typeof WidgetSessionSchema>;

export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), requestId: z.string().optional() }),
});

export const FeedbackBodySchema = z
  .object({
    rating: RatingSchema.describe('Thumbs up or down for the reply.'),
    reason: z.string().trim().min(1).max(1_000).optional().describe("Why, in the user's words."),
  })
  .strict();
export type FeedbackBody = z.infer<typeof FeedbackBodySchema>;

/** The stored rating, as `POST .../feedback` answers it. */
export const FeedbackSchema = z.object({ turnId: z.string(), rating: RatingSchema, reason: z.string().optional() });
export type Feedback = z.infer<typeof FeedbackSchema>;

export const ConversationListItemSchema = z.object({
  id: z.string(),
  object: z.literal('conversation'),
  model: z.string(),
  title: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  messageCount: z.number().int(),
  externalUserId: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});
export const ConversationListSchema = z.object({
  object: z.literal('list'),
  data: z.array(ConversationListItemSchema),
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type ConversationList = z.infer<typeof ConversationListSchema>;

export const UserErasureReceiptSchema = z.object({
  externalUserId: z.string(),
  conversations: z.number().int(),
  messages: z.number().int(),
  conversationIds: z.array(z.string()),
  erasedAt: z.string(),
});
export type UserErasureReceipt = z.infer<typeof UserErasureReceiptSchema>;
