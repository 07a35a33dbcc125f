import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ParleyError } from '@parley/contracts';
import type { Request } from 'express';
import { Tokens } from '../tokens.js';
import type { ApiKeys } from './api-keys.js';

const BEARER = /^Bearer ([^\s]{1,512})$/;

/** The key in `Authorization: Bearer <key>`, if the header has that form. */
export function bearerToken(req: Request): string | undefined {
  return BEARER.exec(req.headers.authorization ?? '')?.[1];
}

/** The key id of the authenticated caller, set by {@link ApiKeyGuard}. */
export function keyIdOf(req: Request): string {
  const keyId = (req as Request & { keyId?: string }).keyId;
  if (!keyId) throw new ParleyError('unauthorized', 'missing API key');
  return keyId;
}

/** Every `/v1` route requires `Authorization: Bearer <key>`. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(Tokens.apiKeys) private readonly keys: ApiKeys) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request & { keyId?: string }>();
    const token = bearerToken(req);
    const keyId = token ? this.keys.verify(token) : undefined;
    if (!keyId) throw new ParleyError('unauthorized', 'a valid API key is required: Authorization: Bearer <key>');
    req.keyId = keyId;
    return true;
  }
}
