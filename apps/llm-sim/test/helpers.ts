import type { LlmSim } from '../src/server.js';

/** A minimal valid chat completion request body. */
export function chatBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'sim-model', messages: [{ role: 'user', content: 'Where is my order?' }], ...overrides };
}

/** Posts a chat completion request over real HTTP. */
export function postChat(
  sim: LlmSim,
  body: unknown,
  init: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(`${sim.openaiBaseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: init.signal,
  });
}

/** Reads a whole SSE body and returns the `data:` payloads in order; fails on any line that is not `data: …`. */
export async function readSseData(response: Response): Promise<string[]> {
  const text = await response.text();
  if (!text.endsWith('\n\n'))
    throw new Error(`stream does not end with a blank line: ${JSON.stringify(text.slice(-40))}`);
  return text
    .slice(0, -2)
    .split('\n\n')
    .map((event) => {
      if (!event.startsWith('data: ') || event.includes('\n')) throw new Error(`unexpected SSE event: ${event}`);
      return event.slice('data: '.length);
    });
}

/** A streamed chunk as the tests inspect it. */
export interface ChunkShape {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: { index: number; delta: { role?: string; content?: string }; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** Sends JSON to a control endpoint. */
export function putConfig(sim: LlmSim, body: unknown): Promise<Response> {
  return fetch(`${sim.url}/sim/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
