import { Controller, Get, HttpCode, Inject, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import {
  CreateConversationBodySchema,
  SendMessageBodySchema,
  newId,
  type Conversation,
  type ConversationRecord,
  type ConversationWithMessages,
  type TurnStart,
} from '@parley/contracts';
import type { GatewayConfig } from '@parley/config';
import type { Request, Response } from 'express';
import { ApiKeyGuard, keyIdOf } from '../auth/auth.guard.js';
import { assertMessageSize, parseBody } from '../http/body.js';
import { toParleyError } from '../http/errors.js';
import { openEventStream, writeEvent } from '../http/sse.js';
import { incomingTraceparent } from '../http/trace.js';
import { ModelsService } from '../models/models.service.js';
import { Tokens } from '../tokens.js';
import { TurnClient } from '../turns/turn-client.service.js';
import { ConversationsService } from './conversations.service.js';

@Controller('v1/conversations')
@UseGuards(ApiKeyGuard)
export class ConversationsController {
  constructor(
    @Inject(Tokens.config) private readonly config: GatewayConfig,
    @Inject(ConversationsService) private readonly conversations: ConversationsService,
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(TurnClient) private readonly turns: TurnClient,
  ) {}

  @Post()
  @HttpCode(201)
  async create(@Req() req: Request): Promise<Conversation> {
    const body = parseBody(CreateConversationBodySchema, req.body ?? {});
    const model = body.model ? await this.models.assertExists(body.model) : await this.models.defaultModel();
    return toConversation(await this.conversations.create(keyIdOf(req), model));
  }

  @Get(':id')
  async get(@Req() req: Request, @Param('id') id: string): Promise<ConversationWithMessages> {
    const record = await this.conversations.get(id, keyIdOf(req));
    return { ...toConversation(record), messages: await this.conversations.messages(record.id) };
  }

  /** Sends a user message and streams the reply as SSE: `delta`, then one `done` or `error`; `id` = sequence. */
  @Post(':id/messages')
  async send(@Req() req: Request, @Res() res: Response, @Param('id') id: string): Promise<void> {
    const record = await this.conversations.get(id, keyIdOf(req));
    const body = parseBody(SendMessageBodySchema, req.body);
    assertMessageSize(body.content, this.config.PARLEY_MAX_MESSAGE_BYTES, 'content');
    const turn: TurnStart = {
      kind: 'conversation',
      turnId: newId('turn'),
      conversationId: record.id,
      userMessage: { id: newId('message'), content: body.content },
      model: record.model,
      params: {},
      includeUsage: true,
      limits: this.turns.limits(),
    };
    const running = await this.turns.start(turn, incomingTraceparent(req));
    // A client that leaves only stops reading: the turn completes and is stored (resumable, issue #3).
    res.on('close', () => running.close());
    res.setHeader('X-Parley-Turn-Id', turn.turnId);
    openEventStream(res);
    let lastSeq = 0;
    try {
      for await (const frame of running.frames) {
        lastSeq = frame.seq;
        if (frame.type === 'delta') {
          writeEvent(res, { event: 'delta', id: frame.seq, data: JSON.stringify({ text: frame.text }) });
        } else if (frame.type === 'done') {
          const { finishReason, messageId, model, usage } = frame;
          const data = { turnId: turn.turnId, messageId, finishReason, model, usage };
          writeEvent(res, { event: 'done', id: frame.seq, data: JSON.stringify(data) });
        } else {
          const data = { turnId: turn.turnId, error: frame.error };
          writeEvent(res, { event: 'error', id: frame.seq, data: JSON.stringify(data) });
        }
      }
    } catch (error) {
      const info = toParleyError(error).toInfo();
      writeEvent(res, { event: 'error', id: lastSeq + 1, data: JSON.stringify({ turnId: turn.turnId, error: info }) });
    } finally {
      res.end();
    }
  }
}

function toConversation(record: ConversationRecord): Conversation {
  return { id: record.id, object: 'conversation', model: record.model, createdAt: record.createdAt };
}
