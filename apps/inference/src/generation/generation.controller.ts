import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  Endpoints,
  type GenerateAccepted,
  type GenerateRequest,
  type ModelsReply,
  type PingReply,
} from '@parley/contracts';
import { requestOf } from '@parley/messaging/nest';
import { GenerationService } from './generation.service.js';
import type { Router } from '../routing/router.js';
import { Tokens } from '../tokens.js';

/** Inference's NATS endpoints: generate, list the models, ping. */
@Controller()
export class GenerationController {
  constructor(
    @Inject(GenerationService) private readonly generation: GenerationService,
    @Inject(Tokens.router) private readonly router: Router,
  ) {}

  @MessagePattern(Endpoints.inferenceGenerate.subject)
  generate(@Payload(requestOf(Endpoints.inferenceGenerate)) request: GenerateRequest): Promise<GenerateAccepted> {
    return this.generation.start(request);
  }

  @MessagePattern(Endpoints.inferenceModels.subject)
  listModels(): ModelsReply {
    return this.router.list();
  }

  @MessagePattern(Endpoints.inferencePing.subject)
  ping(): PingReply {
    return this.generation.ping();
  }
}
