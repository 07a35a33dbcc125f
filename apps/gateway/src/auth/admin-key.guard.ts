import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ParleyError } from '@parley/contracts';
import type { Request } from 'express';
import { Tokens } from '../tokens.js';
import type { ApiKeys } from './api-keys.js';
import { bearerToken } from './auth.guard.js';

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
