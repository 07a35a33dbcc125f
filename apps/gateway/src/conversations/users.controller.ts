import { Controller, Delete, Inject, Param, Req, UseGuards } from '@nestjs/common';
import { ExternalUserIdSchema, type UserErasureReceipt } from '@parley/contracts';
import type { Request } from 'express';
import { ApiKeyGuard, RequireScope } from '../auth/auth.guard.js';
import { callerOf } from '../auth/caller.js';
import { parseBody } from '../http/body.js';
import { ConversationsService } from './conversations.service.js';

@Controller('v1/users')
@UseGuards(ApiKeyGuard)
@RequireScope('erase')
export class UsersController {
  constructor(@Inject(ConversationsService) private readonly conversations: ConversationsService) {}

  /** Erases every conversation of one end user (`externalUserId` set at creation) of the calling key. */
  @Delete(':externalUserId/data')
  eraseUser(@Req() req: Request, @Param('externalUserId') externalUserId: string): Promise<UserErasureReceipt> {
    return this.conversations.eraseUser(callerOf(req).keyId, parseBody(ExternalUserIdSchema, externalUserId));
  }
}
