import { Module, type DynamicModule } from '@nestjs/common';
import type { ResponderConfig } from '@parley/config';
import { HistoryStore, type ServiceContext } from '@parley/messaging';
import { GuardrailEvents, Guardrails } from './guardrails/guardrails.js';
import { GuardrailPolicies } from './guardrails/policies.js';
import { RetentionService } from './retention/retention.service.js';
import { Tokens } from './tokens.js';
import { TurnsController } from './turns/turns.controller.js';
import { TurnsService } from './turns/turns.service.js';
import { Sentiment } from './sentiment/sentiment.js';

@Module({})
export class AppModule {
  static create(
    config: ResponderConfig,
    { log, nats, jetstream, metrics }: ServiceContext,
    policies: GuardrailPolicies,
  ): DynamicModule {
    return {
      module: AppModule,
      controllers: [TurnsController],
      providers: [
        TurnsService,
        RetentionService,
        { provide: Tokens.config, useValue: config },
        { provide: Tokens.log, useValue: log },
        { provide: Tokens.nats, useValue: nats },
        { provide: Tokens.jetstream, useValue: jetstream },
        { provide: Tokens.metrics, useValue: metrics },
        { provide: Tokens.history, useValue: new HistoryStore(jetstream.js, jetstream.jsm) },
        { provide: Guardrails, useValue: new Guardrails(policies, new GuardrailEvents(metrics, log)) },
        { provide: Sentiment, useValue: new Sentiment(config, { log, metrics }) },
      ],
    };
  }
}
