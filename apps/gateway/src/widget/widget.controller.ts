/**
 * What the embeddable widget needs from the gateway: the script itself, a visitor session for a public
 * widget key, and the demo page at `/` that shows the product working.
 */
import { Controller, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { GatewayConfig } from '@parley/config';
import { ParleyError, WidgetSessionBodySchema, type WidgetSession } from '@parley/contracts';
import type { Logger } from '@parley/tracing';
import type { Request, Response } from 'express';
import { parseBody } from '../http/body.js';
import { Tokens } from '../tokens.js';
import { demoPage } from './demo-page.js';
import { clientAddress } from '../http/client-address.js';
import type { VisitorLimits } from '../rate-limits/visitor-limits.js';
import { VisitorTokens } from '../auth/visitor-tokens.js';
import type { WidgetKeys } from '../auth/widget-keys.js';
import type { WidgetScript } from './widget-script.js';

const YEAR_SECONDS = 365 * 24 * 3600;
/** Unversioned `/widget.js` is revalidated every 5 minutes, so a new release reaches pages quickly. */
const UNVERSIONED_MAX_AGE_SECONDS = 300;

@Controller()
export class WidgetController {
  constructor(
    @Inject(Tokens.config) private readonly config: GatewayConfig,
    @Inject(Tokens.widgetKeys) private readonly widgetKeys: WidgetKeys,
    @Inject(Tokens.visitorTokens) private readonly visitorTokens: VisitorTokens,
    @Inject(Tokens.visitorLimits) private readonly limits: VisitorLimits,
    @Inject(Tokens.widgetScript) private readonly script: WidgetScript | undefined,
    @Inject(Tokens.log) private readonly log: Logger,
  ) {}

  /**
   * Starts or renews a visitor session. The request must come from an origin the widget key allows; a still
   * valid token of the same key keeps the same visitor (and so their conversations).
   */
  @Post('v1/widget/session')
  @HttpCode(201)
  async session(@Req() req: Request): Promise<WidgetSession> {
    const body = parseBody(WidgetSessionBodySchema, req.body);
    const widgetKey = this.widgetKeys.find(body.key);
    if (!widgetKey) throw new ParleyError('unauthorized', 'unknown widget key', { param: 'key' });
    const origin = req.headers.origin;
    if (origin === undefined || !widgetKey.origins.has(origin)) {
      throw new ParleyError('origin_not_allowed', 'this widget key may not be used from this origin');
    }
    let visitorId: string | undefined;
    if (body.visitorToken) {
      const previous = await this.visitorTokens.verify(body.visitorToken).catch(() => undefined);
      if (previous?.keyId === widgetKey.keyId) visitorId = previous.visitorId;
    }
    if (!visitorId) await this.limits.newSession(clientAddress(req));
    const session = await this.visitorTokens.issue(widgetKey.keyId, origin, visitorId);
    if (!visitorId) this.log.info({ widgetKeyId: widgetKey.keyId, origin }, 'visitor session started');
    return session;
  }

  /**
   * The widget script. `?v=<version>` (the URL the demo page and the docs use) is immutable for a year; the
   * plain URL is revalidated by ETag every few minutes.
   */
  @Get('widget.js')
  widget(@Req() req: Request, @Res() res: Response): void {
    const script = this.script;
    if (!script) throw new ParleyError('not_found', 'the widget is not built (npm run build)');
    const etag = `"${script.version}"`;
    res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
    res.setHeader('ETag', etag);
    res.setHeader('Vary', 'Accept-Encoding');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Any site may load the script (that is its purpose); CORP lets pages with COEP embed it.
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader(
      'Cache-Control',
      req.query.v === script.version
        ? `public, max-age=${YEAR_SECONDS}, immutable`
        : `public, max-age=${UNVERSIONED_MAX_AGE_SECONDS}`,
    );
    if (req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    const accepts = String(req.headers['accept-encoding'] ?? '');
    const [encoding, body] = /\bbr\b/.test(accepts)
      ? ['br', script.br]
      : /\bgzip\b/.test(accepts)
        ? ['gzip', script.gzip]
        : [undefined, script.identity];
    if (encoding) res.setHeader('Content-Encoding', encoding);
    res.setHeader('Content-Length', body.length);
    res.status(200).end(body);
  }

  /** The demo page: the widget embedded with the first widget key that allows this page's origin. */
  @Get()
  demo(@Req() req: Request, @Res() res: Response): void {
    if (!this.config.PARLEY_DEMO_PAGE) throw new ParleyError('not_found', 'no such route');
    const origin = `${req.protocol}://${req.get('host') ?? ''}`;
    const key = this.config.PARLEY_WIDGET_KEYS?.find((k) => k.origins.includes(origin))?.key;
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; " +
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    res.status(200).end(demoPage({ origin, key, version: this.script?.version }));
  }
}
