import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Subjects, TurnStartSchema, type PingReply, type TurnAccepted, type TurnStart } from '@parley/contracts';
import { ZodPipe } from '@parley/messaging';
import { TurnsService } from './turns.service.js';

@Controller()
export class TurnsController {
  constructor(@Inject(TurnsService) private readonly turns: TurnsService) {}

  @MessagePattern(Subjects.turnStart)
  start(@Payload(new ZodPipe(TurnStartSchema, 'turn start')) turn: TurnStart): Promise<TurnAccepted> {
    return this.turns.start(turn);
  }

  @MessagePattern(Subjects.responderPing)
  ping(): PingReply {
    return this.turns.ping();
  }
}
