/**
 * `/v1/embeddings` behind the controller: the model must be an embedding alias the caller may use; the request
 * counts against the caller's limits like a turn (one request, its estimated input tokens and a stream slot
 * while it runs, settled to the upstream's count when it is answered); inference embeds.
 */
import { Inject, Injectable } from '@nestjs/common';
import {
  Endpoints,
  newId,
  usageSubject,
  type EmbedReply,
  type UsageRecord,
  type EmbeddingInput,
  type EmbeddingsBody,
  type EmbeddingsResponse,
} from '@parley/contracts';
import type { GatewayConfig } from '@parley/config';
import { STORED_PUBLISH, call, encode, type JetStreamHandles, type NatsHandle } from '@parley/messaging';
import type { Logger } from '@parley/tracing';
import { accountOf, assertModelAllowed, type Caller } from '../auth/caller.js';
import { rateLimitHeaders, type LimitsService } from '../limits/limits.js';
import { ModelsService } from '../models/models.service.js';
import { Tokens } from '../tokens.js';

/** Inference answers (or times out) within the request's deadline; the NATS request waits this much longer. */
const REPLY_MARGIN_MS = 1_000;

/** The body's input as a list: one text or token array becomes a list of one. */
export function inputList(input: EmbeddingsBody['input']): EmbeddingInput {
  if (typeof input === 'string') return [input];
  if (typeof input[0] === 'number') return [input as number[]];
  return input as EmbeddingInput;
}

/** Tokens the inputs may take, counted high as a turn's prompt is (three characters a token); a token id is one. */
export function estimateInputTokens(input: EmbeddingInput): number {
  return input.reduce<number>(
    (sum, one) => sum + (typeof one === 'string' ? Math.ceil(one.length / 3) : one.length),
    0,
  );
}

/** A vector from base64 of little-endian float32 (how inference sends it) to floats. */
export function floatsOf(base64: string): number[] {
  const bytes = Buffer.from(base64, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}

@Injectable()
export class EmbeddingsService {
  constructor(
    @Inject(Tokens.config) private readonly config: GatewayConfig,
    @Inject(Tokens.nats) private readonly nats: NatsHandle,
    @Inject(Tokens.limits) private readonly limits: LimitsService,
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(Tokens.jetstream) private readonly jetstream: JetStreamHandles,
    @Inject(Tokens.log) private readonly log: Logger,
  ) {}

  /** The response and its rate-limit headers. */
  async embed(
    caller: Caller,
    body: EmbeddingsBody,
  ): Promise<{ response: EmbeddingsResponse; headers: Record<string, string> }> {
    await this.models.assertServes(body.model, 'embedding');
    assertModelAllowed(caller, body.model);
    const input = inputList(body.input);
    const reservation = await this.limits.reserveTokens(caller, estimateInputTokens(input), {
      param: 'input',
      advice: 'send fewer or shorter inputs',
    });
    const timeoutMs = this.config.PARLEY_FIRST_TOKEN_TIMEOUT_MS;
    let reply: EmbedReply;
    try {
      reply = await call(
        this.nats.nc,
        Endpoints.inferenceEmbed,
        {
          model: body.model,
          input,
          ...(body.dimensions != null && { dimensions: body.dimensions }),
          ...(body.user != null && { user: body.user }),
          stickyKey: caller.keyId,
          timeoutMs,
        },
        { timeoutMs: timeoutMs + REPLY_MARGIN_MS },
      );
    } catch (error) {
      await reservation.refused();
      throw error;
    }
    await reservation.used(reply.usage.total_tokens);
    this.record(caller, body.model, reply.usage);
    const base64 = body.encoding_format === 'base64';
    return {
      headers: rateLimitHeaders(reservation.state),
      response: {
        object: 'list',
        data: reply.embeddings.map((vector, index) => ({
          object: 'embedding',
          index,
          embedding: base64 ? vector : floatsOf(vector),
        })),
        model: body.model,
        usage: reply.usage,
      },
    };
  }

  /**
   * Writes the request's usage record, like a turn's: the usage report counts it, and budgets rebuilt after
   * Redis lost its data include it. Never delays the answer; a failure is logged and counted as the
   * responder's are.
   */
  private record(caller: Caller, model: string, usage: EmbedReply['usage']): void {
    const record: UsageRecord = {
      turnId: newId('turn'),
      account: accountOf(caller),
      model,
      usage: { prompt_tokens: usage.prompt_tokens, completion_tokens: 0, total_tokens: usage.total_tokens },
      estimated: false,
      outcome: 'done',
      at: new Date().toISOString(),
    };
    this.jetstream.js
      .publish(usageSubject(caller.project), encode(record), { msgID: `${record.turnId}.usage`, ...STORED_PUBLISH })
      .catch((error: unknown) =>
        this.log.error({ err: error, code: 'usage_not_recorded' }, 'embedding usage could not be recorded'),
      );
  }
}
