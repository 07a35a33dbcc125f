import { Inject, Injectable } from '@nestjs/common';
import { Endpoints, ParleyError, wrongModelKind, type ModelKind, type ModelsReply } from '@parley/contracts';
import type { GatewayConfig } from '@parley/config';
import { call, type NatsHandle } from '@parley/messaging';
import { Tokens } from '../tokens.js';

/** How long the model list from inference is used as is. */
const MODELS_TTL_MS = 5_000;
/** After the TTL and up to this age, the list is still used while a refresh runs in the background. */
const MODELS_STALE_MS = 60_000;
/** An unknown model triggers a refresh first when the list is older than this (a route just added). */
const MODELS_RECHECK_MS = 1_000;

/**
 * The model aliases inference serves, cached; used to list models and to reject unknown ones early. The
 * refresh is kept off the request path (stale-while-revalidate), so no turn waits for it once the list is
 * known, and concurrent refreshes are one request.
 */
@Injectable()
export class ModelsService {
  private cached: { at: number; reply: ModelsReply } | undefined;
  private refreshing: Promise<ModelsReply> | undefined;

  constructor(
    @Inject(Tokens.config) private readonly config: GatewayConfig,
    @Inject(Tokens.nats) private readonly nats: NatsHandle,
  ) {}

  async list(): Promise<ModelsReply> {
    const cached = this.cached;
    const age = cached ? Date.now() - cached.at : Infinity;
    if (!cached || age >= MODELS_STALE_MS) return this.refresh();
    // A failed background refresh leaves the cached list; the next call tries again.
    if (age >= MODELS_TTL_MS) this.refresh().catch(() => undefined);
    return cached.reply;
  }

  private refresh(): Promise<ModelsReply> {
    this.refreshing ??= call(
      this.nats.nc,
      Endpoints.inferenceModels,
      {},
      {
        timeoutMs: this.config.PARLEY_REQUEST_TIMEOUT_MS,
      },
    )
      .then((reply) => {
        this.cached = { at: Date.now(), reply };
        return reply;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** The first chat alias, used when a conversation is created without a model. */
  async defaultModel(): Promise<string> {
    const first = (await this.list()).models.find((m) => m.kind === 'chat');
    if (!first) throw new ParleyError('no_inference', 'no model is configured', { retryAfterSeconds: 1 });
    return first.id;
  }

  /** The alias's completion-token default and maximum; `model_not_found` when inference does not serve it. */
  async maxTokens(model: string): Promise<{ default: number; max: number }> {
    await this.assertExists(model);
    return (await this.list()).models.find((m) => m.id === model)!.maxTokens;
  }

  /** Throws `model_not_found` (404) for an unknown alias, `invalid_request` (400) for one of the other kind. */
  async assertServes(model: string, kind: ModelKind): Promise<string> {
    await this.assertExists(model);
    const served = (await this.list()).models.find((m) => m.id === model)!.kind;
    if (served !== kind) throw wrongModelKind(model, served);
    return model;
  }

  /** Throws `model_not_found` (404) for an alias inference does not serve. */
  async assertExists(model: string): Promise<string> {
    let { models } = await this.list();
    if (!models.some((m) => m.id === model) && Date.now() - (this.cached?.at ?? 0) > MODELS_RECHECK_MS) {
      ({ models } = await this.refresh());
    }
    if (!models.some((m) => m.id === model)) {
      throw new ParleyError('model_not_found', `model "${model}" does not exist`, { param: 'model' });
    }
    return model;
  }
}
