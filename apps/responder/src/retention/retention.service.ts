/**
 * Retention: with `PARLEY_RETENTION_DAYS` set, conversations created longer ago than that are erased, with
 * everything derived from them, by a sweep every `PARLEY_RETENTION_SWEEP_MS`. Every responder replica sweeps;
 * erasure is idempotent, so overlapping sweeps only repeat work.
 */
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ConversationRecordSchema } from '@parley/contracts';
import type { ResponderConfig } from '@parley/config';
import {
  decode,
  eraseConversation,
  type HistoryStore,
  type JetStreamHandles,
  type NatsHandle,
} from '@parley/messaging';
import type { Logger } from '@parley/tracing';
import { Tokens } from '../tokens.js';

const DAY_MS = 24 * 60 * 60_000;

@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(
    @Inject(Tokens.config) private readonly config: ResponderConfig,
    @Inject(Tokens.nats) private readonly nats: NatsHandle,
    @Inject(Tokens.jetstream) private readonly jetstream: JetStreamHandles,
    @Inject(Tokens.history) private readonly history: HistoryStore,
    @Inject(Tokens.log) private readonly log: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.PARLEY_RETENTION_DAYS === undefined) return;
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .then(() => undefined)
        .catch((error: unknown) => this.log.error({ err: error }, 'retention sweep failed'))
        .finally(() => (this.sweeping = undefined));
    }, this.config.PARLEY_RETENTION_SWEEP_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** Erases every conversation created before the cutoff; returns how many. */
  async sweep(now = Date.now()): Promise<number> {
    const cutoff = now - this.config.PARLEY_RETENTION_DAYS! * DAY_MS;
    const { conversations } = this.jetstream;
    let erased = 0;
    for await (const key of await conversations.keys()) {
      const entry = await conversations.get(key);
      if (!entry || entry.operation !== 'PUT') continue;
      const record = decode(ConversationRecordSchema, entry.value, 'conversation');
      if (Date.parse(record.createdAt) >= cutoff) continue;
      const receipt = await eraseConversation(
        { nc: this.nats.nc, jetstream: this.jetstream, history: this.history },
        record.id,
      );
      this.log.info({ ...receipt, reason: 'retention' }, 'conversation erased');
      erased += 1;
    }
    return erased;
  }
}
