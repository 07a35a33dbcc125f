import { Controller, Get, Inject, Param, Req, UseGuards } from '@nestjs/common';
import {
  ExperimentQuerySchema,
  FeedbackQuerySchema,
  ParleyError,
  type ExperimentReport,
  type FeedbackList,
} from '@parley/contracts';
import type { JetStreamHandles } from '@parley/messaging';
import type { Request } from 'express';
import { ApiKeyGuard, RequireScope } from '../auth/auth.guard.js';
import { FeedbackService } from '../feedback/feedback.service.js';
import { parseBody } from '../http/body.js';
import { Tokens } from '../tokens.js';
import { experimentReport } from './experiment-report.js';

/** A model alias as the routing file allows it. */
const ALIAS = /^[A-Za-z0-9._:/-]{1,128}$/;

/** The quality loop's admin reads: ratings per project and range, and the experiment report of an alias. */
@Controller('v1/admin')
@UseGuards(ApiKeyGuard)
@RequireScope('admin')
export class ExperimentsController {
  constructor(
    @Inject(Tokens.jetstream) private readonly jetstream: JetStreamHandles,
    @Inject(FeedbackService) private readonly feedback: FeedbackService,
  ) {}

  /** Ratings given or changed in `?from=&to=` (default: the last 30 days), `?project=`, `?model=`; newest first. */
  @Get('feedback')
  async listFeedback(@Req() req: Request): Promise<FeedbackList> {
    return { object: 'list', data: await this.feedback.query(parseBody(FeedbackQuerySchema, req.query)) };
  }

  /** Per arm of `alias`: turns, ratings with their interval, latency, errors, fallbacks, tokens and cost. */
  @Get('experiments/:alias')
  experiment(@Req() req: Request, @Param('alias') alias: string): Promise<ExperimentReport> {
    if (!ALIAS.test(alias)) throw new ParleyError('invalid_request', 'not a model alias', { param: 'alias' });
    const query = parseBody(ExperimentQuerySchema, req.query);
    return experimentReport(this.jetstream, (turnIds) => this.feedback.byTurn(turnIds), alias, query);
  }
}
