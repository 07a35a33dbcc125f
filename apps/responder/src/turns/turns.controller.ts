import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Endpoints, type PingReply, type TurnAccepted, type TurnStart } from '@parley/contracts';
import { requestOf } from '@parley/messaging/nest';
import { TurnsService } from './turns.service.js';

@Controller()
export class TurnsController {
  constructor(@Inject(TurnsService) private readonly turns: TurnsService) {}

  @MessagePattern(Endpoints.turnStart.subject)
  start(@Payload(requestOf(Endpoints.turnStart)) turn: TurnStart): Promise<TurnAccepted> {
    return this.turns.start(turn);
  }

  @MessagePattern(Endpoints.responderPing.subject)
  ping(): PingReply {
    return this.turns.ping();
  }
}
