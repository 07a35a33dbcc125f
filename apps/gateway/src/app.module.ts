import { Module, type DynamicModule } from '@nestjs/common';
import type { GatewayConfig } from '@parley/config';
import { HistoryStore, type ServiceContext } from '@parley/messaging';
import { AdminController } from './admin/admin.controller.js';
import { AdminKeyGuard } from './auth/admin-key.guard.js';
import { ApiKeys } from './auth/api-keys.js';
import { ApiKeyGuard } from './auth/auth.guard.js';
import { ChatCompletionsController } from './chat/chat-completions.controller.js';
import { ConversationsController } from './conversations/conversations.controller.js';
import { ConversationTurns } from './conversations/conversation-turns.service.js';
import { ConversationsService } from './conversations/conversations.service.js';
import { UsersController } from './conversations/users.controller.js';
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
    apiKeys: ApiKeys,
    { log, nats, jetstream, metrics }: ServiceContext,
    widget: { keys: WidgetKeys; script: WidgetScript | undefined },
  ): DynamicModule {
    const visitorLimits = new VisitorLimits(config, metrics);
    return {
      module: AppModule,
      controllers: [
        HealthController,
        AdminController,
        MetricsController,
        OpenApiController,
        ModelsController,
        ChatCompletionsController,
        ConversationsController,
        UsersController,
        WidgetController,
      ],
      providers: [
        ApiKeyGuard,
        AdminKeyGuard,
        { provide: Tokens.adminKeys, useValue: new ApiKeys(config.PARLEY_ADMIN_API_KEYS ?? []) },
        { provide: GatewayMetrics, useValue: new GatewayMetrics(metrics) },
        ConversationsService,
        ConversationTurns,
        IdempotencyService,
        ModelsService,
        TurnClient,
        TurnGate,
        { provide: Tokens.preTurnChecks, useValue: preTurnChecks({ visitorLimits }) },
        { provide: Tokens.config, useValue: config },
        { provide: Tokens.log, useValue: log },
        { provide: Tokens.nats, useValue: nats },
        { provide: Tokens.jetstream, useValue: jetstream },
        { provide: Tokens.apiKeys, useValue: apiKeys },
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
