import { Controller, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ParleyError, newId, servedHeaders, type Frame } from '@parley/contracts';
import type { GatewayConfig } from '@parley/config';
import type { Request, Response } from 'express';
import { ApiKeyGuard, RequireScope } from '../auth/auth.guard.js';
import { callerOf } from '../auth/caller.js';
import { assertMessageSize } from '../http/body.js';
import { toParleyError } from '../http/errors.js';
import type { OpenStreams } from '../http/open-streams.js';
import { openEventStream, writeEvent } from '../http/sse.js';
import { ModelsService } from '../models/models.service.js';
import { Tokens } from '../tokens.js';
import type { RunningTurn } from '../turns/turn-client.service.js';
import { TurnGate } from '../turns/turn-gate.service.js';
import {
  ChunkWriter,
  CompletionBuilder,
  messageText,
  parseChatCompletionBody,
  streamError,
  toModelMessages,
  toParams,
} from './openai-format.js';

/** The response header naming the parameters the serving target dropped on purpose (its `dropParams`). */
export const DROPPED_PARAMS_HEADER = 'x-parley-dropped-params';

/** `POST /v1/chat/completions`: OpenAI-compatible and stateless; a client that leaves cancels the turn. */
@Controller('v1/chat/completions')
@UseGuards(ApiKeyGuard)
@RequireScope('chat')
export class ChatCompletionsController {
  constructor(
    @Inject(Tokens.config) private readonly config: GatewayConfig,
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(TurnGate) private readonly gate: TurnGate,
    @Inject(Tokens.openStreams) private readonly streams: OpenStreams,
  ) {}

  @Post()
  @HttpCode(200)
  async create(@Req() req: Request, @Res() res: Response): Promise<void> {
    const caller = callerOf(req);
    const body = parseChatCompletionBody(req.body, { allowLogprobs: caller.allowLogprobs === true });
    body.messages.forEach((m, i) =>
      assertMessageSize(messageText(m), this.config.PARLEY_MAX_MESSAGE_BYTES, `messages.${i}.content`),
    );
    const model = await this.models.assertServes(body.model, 'chat');
    // A whole completion always reports usage; a stream only when asked (as OpenAI does).
    const includeUsage = body.stream ? body.stream_options?.include_usage === true : true;
    const turnId = newId('turn');
    const { running, headers } = await this.gate.open(caller, {
      kind: 'stateless',
      turnId,
      model,
      params: toParams(body),
      includeUsage,
      messages: toModelMessages(body),
    });
    res.set(headers);
    // The arm is known now; what served (a fallback, on failover) only with the reply (headers of a whole
    // completion, the `parley` field of the finishing chunk).
    res.set(servedHeaders({ arm: running.accepted.arm }));
    const dropped = running.accepted.droppedParams;
    if (dropped?.length) res.setHeader(DROPPED_PARAMS_HEADER, dropped.join(','));
    // The client may have left while the turn was being accepted; then 'close' has already fired.
    if (res.closed) running.cancel('client_closed');
    res.on('close', () => {
      if (!res.writableFinished) running.cancel('client_closed');
    });
    const id = `chatcmpl-${turnId}`;
    if (body.stream) await this.stream(res, running, new ChunkWriter(id, model, includeUsage));
    else await this.collect(res, running, id, model);
  }

  /**
   * The response starts with the first frame: a turn that fails before its first token (upstream 429, 5xx,
   * a timeout) is an HTTP error with its status and `Retry-After`, as OpenAI answers, which SDKs retry.
   */
  private async stream(res: Response, running: RunningTurn, writer: ChunkWriter): Promise<void> {
    const frames = running.items[Symbol.asyncIterator]();
    const first = await frames.next();
    if (first.done) return void res.end();
    if (first.value.type === 'error') throw ParleyError.fromInfo(first.value.error);
    openEventStream(res);
    let ended = false;
    const endWith = (error: unknown) => {
      if (ended) return;
      ended = true;
      writeEvent(res, { data: streamError(toParleyError(error)) });
    };
    // A stopping gateway ends the stream; nothing could resume a stateless turn, so it is cancelled too.
    const untrack = this.streams.track((error) => {
      endWith(error);
      running.cancel('shutdown');
      res.end();
    });
    try {
      for (let next: IteratorResult<Frame> = first; !next.done && !ended; next = await frames.next()) {
        this.write(res, writer, next.value);
      }
    } catch (error) {
      endWith(error);
    } finally {
      untrack();
      res.end();
    }
  }

  private write(res: Response, writer: ChunkWriter, frame: Frame): void {
    if (frame.type === 'delta') {
      writeEvent(res, { data: writer.delta(frame) });
    } else if (frame.type === 'tool_call') {
      writeEvent(res, { data: writer.toolCall(frame) });
    } else if (frame.type === 'done') {
      writeEvent(res, { data: writer.finish(frame) });
      const usage = writer.usage(frame.usage);
      if (usage) writeEvent(res, { data: usage });
      writeEvent(res, { data: '[DONE]' });
    } else {
      writeEvent(res, { data: streamError(ParleyError.fromInfo(frame.error)) });
    }
  }

  private async collect(res: Response, running: RunningTurn, id: string, model: string): Promise<void> {
    const builder = new CompletionBuilder(id, model);
    for await (const frame of running.items) {
      if (frame.type === 'error') throw ParleyError.fromInfo(frame.error);
      if (frame.type !== 'done') {
        builder.add(frame);
        continue;
      }
      res.set(servedHeaders(frame));
      res.json(builder.build(frame));
      return;
    }
    throw new ParleyError('internal_error', 'the turn ended without a result');
  }
}
