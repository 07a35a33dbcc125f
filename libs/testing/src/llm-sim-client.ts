/**
 * The llm-sim control API over HTTP, for tests: change the knobs and faults, read what it received.
 */

/**
 * A message of a request llm-sim received. `content` is typed as the text the specs mostly read; a spec that sends
 * content parts, or an assistant message with only tool calls, reads it as `unknown`.
 */
export interface SimMessage {
  role: string;
  content: string;
  tool_calls?: { id: string; type: string; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

/** One chat completion or embedding request as llm-sim saw it (the fields tests assert on). */
export interface SimRecord {
  id: string;
  /** `/v1/chat/completions`, `/v1/embeddings`, or `/` (Text Embeddings Inference). */
  path: string;
  /** Epoch milliseconds. */
  receivedAt: number;
  /** Equal numbers: the same (kept-alive) connection. */
  connection: number;
  /** The request body as sent (every field, e.g. `tools`, `response_format`, `user`). */
  body: ({ messages: SimMessage[]; model: string } & Record<string, unknown>) | null;
  headers: { traceparent?: string; 'x-parley-conversation-id'?: string; authorization: boolean };
  status: string;
  aborted: boolean;
  /** The injected fault this request met, if any. */
  fault: string | null;
}

export class LlmSimClient {
  constructor(readonly url: string) {}

  /** `PUT /sim/config` with a partial update; throws with llm-sim's reason when refused. */
  async configure(patch: Record<string, unknown>): Promise<void> {
    const res = await fetch(`${this.url}/sim/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(patch),
    });
    if (!res.ok) throw new Error(`llm-sim refused ${JSON.stringify(patch)}: ${await res.text()}`);
  }

  /** The requests received, oldest first. */
  async requests(): Promise<SimRecord[]> {
    return ((await (await fetch(`${this.url}/sim/requests`)).json()) as { requests: SimRecord[] }).requests;
  }

  async clearRequests(): Promise<void> {
    await fetch(`${this.url}/sim/requests`, { method: 'DELETE' });
  }
}

/** Drains an async iterable into an array (provider events, frames). */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
