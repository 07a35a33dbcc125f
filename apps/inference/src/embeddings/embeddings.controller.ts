import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Endpoints, type EmbedReply, type EmbedRequest } from '@parley/contracts';
import { requestOf } from '@parley/messaging/nest';
import { EmbeddingsService } from './embeddings.service.js';

/** Inference's embeddings endpoint (`/v1/embeddings` of the gateway). */
@Controller()
export class EmbeddingsController {
  constructor(@Inject(EmbeddingsService) private readonly embeddings: EmbeddingsService) {}

  @MessagePattern(Endpoints.inferenceEmbed.subject)
  embed(@Payload(requestOf(Endpoints.inferenceEmbed)) request: EmbedRequest): Promise<EmbedReply> {
    return this.embeddings.embed(request);
  }
}
