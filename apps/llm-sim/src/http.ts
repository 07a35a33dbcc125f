import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { describeIssue, issuePath } from './config.js';
import { errorBody, type OpenAiErrorBody } from './openai-format.js';

// Chat prompts with long histories stay far below this; the cap only stops a runaway client from exhausting memory.
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** An error that becomes an HTTP response with an OpenAI error body, at the one place the server answers. */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly status: number,
    readonly body: OpenAiErrorBody,
    options: { cause?: unknown } = {},
  ) {
    super(body.error.message, options);
  }

  /** A 400 for a body that failed schema validation, naming the first offending field. */
  static fromZod(error: z.ZodError): HttpError {
    const first = error.issues[0];
    return new HttpError(
      400,
      errorBody({
        message: describeIssue(error),
        param: first === undefined ? null : issuePath(first.path) || null,
        code: first?.code ?? null,
      }),
      { cause: error },
    );
  }
}

/**
 * Reads and parses a JSON request body.
 *
 * @throws HttpError 413 past the size cap, 400 when the body is not JSON.
 */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > MAX_BODY_BYTES) {
      throw new HttpError(
        413,
        errorBody({ message: `Request body exceeds ${MAX_BODY_BYTES} bytes.`, code: 'too_large' }),
      );
    }
    parts.push(part);
  }
  const text = Buffer.concat(parts).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new HttpError(
      400,
      errorBody({ message: `We could not parse the JSON body of your request: ${(cause as Error).message}` }),
      { cause },
    );
  }
}

/** Sends a complete JSON response. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Sends an empty response, e.g. 200 for `/health` the way vLLM answers it. */
export function sendEmpty(res: ServerResponse, status: number): void {
  // A 204 must not carry Content-Length (RFC 9110); Node already knows it has no body.
  res.writeHead(status, status === 204 ? {} : { 'content-length': 0 });
  res.end();
}

/** Writes to a response and waits for the socket to drain when its buffer is full, so slow readers apply backpressure. */
export async function writeWithBackpressure(res: ServerResponse, data: string, signal: AbortSignal): Promise<void> {
  if (res.write(data)) return;
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      res.off('drain', onDrain);
      reject(signal.reason);
    };
    const onDrain = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    if (signal.aborted) return onAbort();
    res.once('drain', onDrain);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Destroys the connection once everything written so far has reached the operating system, so the client
 * receives every sent token and then sees the connection drop.
 */
export function destroyAfterFlush(res: ServerResponse): Promise<void> {
  const socket = res.socket;
  if (socket === null || socket.destroyed) return Promise.resolve();
  // An empty socket write completes only after the writes queued before it, unlike an empty `res.write`.
  return new Promise((resolve) =>
    socket.write('', () => {
      socket.destroy();
      resolve();
    }),
  );
}

/** Resolves when the signal aborts: for stalls, which hold a connection until the client goes away. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
