import {
  Controller,
  Get,
  Inject,
  Injectable,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { ParleyError, Subjects, TargetStatesReplySchema, type TargetStatesReply } from '@parley/contracts';
import { decode, type NatsHandle } from '@parley/messaging';
import type { Request } from 'express';
import type { ApiKeys } from '../auth/api-keys.js';
import { bearerToken } from '../auth/auth.guard.js';
import { Tokens } from '../tokens.js';

/** How long to collect answers from inference replicas. */
const COLLECT_MS = 300;

/** `/v1/admin` routes need one of `PARLEY_ADMIN_API_KEYS` (ordinary API keys are not enough). */
@Injectable()
export class AdminKeyGuard implements CanActivate {
  constructor(@Inject(Tokens.adminKeys) private readonly keys: ApiKeys) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    const token = bearerToken(req);
    if (!token || !this.keys.verify(token)) throw new ParleyError('unauthorized', 'an admin API key is required');
    return true;
  }
}

@Controller('v1/admin')
@UseGuards(AdminKeyGuard)
export class AdminController {
  constructor(@Inject(Tokens.nats) private readonly nats: NatsHandle) {}

  /** Every inference replica's targets: circuit breaker state, streams in flight and queued. */
  @Get('targets')
  async targets(): Promise<{ object: 'list'; data: TargetStatesReply[] }> {
    const data: TargetStatesReply[] = [];
    const replies = await this.nats.nc.requestMany(Subjects.inferenceTargets, '', { maxWait: COLLECT_MS });
    for await (const reply of replies) data.push(decode(TargetStatesReplySchema, reply.data, 'target states'));
    return { object: 'list', data };
  }
}
