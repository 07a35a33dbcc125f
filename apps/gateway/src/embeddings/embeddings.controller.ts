import { Controller, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import { EmbeddingsBodySchema } from '@parley/contracts';
import type { Request, Response } from 'express';
import { ApiKeyGuard, RequireScope } from '../auth/auth.guard.js';
import { callerOf } from '../auth/caller.js';
import { parseBody } from '../http/body.js';
import { EmbeddingsService } from './embeddings.service.js';

/** `POST /v1/embeddings`: OpenAI-compatible, routed to the alias's targets like a chat completion. */
@Controller('v1/embeddings')
@UseGuards(ApiKeyGuard)
@RequireScope('chat')
export class EmbeddingsController {
  constructor(@Inject(EmbeddingsService) private readonly embeddings: EmbeddingsService) {}

  @Post()
  @HttpCode(200)
  async create(@Req() req: Request, @Res() res: Response): Promise<void> {
    const { response, headers } = await this.embeddings.embed(callerOf(req), parseBody(EmbeddingsBodySchema, req.body));
    res.set(headers).json(response);
  }
}
