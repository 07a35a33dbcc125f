import { Module, type DynamicModule } from '@nestjs/common';
import type { InferenceConfig } from '@parley/config';
import type { ServiceContext } from '@parley/messaging';
import { EmbeddingsController } from './embeddings/embeddings.controller.js';
import { EmbeddingsService } from './embeddings/embeddings.service.js';
import { GenerationController } from './generation/generation.controller.js';
import { GenerationMetrics } from './generation/generation.metrics.js';
import { GenerationService } from './generation/generation.service.js';
import type { Router } from './routing/router.js';
import { Shadows } from './shadow/shadow.js';
import { Tokens } from './tokens.js';

/** Inference's root module, built from values made before Nest starts. */
@Module({})
export class AppModule {
  static create(
    config: InferenceConfig,
    router: Router,
    { log, nats, jetstream, metrics }: ServiceContext,
  ): DynamicModule {
    return {
      module: AppModule,
      controllers: [GenerationController, EmbeddingsController],
      providers: [
        GenerationService,
        EmbeddingsService,
        { provide: Tokens.config, useValue: config },
        { provide: Tokens.log, useValue: log },
        { provide: Tokens.nats, useValue: nats },
        { provide: Tokens.router, useValue: router },
        { provide: GenerationMetrics, useValue: new GenerationMetrics(metrics) },
        { provide: Shadows, useValue: new Shadows({ jetstream, log, metrics }) },
      ],
    };
  }
}
