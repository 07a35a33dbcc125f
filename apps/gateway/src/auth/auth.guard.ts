import { Inject, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ParleyError, type Limits, type ProjectRecord, type Scope } from '@parley/contracts';
import type { GatewayConfig } from '@parley/config';
import type { Request } from 'express';
import { DEFAULT_PROJECT, type AccountStore } from '../accounts/account-store.js';
import { Tokens } from '../tokens.js';
import { clientAddress } from '../http/client-address.js';
import { setCaller, type Caller } from './caller.js';
import { VisitorTokens } from './visitor-tokens.js';
import type { WidgetKeys } from './widget-keys.js';

const BEARER = /^Bearer ([^\s]{1,2048})$/;
const ALLOW_VISITORS = 'parley:allowVisitors';
const SCOPES = 'parley:scopes';

/**
 * Marks a route (or controller) that a widget visitor's token may use. Every other `/v1` route refuses
 * visitor tokens with `forbidden`, so a public widget key can never reach the OpenAI-compatible endpoint,
 * listings, admin or erasure-by-user routes.
 */
export const AllowVisitors = () => SetMetadata(ALLOW_VISITORS, true);

/** The scopes of which an API key needs one for a route (or controller). */
export const RequireScope = (...scopes: Scope[]) => SetMetadata(SCOPES, scopes);

/** The token in `Authorization: Bearer <token>`, if the header has that form. */
export function bearerToken(req: Request): string | undefined {
  return BEARER.exec(req.headers.authorization ?? '')?.[1];
}

/** Widget keys' limits, and each visitor's: from the configuration, the same for every widget key. */
export interface WidgetLimits {
  key: Limits;
  visitor: Limits;
}

/**
 * Every `/v1` route requires `Authorization: Bearer <key>` with a scope the route names, or a visitor token
 * where {@link AllowVisitors} says so.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    @Inject(Tokens.config) private readonly config: GatewayConfig,
    @Inject(Tokens.accounts) private readonly accounts: AccountStore,
    @Inject(Tokens.widgetKeys) private readonly widgetKeys: WidgetKeys,
    @Inject(Tokens.widgetLimits) private readonly widgetLimits: WidgetLimits,
    @Inject(Tokens.visitorTokens) private readonly visitorTokens: VisitorTokens,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const targets = [context.getHandler(), context.getClass()];
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
      if (!this.reflector.getAllAndOverride<boolean | undefined>(ALLOW_VISITORS, targets)) {
        throw new ParleyError('forbidden', 'a visitor token can use only its own conversations');
      }
      const project = this.accounts.project(DEFAULT_PROJECT);
      setCaller(req, {
        ...this.projectPart(project),
        keyId: visitor.keyId,
        project: DEFAULT_PROJECT,
        visitor,
        address: clientAddress(req),
        scopes: new Set(['conversations']),
        limits: { project: project?.limits, key: this.widgetLimits.key },
      });
      return true;
    }
    const found = token ? this.accounts.authenticate(token) : undefined;
    if (!found) throw new ParleyError('unauthorized', 'a valid API key is required: Authorization: Bearer <key>');
    const { key, project } = found;
    const needed = this.reflector.getAllAndOverride<Scope[] | undefined>(SCOPES, targets);
    if (needed && !needed.some((scope) => key.scopes.includes(scope))) {
      throw new ParleyError('forbidden', `this key lacks the ${needed.join(' or ')} scope`);
    }
    const caller: Caller = {
      ...this.projectPart(project),
      keyId: key.id,
      project: project.id,
      address: clientAddress(req),
      scopes: new Set(key.scopes),
      limits: { project: project.limits, key: key.limits },
    };
    if (key.models) caller.models = intersect(caller.models, key.models);
    setCaller(req, caller);
    return true;
  }

  /** What a caller takes from its project. */
  private projectPart(project: ProjectRecord | undefined): Pick<Caller, 'models' | 'allowLogprobs' | 'systemPrompt'> {
    return {
      allowLogprobs: project?.allowLogprobs ?? this.config.PARLEY_ALLOW_LOGPROBS,
      ...(project?.models ? { models: new Set(project.models) } : {}),
      ...(project?.systemPrompt ? { systemPrompt: project.systemPrompt } : {}),
    };
  }
}

function intersect(current: ReadonlySet<string> | undefined, next: readonly string[]): ReadonlySet<string> {
  return new Set(current ? next.filter((model) => current.has(model)) : next);
}
