import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern, Payload, type NatsContext } from '@nestjs/microservices';
import { Subjects, TurnStartSchema, type PingReply, type TurnAccepted, type TurnStart } from '@parley/contracts';
import { traceparentOf, ZodPipe } from '@parley/messaging';
import { TurnsService } from './turns.service.js';

@Controller()
export class TurnsController {
  constructor(@Inject(TurnsService) private readonly turns: TurnsService) {}

  @MessagePattern(Subjects.turnStart)
  start(
    @Payload(new ZodPipe(TurnStartSchema, 'turn start')) turn: TurnStart,
    @Ctx() ctx: NatsContext,
  ): Promise<TurnAccepted> {
    return this.turns.start(turn, traceparentOf(ctx.getHeaders()));
  }

  @MessagePattern(Subjects.responderPing)
  ping(): PingReply {
    return this.turns.ping();
  }
}
