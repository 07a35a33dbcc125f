/**
 * Request bodies: JSON only, within the configured size, parsed before Nest so that a malformed or oversized
 * body is answered with the same error shape as everything else. Also assigns each request its id.
 */
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ParleyError } from '@parley/contracts';
import type { z } from 'zod';
import { sendError } from './errors.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Keeps a sane caller-supplied `X-Request-Id`, or makes one; echoed in the response. */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    req.headers['x-request-id'] = id;
    res.setHeader('X-Request-Id', id);
    next();
  };
}

export function jsonBody({ maxBodyBytes }: { maxBodyBytes: number }): RequestHandler[] {
  const parse = express.json({ limit: maxBodyBytes, strict: true, type: () => true });
  const onlyJson: RequestHandler = (req, res, next) => {
    const length = req.headers['content-length'];
    const hasBody = (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody || req.method === 'GET' || req.method === 'HEAD') return next();
    if (!req.is('application/json')) {
      return sendError(req, res, new ParleyError('unsupported_media_type', 'send the body as application/json'));
    }
    if (length !== undefined && Number(length) > maxBodyBytes) {
      // Refused before a byte of it is read; closing the connection spares the client sending the rest.
      res.setHeader('Connection', 'close');
      return sendError(req, res, tooLarge(maxBodyBytes));
    }
    parse(req, res, next);
  };
  return [onlyJson];
}

function tooLarge(maxBodyBytes?: number): ParleyError {
  const limit = maxBodyBytes === undefined ? '' : ` (at most ${maxBodyBytes} bytes)`;
  return new ParleyError('payload_too_large', `the request body is too large${limit}`);
}

/** Error middleware for the body parser's failures (it reports them with `type`). */
export function bodyErrors() {
  return (error: { type?: string; status?: number }, req: Request, res: Response, next: NextFunction) => {
    if (error.type === 'entity.too.large') {
      return sendError(req, res, tooLarge());
    }
    if (error.type === 'entity.parse.failed') {
      return sendError(req, res, new ParleyError('invalid_json', 'the request body is not valid JSON'));
    }
    if (error.status !== undefined && error.status >= 400 && error.status < 500) {
      return sendError(req, res, new ParleyError('invalid_request', 'the request body could not be read'));
    }
    next(error);
  };
}

/**
 * Validates a parsed body; the first problem becomes an `invalid_request` naming the field.
 * @example const body = parseBody(SendMessageBodySchema, req.body);
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (body === undefined) throw new ParleyError('invalid_request', 'a JSON body is required');
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    // A strict schema's unknown field: named, so that nothing a caller sends is silently ignored.
    const unknown = [...issue.path, issue.keys[0]!].map(String).join('.');
    throw new ParleyError('invalid_request', `unknown parameter: ${unknown}`, { param: unknown });
  }
  const param = issue.path.map(String).join('.');
  const message = param ? `${param}: ${issue.message}` : issue.message;
  throw new ParleyError('invalid_request', message, { param: param || undefined });
}

/** Rejects a message whose UTF-8 size exceeds the per-message limit. */
export function assertMessageSize(content: string, maxMessageBytes: number, param: string): void {
  if (Buffer.byteLength(content, 'utf8') > maxMessageBytes) {
    throw new ParleyError('payload_too_large', `${param} is larger than ${maxMessageBytes} bytes`, { param });
  }
}
