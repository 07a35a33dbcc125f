import { Module, type DynamicModule } from '@nestjs/common';
import type { InferenceConfig } from '@parley/config';
import type { ServiceContext } from '@parley/messaging';
import { GenerationController } from './generation/generation.controller.js';
import { GenerationService } from './generation/generation.service.js';
import { ModelRegistry } from './generation/model-registry.js';
import { OpenAICompatibleProvider } from './providers/openai-compatible.provider.js';
import { Tokens } from './tokens.js';

@Module({})
export class AppModule {
  static create(config: InferenceConfig, { log, nats }: ServiceContext): DynamicModule {
    const provider = new OpenAICompatibleProvider({
      baseUrl: config.PARLEY_UPSTREAM_BASE_URL,
      apiKey: config.PARLEY_UPSTREAM_API_KEY,
      requestTimeoutMs: config.PARLEY_UPSTREAM_TIMEOUT_MS,
    });
    const models = new ModelRegistry([
      {
        alias: config.PARLEY_MODEL_ALIAS ?? config.PARLEY_UPSTREAM_MODEL,
        upstreamModel: config.PARLEY_UPSTREAM_MODEL,
        provider,
      },
    ]);
    return {
      module: AppModule,
      controllers: [GenerationController],
      providers: [
        GenerationService,
        { provide: Tokens.config, useValue: config },
        { provide: Tokens.log, useValue: log },
        { provide: Tokens.nats, useValue: nats },
        { provide: Tokens.models, useValue: models },
      ],
    };
  }
}
