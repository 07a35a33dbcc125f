import { Controller, Get, Inject, UseGuards } from '@nestjs/common';
import { Broadcasts, type TargetStatesReply } from '@parley/contracts';
import { decode, encode, type NatsHandle } from '@parley/messaging';
import { ApiKeyGuard, RequireScope } from '../auth/auth.guard.js';
import { Tokens } from '../tokens.js';

/** How long to collect answers from inference replicas. */
const COLLECT_MS = 300;

@Controller('v1/admin')
@UseGuards(ApiKeyGuard)
@RequireScope('admin')
export class AdminController {
  constructor(@Inject(Tokens.nats) private readonly nats: NatsHandle) {}

  /** Every inference replica's targets: circuit breaker state, streams in flight and queued. */
  @Get('targets')
  async targets(): Promise<{ object: 'list'; data: TargetStatesReply[] }> {
    const { subject, reply } = Broadcasts.inferenceTargets;
    const data: TargetStatesReply[] = [];
    const replies = await this.nats.nc.requestMany(subject, encode({}), { maxWait: COLLECT_MS });
    for await (const answer of replies) data.push(decode(reply, answer.data, 'target states'));
    return { object: 'list', data };
  }
}
