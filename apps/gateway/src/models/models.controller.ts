import { Controller, Get, Inject, UseGuards } from '@nestjs/common';
import type { z } from 'zod';
import type { ModelListSchema } from '@parley/contracts';
import { ApiKeyGuard, RequireScope } from '../auth/auth.guard.js';
import { ModelsService } from './models.service.js';

@Controller('v1/models')
@UseGuards(ApiKeyGuard)
@RequireScope('chat', 'conversations')
export class ModelsController {
  constructor(@Inject(ModelsService) private readonly models: ModelsService) {}

  @Get()
  async list(): Promise<z.infer<typeof ModelListSchema>> {
    const { models } = await this.models.list();
    return {
      object: 'list',
      data: models.map((m) => ({ id: m.id, object: 'model', created: m.created, owned_by: m.ownedBy })),
    };
  }
}
