import { Controller, Delete, Get, HttpCode, Inject, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import {
  CreateConversationBodySchema,
  ExternalUserIdSchema,
  FeedbackBodySchema,
  ParleyError,
  SendMessageBodySchema,
  Streams,
  newId,
  turnCancelSubject,
  turnFramesSubject,
  type Cancel,
  type Conversation,
  type ConversationList,
  type ConversationRecord,
  type ConversationWithMessages,
  type TurnStart,
} from '@parley/contracts';
import type { GatewayConfig } from '@parley/config';
import {
  countSubject,
  encode,
  replayFrames,
  type ErasureReceipt,
  type JetStreamHandles,
  type NatsHandle,
} from '@parley/messaging';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AllowVisitors, ApiKeyGuard, callerOf, keyIdOf } from '../auth/auth.guard.js';
import { clientAddress, type VisitorLimits } from '../widget/visitor-limits.js';
import { assertMessageSize, parseBody } from '../http/body.js';
import { ModelsService } from '../models/models.service.js';
import { Tokens } from '../tokens.js';
import { TurnClient } from '../turns/turn-client.service.js';
import { ConversationsService } from './conversations.service.js';
import { writeFrameEvents, writeStoredReply } from './frame-events.js';

/** `Idempotency-Key`: printable ASCII, as Stripe and the IETF draft use it. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** A resuming reader waits a little longer than the responder's own timeouts (see TurnClient). */
const REPLAY_MARGIN_MS = 1_000;

@Controller('v1/conversations')
@UseGuards(ApiKeyGuard)
export class ConversationsController {
  constructor(
    @Inject(Tokens.config) private readonly config: GatewayConfig,
    @Inject(Tokens.jetstream) private readonly jetstream: JetStreamHandles,
    @Inject(Tokens.nats) private readonly nats: NatsHandle,
    @Inject(ConversationsService) private readonly conversations: ConversationsService,
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(TurnClient) private readonly turns: TurnClient,
    @Inject(Tokens.visitorLimits) private readonly limits: VisitorLimits,
  ) {}

  @Post()
  @HttpCode(201)
  @AllowVisitors()
  async create(@Req() req: Request): Promise<Conversation> {
    const { visitor } = callerOf(req);
    if (visitor) {
      // A visitor chooses nothing: no model, prompt or metadata of their own (the system prompt is the operator's).
      parseBody(VisitorCreateBodySchema, req.body ?? {});
      await this.limits.message(visitor, clientAddress(req));
      const record = await this.conversations.create(visitor.keyId, await this.models.defaultModel(), {
        externalUserId: visitor.externalUserId,
        metadata: { channel: 'widget', origin: visitor.origin },
      });
      return toConversation(record);
    }
    const body = parseBody(CreateConversationBodySchema, req.body ?? {});
    const model = body.model ? await this.models.assertExists(body.model) : await this.models.defaultModel();
    const { systemPrompt, externalUserId, metadata } = body;
    return toConversation(
      await this.conversations.create(keyIdOf(req), model, { systemPrompt, externalUserId, metadata }),
    );
  }

  /** The caller's conversations, newest first; `?limit=` (1–100, default 20), `?cursor=`, `?externalUserId=`. */
  @Get()
  async list(@Req() req: Request): Promise<ConversationList> {
    const query = parseBody(ListQuerySchema, req.query);
    const { items, nextCursor } = await this.conversations.list(keyIdOf(req), query);
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
    const ownerKeyId = caller.keyId;
    const record = await this.conversations.get(id, caller);
    const body = parseBody(SendMessageBodySchema, req.body);
    assertMessageSize(body.content, this.config.PARLEY_MAX_MESSAGE_BYTES, 'content');
    const idempotencyKey = req.headers['idempotency-key'];
    if (idempotencyKey !== undefined && (typeof idempotencyKey !== 'string' || !IDEMPOTENCY_KEY.test(idempotencyKey))) {
      throw new ParleyError('invalid_request', 'Idempotency-Key must be 1 to 255 printable characters', {
        param: 'Idempotency-Key',
      });
    }
    const turnId = newId('turn');
    let claimKey: string | undefined;
    if (idempotencyKey) {
      const claim = await this.conversations.claimIdempotencyKey({
        conversationId: record.id,
        ownerKeyId,
        key: idempotencyKey,
        body,
        turnId,
      });
      if (claim.existing) {
        res.setHeader('Idempotent-Replayed', 'true');
        return writeFrameEvents(res, { turnId: claim.existing.turnId, frames: this.replay(claim.existing.turnId, 0) });
      }
      claimKey = claim.kvKey;
    }
    // A public widget key is in every page: a visitor's new messages are rate limited, before the turn starts
    // (a replay above is not a new message). A refused one leaves nothing behind, not even its key's claim.
    if (caller.visitor) {
      try {
        await this.limits.message(caller.visitor, clientAddress(req));
      } catch (error) {
        if (claimKey) await this.conversations.releaseIdempotencyKey(claimKey);
        throw error;
      }
    }
    const turn: TurnStart = {
      kind: 'conversation',
      turnId,
      conversationId: record.id,
      userMessage: { id: newId('message'), content: body.content },
      model: record.model,
      systemPrompt: record.systemPrompt,
      params: {},
      includeUsage: true,
      limits: this.turns.limits(),
    };
    let running;
    try {
      running = await this.turns.start(turn);
    } catch (error) {
      // Nothing was stored: a retry with the same key must be free to try again.
      if (claimKey) await this.conversations.releaseIdempotencyKey(claimKey);
      throw error;
    }
    await this.conversations.recordTurn({
      turnId,
      conversationId: record.id,
      ownerKeyId,
      createdAt: new Date().toISOString(),
    });
    // A client that leaves only stops reading: the turn completes, is stored, and can be resumed.
    res.on('close', () => running.close());
    await writeFrameEvents(res, { turnId, frames: running.frames });
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
    const record = await this.conversations.get(id, callerOf(req));
    await this.conversations.assertTurn(record, turnId);
    const afterSeq = lastEventId(req);
    const stored = await countSubject(this.jetstream.jsm, Streams.frames.name, turnFramesSubject(turnId));
    if (stored === 0) {
      const reply = (await this.conversations.messages(record.id)).find(
        (m) => m.turnId === turnId && m.role === 'assistant',
      );
      if (reply) return writeStoredReply(res, turnId, reply);
    }
    const frames = this.replay(turnId, afterSeq);
    res.on('close', () => void frames.return(undefined));
    await writeFrameEvents(res, { turnId, frames, afterSeq });
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
    const record = await this.conversations.get(id, callerOf(req));
    await this.conversations.assertTurn(record, turnId);
    this.nats.nc.publish(turnCancelSubject(turnId), encode({ reason: 'user' } satisfies Cancel));
    return { turnId, status: 'cancelling' };
  }

  /** Rates a reply (`up` or `down`, with an optional reason); a new rating replaces the earlier one. */
  @Post(':id/turns/:turnId/feedback')
  @AllowVisitors()
  @HttpCode(200)
  async feedback(
    @Req() req: Request,
    @Param('id') id: string,
    @Param('turnId') turnId: string,
  ): Promise<{ turnId: string; rating: string; reason?: string }> {
    const record = await this.conversations.get(id, callerOf(req));
    const body = parseBody(FeedbackBodySchema, req.body);
    const { rating, reason } = await this.conversations.rate(record, turnId, body);
    return { turnId, rating, ...(reason ? { reason } : {}) };
  }

  private replay(turnId: string, afterSeq: number) {
    const limits = this.turns.limits();
    return replayFrames(this.jetstream.js, {
      turnId,
      afterSeq,
      firstItemTimeoutMs: limits.firstTokenTimeoutMs + REPLAY_MARGIN_MS,
      idleTimeoutMs: limits.interTokenTimeoutMs + REPLAY_MARGIN_MS,
      totalTimeoutMs: limits.turnTimeoutMs + REPLAY_MARGIN_MS,
      silenceCode: 'responder_lost',
    });
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
