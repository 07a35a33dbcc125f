import { Controller, Get, Inject, Param, Req, UseGuards } from '@nestjs/common';
import type { z } from 'zod';
import { ParleyError, type ModelListSchema, type ModelsReply, type OpenAIModel } from '@parley/contracts';
import type { Request } from 'express';
import { ApiKeyGuard, RequireScope } from '../auth/auth.guard.js';
import { callerOf } from '../auth/caller.js';
import { ModelsService } from './models.service.js';

@Controller('v1/models')
@UseGuards(ApiKeyGuard)
@RequireScope('chat', 'conversations')
export class ModelsController {
  constructor(@Inject(ModelsService) private readonly models: ModelsService) {}

  /** The aliases the caller may use. */
  @Get()
  async list(@Req() req: Request): Promise<z.infer<typeof ModelListSchema>> {
    const allowed = callerOf(req).models;
    const { models } = await this.models.list();
    return { object: 'list', data: models.filter((m) => !allowed || allowed.has(m.id)).map(openAIModel) };
  }

  /**
   * `GET /v1/models/{id}`: one alias, or 404 `model_not_found` in OpenAI's shape. A wildcard, because aliases
   * may hold slashes (`meta-llama/Llama-3.1-8B-Instruct`); Express gives its segments as a list.
   */
  @Get('*id')
  async get(@Req() req: Request, @Param('id') segments: string | string[]): Promise<OpenAIModel> {
    const id = [segments].flat().join('/');
    await this.models.assertExists(id);
    const allowed = callerOf(req).models;
    if (allowed && !allowed.has(id)) {
      throw new ParleyError('model_not_found', `model "${id}" does not exist`, { param: 'model' });
    }
    const { models } = await this.models.list();
    return openAIModel(models.find((m) => m.id === id)!);
  }
}

function openAIModel(m: ModelsReply['models'][number]): OpenAIModel {
  return { id: m.id, object: 'model', created: m.created, owned_by: m.ownedBy };
}
