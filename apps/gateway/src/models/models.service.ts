import { Inject, Injectable } from '@nestjs/common';
import { ModelsReplySchema, ParleyError, Subjects, type ModelsReply } from '@parley/contracts';
import type { GatewayConfig } from '@parley/config';
import { request, type NatsHandle } from '@parley/messaging';
import { Tokens } from '../tokens.js';

/** How long the model list from inference is reused. */
const MODELS_TTL_MS = 5_000;

/** The model aliases inference serves, cached briefly; used to list models and to reject unknown ones early. */
@Injectable()
export class ModelsService {
  private cached: { at: number; reply: ModelsReply } | undefined;

  constructor(
    @Inject(Tokens.config) private readonly config: GatewayConfig,
    @Inject(Tokens.nats) private readonly nats: NatsHandle,
  ) {}

  async list(): Promise<ModelsReply> {
    if (this.cached && Date.now() - this.cached.at < MODELS_TTL_MS) return this.cached.reply;
    const reply = await request(this.nats.nc, {
      subject: Subjects.inferenceModels,
      payload: {},
      schema: ModelsReplySchema,
      timeoutMs: this.config.PARLEY_REQUEST_TIMEOUT_MS,
      unavailable: 'no_inference',
    });
    this.cached = { at: Date.now(), reply };
    return reply;
  }

  /** The first alias, used when a conversation is created without a model. */
  async defaultModel(): Promise<string> {
    const [first] = (await this.list()).models;
    if (!first) throw new ParleyError('no_inference', 'no model is configured', { retryAfterSeconds: 1 });
    return first.id;
  }

  /** Throws `model_not_found` (404) for an alias inference does not serve. */
  async assertExists(model: string): Promise<string> {
    const { models } = await this.list();
    if (!models.some((m) => m.id === model)) {
      throw new ParleyError('model_not_found', `model "${model}" does not exist`, { param: 'model' });
    }
    return model;
  }
}
