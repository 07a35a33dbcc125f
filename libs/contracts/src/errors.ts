/**
 * Stable error codes: what clients branch on. Each code has one HTTP status and says whether retrying the
 * same request may help. The HTTP layer and NATS replies both carry these codes; nothing else is mapped.
 */
export const ErrorCodes = {
  invalid_request: { status: 400, retryable: false },
  invalid_json: { status: 400, retryable: false },
  invalid_id: { status: 400, retryable: false },
  context_length_exceeded: { status: 400, retryable: false },
  /** A guardrail blocked the message; the message is the policy's text for the visitor. */
  content_blocked: { status: 400, retryable: false },
  unauthorized: { status: 401, retryable: false },
  forbidden: { status: 403, retryable: false },
  origin_not_allowed: { status: 403, retryable: false },
  not_found: { status: 404, retryable: false },
  conversation_not_found: { status: 404, retryable: false },
  model_not_found: { status: 404, retryable: false },
  turn_not_found: { status: 404, retryable: false },
  payload_too_large: { status: 413, retryable: false },
  unsupported_media_type: { status: 415, retryable: false },
  idempotency_key_reused: { status: 422, retryable: false },
  rate_limited: { status: 429, retryable: true },
  budget_exhausted: { status: 429, retryable: true },
  internal_error: { status: 500, retryable: true },
  upstream_error: { status: 502, retryable: true },
  upstream_rejected: { status: 502, retryable: false },
  /** An item of a turn's stream was lost between services (a NATS restart): the reply has a hole. */
  stream_interrupted: { status: 502, retryable: true },
  no_responder: { status: 503, retryable: true },
  no_inference: { status: 503, retryable: true },
  service_unavailable: { status: 503, retryable: true },
  shutting_down: { status: 503, retryable: true },
  first_token_timeout: { status: 504, retryable: true },
  inter_token_timeout: { status: 504, retryable: true },
  turn_timeout: { status: 504, retryable: true },
  responder_lost: { status: 504, retryable: true },
  inference_lost: { status: 504, retryable: true },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

export type ErrorCode = keyof typeof ErrorCodes;

/**
 * The serialisable form of an error: in error frames, SSE error events and NATS error replies. It carries
 * everything the HTTP edge needs to answer as if the error had happened there.
 */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  /** Seconds a client should wait before retrying (`Retry-After`), when the source knew. */
  retryAfterSeconds?: number;
  /** The request field at fault, when there is one. */
  param?: string;
}

/**
 * The one error class that crosses boundaries. Its `code` decides the HTTP status and retryability.
 * @example throw new ParleyError('conversation_not_found', 'no such conversation');
 */
export class ParleyError extends Error {
  override readonly name = 'ParleyError';
  readonly retryable: boolean;
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { cause?: unknown; retryAfterSeconds?: number; param?: string; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause });
    this.headers = options.headers;
    this.retryable = ErrorCodes[code].retryable;
    this.status = ErrorCodes[code].status;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.param = options.param;
  }

  /** Seconds a client should wait before retrying (sent as `Retry-After`). */
  readonly retryAfterSeconds: number | undefined;
  /** The request field at fault, when there is one. */
  readonly param: string | undefined;
  /** HTTP headers the refusal is answered with (rate-limit state); never crosses NATS. */
  readonly headers: Record<string, string> | undefined;

  toInfo(): ErrorInfo {
    const info: ErrorInfo = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.retryAfterSeconds !== undefined) info.retryAfterSeconds = this.retryAfterSeconds;
    if (this.param !== undefined) info.param = this.param;
    return info;
  }

  /** Rebuilds an error that travelled as data, with its `Retry-After` and field. */
  static fromInfo({ code, message, retryAfterSeconds, param }: ErrorInfo): ParleyError {
    return new ParleyError(code, message, { retryAfterSeconds, param });
  }
}
