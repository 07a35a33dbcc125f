import { Controller, Delete, Get, HttpCode, Inject, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import {
  CreateConversationBodySchema,
  ExternalUserIdSchema,
  FeedbackBodySchema,
  type Feedback,
  type FeedbackList,
  ParleyError,
  SendMessageBodySchema,
  type Conversation,
  type ConversationList,
  type ConversationRecord,
  type ConversationWithMessages,
} from '@parley/contracts';
import type { GatewayConfig } from '@parley/config';
import type { ErasureReceipt } from '@parley/messaging';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AllowVisitors, ApiKeyGuard, RequireScope } from '../auth/auth.guard.js';
import { assertModelAllowed, callerOf } from '../auth/caller.js';
import { assertMessageSize, parseBody } from '../http/body.js';
import { idempotencyKeyOf } from '../idempotency/idempotency.service.js';
import { ModelsService } from '../models/models.service.js';
import type { OpenStreams } from '../http/open-streams.js';
import type { LimitsService } from '../limits/limits.js';
import type { VisitorLimits } from '../rate-limits/visitor-limits.js';
import { Tokens } from '../tokens.js';
import { ConversationTurns } from './conversation-turns.service.js';
import { ConversationsService } from './conversations.service.js';
import { writeFrameEvents, writeStoredReply } from './frame-events.js';
import { FeedbackService } from '../feedback/feedback.service.js';

@Controller('v1/conversations')
@UseGuards(ApiKeyGuard)
@RequireScope('conversations')
export class ConversationsController {
  constructor(
    @Inject(Tokens.config) private readonly config: GatewayConfig,
    @Inject(ConversationsService) private readonly conversations: ConversationsService,
    @Inject(ConversationTurns) private readonly turns: ConversationTurns,
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(Tokens.visitorLimits) private readonly limits: VisitorLimits,
    @Inject(Tokens.limits) private readonly consumption: LimitsService,
    @Inject(Tokens.openStreams) private readonly streams: OpenStreams,
    @Inject(FeedbackService) private readonly feedbackService: FeedbackService,
  ) {}

  @Post()
  @HttpCode(201)
  @AllowVisitors()
  async create(@Req() req: Request): Promise<Conversation> {
    const caller = callerOf(req);
    const { visitor, address, keyId } = caller;
    const count = () => this.consumption.count(caller, 'conversations', this.config.PARLEY_CONVERSATIONS_PER_MINUTE);
    if (visitor) {
      // A visitor chooses nothing: no model, prompt or metadata of their own (the system prompt is the operator's).
      parseBody(VisitorCreateBodySchema, req.body ?? {});
      const model = await this.models.defaultModel();
      assertModelAllowed(caller, model);
      await count();
      await this.limits.message(visitor, address);
      const record = await this.conversations.create(visitor.keyId, model, {
        externalUserId: visitor.externalUserId,
        metadata: { channel: 'widget', origin: visitor.origin },
      });
      return toConversation(record);
    }
    const body = parseBody(CreateConversationBodySchema, req.body ?? {});
    const model = body.model ? await this.models.assertServes(body.model, 'chat') : await this.models.defaultModel();
    assertModelAllowed(caller, model);
    await count();
    const { systemPrompt, externalUserId, metadata } = body;
    return toConversation(await this.conversations.create(keyId, model, { systemPrompt, externalUserId, metadata }));
  }

  /** The caller's conversations, newest first; `?limit=` (1–100, default 20), `?cursor=`, `?externalUserId=`. */
  @Get()
  async list(@Req() req: Request): Promise<ConversationList> {
    const query = parseBody(ListQuerySchema, req.query);
    const { items, nextCursor } = await this.conversations.list(callerOf(req).keyId, query);
    return {
      object: 'list',
      data: items.map(({ id, model, title, createdAt, updatedAt, messageCount, externalUserId, metadata }) => ({
        id,
        object: 'conversation',
        model,
        ...(title ? { title } : {}),
        createdAt,
        updatedAt,
        messageCount,
        ...(externalUserId ? { externalUserId } : {}),
        ...(metadata ? { metadata } : {}),
      })),
      nextCursor,
    };
  }

  @Get(':id')
  @AllowVisitors()
  async get(@Req() req: Request, @Param('id') id: string): Promise<ConversationWithMessages> {
    const record = await this.conversations.get(id, callerOf(req));
    return { ...toConversation(record), messages: await this.conversations.messages(record.id) };
  }

  /** Erases the conversation and everything derived from it. */
  @Delete(':id')
  @AllowVisitors()
  async erase(@Req() req: Request, @Param('id') id: string): Promise<ErasureReceipt> {
    return this.conversations.erase(await this.conversations.get(id, callerOf(req)));
  }

  /**
   * Sends a user message and streams the reply as SSE. With `Idempotency-Key`, a retry re-attaches to the
   * turn the first request started instead of starting another.
   */
  @Post(':id/messages')
  @AllowVisitors()
  async send(@Req() req: Request, @Res() res: Response, @Param('id') id: string): Promise<void> {
    const caller = callerOf(req);
    const record = await this.conversations.get(id, caller);
    const body = parseBody(SendMessageBodySchema, req.body);
    assertMessageSize(body.content, this.config.PARLEY_MAX_MESSAGE_BYTES, 'content');
    const turn = await this.turns.send(caller, record, body, idempotencyKeyOf(req));
    if (turn.replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.set(turn.headers);
    // A client that leaves only stops reading: the turn completes, is stored, and can be resumed.
    res.on('close', () => turn.close());
    await writeFrameEvents(res, turn, this.streams);
  }

  /**
   * Resumes a turn's events from any gateway: every frame after `Last-Event-ID` (or `?after=`), exactly once,
   * in order; after the frames expired, the stored reply.
   */
  @Get(':id/turns/:turnId/events')
  @AllowVisitors()
  async events(
    @Req() req: Request,
    @Res() res: Response,
    @Param('id') id: string,
    @Param('turnId') turnId: string,
  ): Promise<void> {
    const caller = callerOf(req);
    const record = await this.conversations.get(id, caller);
    await this.consumption.count(caller, 'resumes', this.config.PARLEY_RESUMES_PER_MINUTE);
    const afterSeq = lastEventId(req);
    const resumed = await this.turns.resume(record, turnId, afterSeq);
    if ('stored' in resumed) return writeStoredReply(res, turnId, resumed.stored);
    res.on('close', () => resumed.close());
    await writeFrameEvents(res, { ...resumed, afterSeq }, this.streams);
  }

  /** Stops a turn: the upstream request is aborted, the partial reply is stored, the stream ends `cancelled`. */
  @Post(':id/turns/:turnId/cancel')
  @AllowVisitors()
  @HttpCode(202)
  async cancel(
    @Req() req: Request,
    @Param('id') id: string,
    @Param('turnId') turnId: string,
  ): Promise<{ turnId: string; status: 'cancelling' }> {
    await this.turns.cancel(await this.conversations.get(id, callerOf(req)), turnId);
    return { turnId, status: 'cancelling' };
  }

  /** Rates a reply (`up` or `down`, with an optional reason); a new rating replaces the earlier one. */
  @Post(':id/turns/:turnId/feedback')
  @AllowVisitors()
  @HttpCode(200)
  async feedback(@Req() req: Request, @Param('id') id: string, @Param('turnId') turnId: string): Promise<Feedback> {
    const caller = callerOf(req);
    const record = await this.conversations.get(id, caller);
    const body = parseBody(FeedbackBodySchema, req.body);
    const { rating, reason } = await this.feedbackService.rate(record, caller.project, turnId, body);
    return { turnId, rating, ...(reason ? { reason } : {}) };
  }

  /** The ratings of the conversation's replies, each with the reply's arm and serving target. */
  @Get(':id/feedback')
  @AllowVisitors()
  async listFeedback(@Req() req: Request, @Param('id') id: string): Promise<FeedbackList> {
    const record = await this.conversations.get(id, callerOf(req));
    return { object: 'list', data: await this.feedbackService.forConversation(record) };
  }
}

function lastEventId(req: Request): number {
  const raw = req.headers['last-event-id'] ?? req.query.after;
  if (raw === undefined) return 0;
  const value = Number(raw);
  if (typeof raw !== 'string' || !/^\d{1,9}$/.test(raw) || !Number.isSafeInteger(value)) {
    throw new ParleyError('invalid_request', 'Last-Event-ID (or after) must be a frame sequence number', {
      param: 'Last-Event-ID',
    });
  }
  return value;
}

const VisitorCreateBodySchema = z.object({}).strict();

const ListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(512).optional(),
    externalUserId: ExternalUserIdSchema.optional(),
  })
  .strict();

function toConversation(record: ConversationRecord): Conversation {
  const { id, model, createdAt, systemPrompt, externalUserId, metadata } = record;
  return {
    id,
    object: 'conversation',
    model,
    createdAt,
    ...(systemPrompt ? { systemPrompt } : {}),
    ...(externalUserId ? { externalUserId } : {}),
    ...(metadata ? { metadata } : {}),
  };
}
