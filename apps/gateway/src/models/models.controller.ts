import { Controller, Get, Inject, Param, UseGuards } from '@nestjs/common';
import type { z } from 'zod';
import type { ModelListSchema, ModelsReply, OpenAIModel } from '@parley/contracts';
import { ApiKeyGuard } from '../auth/auth.guard.js';
import { ModelsService } from './models.service.js';

@Controller('v1/models')
@UseGuards(ApiKeyGuard)
export class ModelsController {
  constructor(@Inject(ModelsService) private readonly models: ModelsService) {}

  @Get()
  async list(): Promise<z.infer<typeof ModelListSchema>> {
    const { models } = await this.models.list();
    return { object: 'list', data: models.map(openAIModel) };
  }

  /**
   * `GET /v1/models/{id}`: one alias, or 404 `model_not_found` in OpenAI's shape. A wildcard, because aliases
   * may hold slashes (`meta-llama/Llama-3.1-8B-Instruct`); Express gives its segments as a list.
   */
  @Get('*id')
  async get(@Param('id') segments: string | string[]): Promise<OpenAIModel> {
    const id = [segments].flat().join('/');
    await this.models.assertExists(id);
    const { models } = await this.models.list();
    return openAIModel(models.find((m) => m.id === id)!);
  }
}

function openAIModel(m: ModelsReply['models'][number]): OpenAIModel {
  return { id: m.id, object: 'model', created: m.created, owned_by: m.ownedBy };
}
