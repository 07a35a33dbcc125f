import { Controller, Get, Inject, Res } from '@nestjs/common';
import { Endpoints, type Endpoint } from '@parley/contracts';
import { call, type NatsHandle } from '@parley/messaging';
import type { Response } from 'express';
import type { LimitsService } from '../limits/limits.js';
import { Tokens } from '../tokens.js';

/** Readiness pings are short: a probe must answer well within its own timeout. */
const PING_TIMEOUT_MS = 1_000;

@Controller()
export class HealthController {
  constructor(
    @Inject(Tokens.nats) private readonly nats: NatsHandle,
    @Inject(Tokens.limits) private readonly limits: LimitsService,
  ) {}

  /** Alive: the process answers. */
  @Get('healthz')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Ready: this replica can take requests, which needs NATS. Whether a responder and an inference replica
   * answer is reported in `checks` but does not make the gateway unready: without them every request still
   * gets a precise `503 no_responder`/`no_inference` with `Retry-After`, and the widget script, the demo page
   * and `/v1/models` keep working. (Failing readiness on them would take every gateway out of the Service at
   * once and leave clients with the ingress's own error page.) Redis is reported too and does not make the
   * gateway unready either: while it is down (or its budgets are being rebuilt after it lost them), limits
   * follow `PARLEY_REDIS_DOWN_*`, the same on every replica.
   */
  @Get('readyz')
  async ready(@Res() res: Response): Promise<void> {
    const nats = this.nats.connected();
    const [responder, inference] = nats
      ? await Promise.all([this.ping(Endpoints.responderPing), this.ping(Endpoints.inferencePing)])
      : [false, false];
    const ready = nats;
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not_ready',
      checks: { nats, redis: this.limits.shared(), responder, inference },
    });
  }

  private async ping(endpoint: Endpoint): Promise<boolean> {
    try {
      await call(this.nats.nc, endpoint, {}, { timeoutMs: PING_TIMEOUT_MS });
      return true;
    } catch {
      return false;
    }
  }
}
