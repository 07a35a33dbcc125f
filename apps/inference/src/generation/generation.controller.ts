import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  GenerateRequestSchema,
  Subjects,
  type GenerateAccepted,
  type GenerateRequest,
  type ModelsReply,
  type PingReply,
} from '@parley/contracts';
import { ZodPipe } from '@parley/messaging';
import { GenerationService } from './generation.service.js';
import type { Router } from '../routing/router.js';
import { Tokens } from '../tokens.js';

@Controller()
export class GenerationController {
  constructor(
    @Inject(GenerationService) private readonly generation: GenerationService,
    @Inject(Tokens.router) private readonly router: Router,
  ) {}

  @MessagePattern(Subjects.inferenceGenerate)
  generate(
    @Payload(new ZodPipe(GenerateRequestSchema, 'generate request')) request: GenerateRequest,
  ): Promise<GenerateAccepted> {
    return this.generation.start(request);
  }

  @MessagePattern(Subjects.inferenceModels)
  listModels(): ModelsReply {
    return this.router.list();
  }

  @MessagePattern(Subjects.inferencePing)
  ping(): PingReply {
    return this.generation.ping();
  }
}
