import type { IncomingHttpHeaders } from 'node:http';
import type { FaultKind } from './config.js';

/** How a recorded request ended, or `streaming` while the response is still being produced. */
export const RequestStatus = {
  streaming: 'streaming',
  completed: 'completed',
  aborted: 'aborted',
  faulted: 'faulted',
} as const;
export type RequestStatus = (typeof RequestStatus)[keyof typeof RequestStatus];

/** The request headers worth asserting on; the authorization value is never stored, only its presence. */
export interface RecordedHeaders {
  traceparent?: string;
  'x-parley-conversation-id'?: string;
  authorization: boolean;
}

/** One chat completion request as the simulator saw it. */
export interface SimRequestRecord {
  /** Also the `id` of the completion sent back, to correlate with what the client received. */
  id: string;
  /** Epoch milliseconds. */
  receivedAt: number;
  path: string;
  /** The connection it came on, numbered as connections open: equal numbers mean a kept-alive socket was reused. */
  connection: number;
  /** The parsed JSON body, or `null` when it was not JSON. */
  body: unknown;
  headers: RecordedHeaders;
  status: RequestStatus;
  /**
   * True when the connection closed before the response finished: the client went away (or the simulator shut
   * down). An injected cut is the simulator's doing and leaves this false.
   */
  aborted: boolean;
  /** The HTTP status sent, once sent. */
  httpStatus: number | null;
  /** The fault injected into this request, if any. */
  fault: FaultKind | null;
  /** Content tokens sent so far. */
  completionTokens: number;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Picks the recorded headers out of a request's headers. */
export function recordHeaders(headers: IncomingHttpHeaders): RecordedHeaders {
  const recorded: RecordedHeaders = { authorization: headers.authorization !== undefined };
  const traceparent = firstHeader(headers.traceparent);
  const conversationId = firstHeader(headers['x-parley-conversation-id']);
  if (traceparent !== undefined) recorded.traceparent = traceparent;
  if (conversationId !== undefined) recorded['x-parley-conversation-id'] = conversationId;
  return recorded;
}

/** Keeps the most recent requests, up to a cap, oldest first. */
export class RequestLog {
  readonly #records: SimRequestRecord[] = [];

  constructor(private readonly maxRecords: number) {}

  /** Adds a record; handlers keep mutating it as the response progresses. */
  add(record: SimRequestRecord): SimRequestRecord {
    this.#records.push(record);
    if (this.#records.length > this.maxRecords) this.#records.shift();
    return record;
  }

  /** A snapshot, so callers can't observe or cause later mutation. */
  list(): SimRequestRecord[] {
    return structuredClone(this.#records);
  }

  clear(): void {
    this.#records.length = 0;
  }
}
