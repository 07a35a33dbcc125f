import { Inject, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ParleyError } from '@parley/contracts';
import type { GatewayConfig } from '@parley/config';
import type { Request } from 'express';
import { Tokens } from '../tokens.js';
import { clientAddress } from '../http/client-address.js';
import { DEFAULT_PROJECT, setCaller } from './caller.js';
import { VisitorTokens } from './visitor-tokens.js';
import type { WidgetKeys } from './widget-keys.js';
import type { ApiKeys } from './api-keys.js';

const BEARER = /^Bearer ([^\s]{1,2048})$/;
const ALLOW_VISITORS = 'parley:allowVisitors';

/**
 * Marks a route (or controller) that a widget visitor's token may use. Every other `/v1` route refuses
 * visitor tokens with `forbidden`, so a public widget key can never reach the OpenAI-compatible endpoint,
 * listings, admin or erasure-by-user routes.
 */
export const AllowVisitors = () => SetMetadata(ALLOW_VISITORS, true);

/** The token in `Authorization: Bearer <token>`, if the header has that form. */
export function bearerToken(req: Request): string | undefined {
  return BEARER.exec(req.headers.authorization ?? '')?.[1];
}

/** Every `/v1` route requires `Authorization: Bearer <key>`, or a visitor token where {@link AllowVisitors} says so. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    @Inject(Tokens.config) private readonly config: GatewayConfig,
    @Inject(Tokens.apiKeys) private readonly keys: ApiKeys,
    @Inject(Tokens.widgetKeys) private readonly widgetKeys: WidgetKeys,
    @Inject(Tokens.visitorTokens) private readonly visitorTokens: VisitorTokens,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const token = bearerToken(req);
    if (token && VisitorTokens.looksLikeToken(token)) {
      const visitor = await this.visitorTokens.verify(token);
      const widgetKey = this.widgetKeys.byKeyId(visitor.keyId);
      // Removing a widget key from the configuration revokes every token issued for it.
      if (!widgetKey) throw new ParleyError('unauthorized', 'the widget key of this visitor token is not configured');
      const origin = req.headers.origin;
      if (origin !== undefined && !widgetKey.origins.has(origin)) {
        throw new ParleyError('origin_not_allowed', 'this widget key may not be used from this origin');
      }
      const allowed = this.reflector.getAllAndOverride<boolean | undefined>(ALLOW_VISITORS, [
        context.getHandler(),
        context.getClass(),
      ]);
      if (!allowed) throw new ParleyError('forbidden', 'a visitor token can use only its own conversations');
      setCaller(req, { keyId: visitor.keyId, project: DEFAULT_PROJECT, visitor, address: clientAddress(req) });
      return true;
    }
    const keyId = token ? this.keys.verify(token) : undefined;
    if (!keyId) throw new ParleyError('unauthorized', 'a valid API key is required: Authorization: Bearer <key>');
    // What a key may do comes from the configuration for now; keys and projects will carry it.
    const allowLogprobs = this.config.PARLEY_ALLOW_LOGPROBS;
    setCaller(req, { keyId, project: DEFAULT_PROJECT, address: clientAddress(req), allowLogprobs });
    return true;
  }
}
