import { Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Req, UseGuards } from '@nestjs/common';
import {
  CreateKeyBodySchema,
  CreateProjectBodySchema,
  PatchKeyBodySchema,
  PatchProjectBodySchema,
  RotateKeyBodySchema,
  UsageQuerySchema,
  type KeyCreated,
  type KeyView,
  type ProjectView,
  type UsageReport,
} from '@parley/contracts';
import type { JetStreamHandles } from '@parley/messaging';
import type { Request } from 'express';
import { z } from 'zod';
import type { AccountStore } from '../accounts/account-store.js';
import { ApiKeyGuard, RequireScope } from '../auth/auth.guard.js';
import { parseBody } from '../http/body.js';
import { Tokens } from '../tokens.js';
import { usageReport } from '../usage/usage.js';

const ListKeysQuerySchema = z.strictObject({ project: z.string().optional() });

/**
 * Projects, API keys and usage (`admin` scope). A key's secret is in the answer of its creation and of each
 * rotation, and nowhere else, ever.
 */
@Controller('v1/admin')
@UseGuards(ApiKeyGuard)
@RequireScope('admin')
export class AccountsController {
  constructor(
    @Inject(Tokens.accounts) private readonly accounts: AccountStore,
    @Inject(Tokens.jetstream) private readonly jetstream: JetStreamHandles,
  ) {}

  @Post('projects')
  @HttpCode(201)
  createProject(@Req() req: Request): Promise<ProjectView> {
    return this.accounts.createProject(parseBody(CreateProjectBodySchema, req.body));
  }

  @Get('projects')
  listProjects(): { object: 'list'; data: ProjectView[] } {
    return { object: 'list', data: this.accounts.listProjects() };
  }

  @Get('projects/:id')
  getProject(@Param('id') id: string): ProjectView {
    return this.accounts.getProject(id);
  }

  @Patch('projects/:id')
  patchProject(@Req() req: Request, @Param('id') id: string): Promise<ProjectView> {
    return this.accounts.patchProject(id, parseBody(PatchProjectBodySchema, req.body));
  }

  @Post('keys')
  @HttpCode(201)
  createKey(@Req() req: Request): Promise<KeyCreated> {
    return this.accounts.createKey(parseBody(CreateKeyBodySchema, req.body));
  }

  /** Every key, or one project's (`?project=`); never a secret. */
  @Get('keys')
  listKeys(@Req() req: Request): { object: 'list'; data: KeyView[] } {
    const { project } = parseBody(ListKeysQuerySchema, req.query);
    return { object: 'list', data: this.accounts.listKeys(project) };
  }

  @Get('keys/:id')
  getKey(@Param('id') id: string): KeyView {
    return this.accounts.getKey(id);
  }

  @Patch('keys/:id')
  patchKey(@Req() req: Request, @Param('id') id: string): Promise<KeyView> {
    return this.accounts.patchKey(id, parseBody(PatchKeyBodySchema, req.body));
  }

  /** A new secret; the old one keeps working for `gracePeriodSeconds` (default 3600). */
  @Post('keys/:id/rotate')
  @HttpCode(200)
  rotateKey(@Req() req: Request, @Param('id') id: string): Promise<KeyCreated> {
    const { gracePeriodSeconds } = parseBody(RotateKeyBodySchema, req.body ?? {});
    return this.accounts.rotateKey(id, gracePeriodSeconds);
  }

  /** Revokes the key on every replica; its record, conversations and usage stay. */
  @Delete('keys/:id')
  revokeKey(@Param('id') id: string): Promise<KeyView> {
    return this.accounts.revokeKey(id);
  }

  /** Requests and tokens from the usage stream, `?project=&key=&from=&to=&groupBy=day|model|key|project`. */
  @Get('usage')
  usage(@Req() req: Request): Promise<UsageReport> {
    return usageReport(this.jetstream, parseBody(UsageQuerySchema, req.query));
  }
}
