import { Controller, Get } from '@nestjs/common';
import { buildOpenApiDocument } from './openapi.js';

const document = buildOpenApiDocument({ version: '0.1.0' });

@Controller('openapi.json')
export class OpenApiController {
  @Get()
  get(): typeof document {
    return document;
  }
}
