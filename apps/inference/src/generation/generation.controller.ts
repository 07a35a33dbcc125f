import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern, Payload, type NatsContext } from '@nestjs/microservices';
import {
  GenerateRequestSchema,
  Subjects,
  type GenerateAccepted,
  type GenerateRequest,
  type ModelsReply,
  type PingReply,
} from '@parley/contracts';
import { traceparentOf, ZodPipe } from '@parley/messaging';
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
    @Ctx() ctx: NatsContext,
  ): Promise<GenerateAccepted> {
    return this.generation.start(request, traceparentOf(ctx.getHeaders()));
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
