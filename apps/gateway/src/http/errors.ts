/**
 * The one place HTTP errors are shaped: every failure becomes `{ error: { code, message, requestId } }`, or
 * OpenAI's error shape on the OpenAI-compatible routes, with the status of its code and `Retry-After` when
 * known. Used by the Nest exception filter and by the body-parsing middleware that runs before Nest.
 */
import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import { InvalidIdError, ParleyError, type ErrorCode, type OpenAIErrorBody } from '@parley/contracts';
import type { Logger } from '@parley/tracing';
import type { Request, Response } from 'express';

/** Routes that answer errors in OpenAI's shape, so OpenAI SDKs raise their usual exceptions. */
const OPENAI_ROUTES = /^\/v1\/(chat\/completions|embeddings|models)(\/|$)/;

/** OpenAI's `error.type` for a status. */
function openAIType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'invalid_request_error';
  if (status === 429) return 'rate_limit_error';
  if (status < 500) return 'invalid_request_error';
  return 'server_error';
}

/** A ParleyError as OpenAI's error body: what the SDKs parse from a response or from a stream's `data:` line. */
export function openAIErrorBody(error: ParleyError): OpenAIErrorBody {
  return {
    error: { message: error.message, type: openAIType(error.status), param: error.param ?? null, code: error.code },
  };
}

/** `Retry-After` for a 503 or 429 that came without one. */
const DEFAULT_RETRY_AFTER_S = 1;

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/** Any thrown value as a ParleyError; unknown errors become `internal_error` (their text is not exposed). */
export function toParleyError(error: unknown): ParleyError {
  if (error instanceof ParleyError) return error;
  if (error instanceof InvalidIdError) return new ParleyError('invalid_id', error.message);
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const code = STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'invalid_request');
    const message = status === 404 ? 'no such route' : error.message;
    return new ParleyError(code, message);
  }
  return new ParleyError('internal_error', 'internal error', { cause: error });
}

export function requestIdOf(req: Request): string {
  return String(req.headers['x-request-id'] ?? '');
}

export function sendError(req: Request, res: Response, error: ParleyError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  // Errors that crossed NATS lost their hint; every 503 and 429 still tells the client when to retry.
  const retryAfter =
    error.retryAfterSeconds ?? (error.status === 503 || error.status === 429 ? DEFAULT_RETRY_AFTER_S : undefined);
  if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
  for (const [name, value] of Object.entries(error.headers ?? {})) res.setHeader(name, value);
  const requestId = requestIdOf(req) || undefined;
  if (OPENAI_ROUTES.test(req.path)) {
    res.status(error.status).json(openAIErrorBody(error));
  } else {
    res.status(error.status).json({ error: { code: error.code, message: error.message, requestId } });
  }
}

@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const error = toParleyError(exception);
    const res = http.getResponse<Response>();
    // A handler that went on after its request was already answered (NATS lost meanwhile) has nothing to add.
    if (res.writableEnded) return;
    if (error.code === 'internal_error') {
      this.log.error({ err: exception, path: req.path, requestId: requestIdOf(req) }, 'request failed');
    }
    sendError(req, res, error);
  }
}
