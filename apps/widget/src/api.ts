/** The gateway calls the widget makes, with a timeout on every one that is not a stream. */
import type { ConversationWithMessages, WidgetSession } from '@parley/contracts';

const REQUEST_TIMEOUT_MS = 15_000;

/** An error the gateway reported (or a network failure, `network_error`), and whether retrying may help. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly status = 0,
  ) {
    super(message);
  }
}

export class Api {
  token = '';

  constructor(
    private readonly base: string,
    private readonly key: string,
  ) {}

  session(visitorToken?: string): Promise<WidgetSession> {
    return this.json('/v1/widget/session', { method: 'POST', body: { key: this.key, visitorToken } }, false);
  }

  createConversation(): Promise<{ id: string }> {
    return this.json('/v1/conversations', { method: 'POST', body: {} });
  }

  conversation(id: string): Promise<ConversationWithMessages> {
    return this.json(`/v1/conversations/${encodeURIComponent(id)}`);
  }

  cancel(conversationId: string, turnId: string): Promise<unknown> {
    return this.json(`${turnPath(conversationId, turnId)}/cancel`, { method: 'POST', body: {} });
  }

  /** Sends a message; the response streams the reply's events. */
  send(conversationId: string, content: string, idempotencyKey: string, signal: AbortSignal): Promise<Response> {
    return this.request(`/v1/conversations/${encodeURIComponent(conversationId)}/messages`, {
      method: 'POST',
      body: { content },
      headers: { 'Idempotency-Key': idempotencyKey, Accept: 'text/event-stream' },
      signal,
    });
  }

  /** A turn's events after frame `after` (0: from the start). */
  events(conversationId: string, turnId: string, after: number, signal: AbortSignal): Promise<Response> {
    return this.request(`${turnPath(conversationId, turnId)}/events?after=${after}`, {
      headers: { Accept: 'text/event-stream' },
      signal,
    });
  }

  private async json<T>(path: string, init: RequestInit2 = {}, auth = true): Promise<T> {
    const res = await this.request(path, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }, auth);
    return (await res.json()) as T;
  }

  private async request(path: string, init: RequestInit2, auth = true): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (auth) headers.Authorization = `Bearer ${this.token}`;
    if (init.body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method: init.method ?? 'GET',
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal,
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw new ApiError('network_error', 'network error', true);
    }
    if (res.ok) return res;
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    const code = body.error?.code ?? 'http_error';
    throw new ApiError(
      code,
      body.error?.message ?? res.statusText,
      res.status === 429 || res.status >= 500,
      res.status,
    );
  }
}

interface RequestInit2 {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

function turnPath(conversationId: string, turnId: string): string {
  return `/v1/conversations/${encodeURIComponent(conversationId)}/turns/${encodeURIComponent(turnId)}`;
}
