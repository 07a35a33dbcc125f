import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { GatewayMetrics } from './metrics.js';

@Controller('metrics')
export class MetricsController {
  constructor(@Inject(GatewayMetrics) private readonly metrics: GatewayMetrics) {}

  /** Prometheus text format. Unauthenticated, like /healthz: scrape it from inside the cluster. */
  @Get()
  async scrape(@Res() res: Response): Promise<void> {
    res.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}
