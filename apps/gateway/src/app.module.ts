import { Module, type DynamicModule } from '@nestjs/common';
import type { GatewayConfig } from '@parley/config';
import { HistoryStore, type ServiceContext } from '@parley/messaging';
import { AdminController } from './admin/admin.controller.js';
import type { AccountStore } from './accounts/account-store.js';
import { AccountsController } from './admin/accounts.controller.js';
import { ApiKeyGuard, type WidgetLimits } from './auth/auth.guard.js';
import type { LimitsService } from './limits/limits.js';
import type { RedisHandle } from './limits/redis.js';
import type { OpenStreams } from './http/open-streams.js';
import { ChatCompletionsController } from './chat/chat-completions.controller.js';
import { ConversationsController } from './conversations/conversations.controller.js';
import { ConversationTurns } from './conversations/conversation-turns.service.js';
import { ConversationsService } from './conversations/conversations.service.js';
import { UsersController } from './conversations/users.controller.js';
import { EmbeddingsController } from './embeddings/embeddings.controller.js';
import { ExperimentsController } from './experiments/experiments.controller.js';
import { FeedbackService } from './feedback/feedback.service.js';
import { EmbeddingsService } from './embeddings/embeddings.service.js';
import { HealthController } from './health/health.controller.js';
import { GatewayMetrics } from './metrics/metrics.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { ModelsController } from './models/models.controller.js';
import { ModelsService } from './models/models.service.js';
import { OpenApiController } from './openapi/openapi.controller.js';
import { Tokens } from './tokens.js';
import { IdempotencyService } from './idempotency/idempotency.service.js';
import { preTurnChecks } from './turns/pre-turn-checks.js';
import { TurnClient } from './turns/turn-client.service.js';
import { TurnGate } from './turns/turn-gate.service.js';
import { VisitorLimits } from './rate-limits/visitor-limits.js';
import { VisitorTokens } from './auth/visitor-tokens.js';
import { WidgetController } from './widget/widget.controller.js';
import { WidgetKeys } from './auth/widget-keys.js';
import type { WidgetScript } from './widget/widget-script.js';

@Module({})
export class AppModule {
  static create(
    config: GatewayConfig,
    { log, nats, jetstream, metrics }: ServiceContext,
    {
      accounts,
      redis,
      limits,
      streams,
    }: { accounts: AccountStore; redis: RedisHandle; limits: LimitsService; streams: OpenStreams },
    widget: { keys: WidgetKeys; script: WidgetScript | undefined; limits: WidgetLimits },
  ): DynamicModule {
    const visitorLimits = new VisitorLimits(config, metrics, {
      client: redis.client,
      whenDown: config.PARLEY_REDIS_DOWN_WIDGET,
    });
    return {
      module: AppModule,
      controllers: [
        HealthController,
        AdminController,
        AccountsController,
        ExperimentsController,
        MetricsController,
        OpenApiController,
        ModelsController,
        ChatCompletionsController,
        EmbeddingsController,
        ConversationsController,
        UsersController,
        WidgetController,
      ],
      providers: [
        ApiKeyGuard,
        { provide: GatewayMetrics, useValue: new GatewayMetrics(metrics) },
        ConversationsService,
        ConversationTurns,
        FeedbackService,
        EmbeddingsService,
        IdempotencyService,
        ModelsService,
        TurnClient,
        TurnGate,
        {
          provide: Tokens.preTurnChecks,
          inject: [ModelsService],
          useFactory: (models: ModelsService) => preTurnChecks({ visitorLimits, models, limits }),
        },
        { provide: Tokens.config, useValue: config },
        { provide: Tokens.log, useValue: log },
        { provide: Tokens.nats, useValue: nats },
        { provide: Tokens.jetstream, useValue: jetstream },
        { provide: Tokens.accounts, useValue: accounts },
        { provide: Tokens.limits, useValue: limits },
        { provide: Tokens.redis, useValue: redis },
        { provide: Tokens.openStreams, useValue: streams },
        { provide: Tokens.widgetLimits, useValue: widget.limits },
        { provide: Tokens.widgetKeys, useValue: widget.keys },
        { provide: Tokens.widgetScript, useValue: widget.script },
        {
          provide: Tokens.visitorTokens,
          useValue: new VisitorTokens(config.PARLEY_VISITOR_TOKEN_SECRET, config.PARLEY_VISITOR_TOKEN_TTL_S),
        },
        { provide: Tokens.visitorLimits, useValue: visitorLimits },
        { provide: Tokens.history, useValue: new HistoryStore(jetstream.js, jetstream.jsm) },
      ],
    };
  }
}
