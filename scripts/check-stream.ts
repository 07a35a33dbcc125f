/**
 * `npm run check:stream -- --url https://chat.example.com --key "$KEY"`: a deploy-time check that replies
 * stream through the edge token by token. It opens one streamed `POST /v1/chat/completions` through the public
 * URL, notes when each chunk with content arrives, prints the time to the first token and how the arrivals spread,
 * and exits 1 with one line when they came buffered: most of the reply at one moment (a proxy that holds the
 * response until it ends), or in a few large bursts (one that flushes only when its buffer fills).
 *
 * The key comes from --key or the environment variable PARLEY_API_KEY (which keeps it out of `ps`), and is
 * never printed: every line this script writes passes through `redact`.
 *
 * Node runs this file directly (type stripping); it imports Node's own modules and one npm package.
 */
import { parseArgs } from 'node:util';
import { createParser } from 'eventsource-parser';

/** When each chunk with content of one streamed reply arrived, in ms after the request was sent. */
export interface StreamTiming {
  /** First byte of the body. */
  firstByteMs: number;
  /** One entry per event carrying content (a chunk: one token, or a few), in arrival order. */
  chunkMs: number[];
  /** The end of the body. */
  endMs: number;
}

/** How bursty a stream may be before it counts as buffered. */
export interface Thresholds {
  /** Fewer chunks with content than this cannot show streaming. */
  minChunks: number;
  /** Events closer than this to the one before arrived together (one read, one proxy flush). */
  burstGapMs: number;
  /** Buffered when one burst holds more than this share of the chunks. */
  maxBurstShare: number;
  /** Buffered when a burst holds this many chunks on average. */
  maxChunksPerBurst: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  minChunks: 5,
  burstGapMs: 5,
  maxBurstShare: 0.5,
  maxChunksPerBurst: 4,
};

export interface Verdict {
  ok: boolean;
  /** The measurements, for the log. */
  summary: string;
  /** Why it failed; empty when ok. */
  reason: string;
}

/** The bursts of a stream: runs of arrivals each within `gapMs` of the one before. */
export function bursts(arrivalsMs: readonly number[], gapMs: number): number[][] {
  const runs: number[][] = [];
  for (const at of arrivalsMs) {
    const last = runs.at(-1);
    if (last && at - last.at(-1)! < gapMs) last.push(at);
    else runs.push([at]);
  }
  return runs;
}

const ms = (value: number) => `${Math.round(value)} ms`;

/** Whether a stream arrived token by token, and the figures that say so. */
export function judge(timing: StreamTiming, thresholds: Thresholds = DEFAULT_THRESHOLDS): Verdict {
  const chunks = timing.chunkMs;
  if (chunks.length === 0) {
    return { ok: false, summary: `no content in ${ms(timing.endMs)}`, reason: 'the reply carried no content' };
  }
  const runs = bursts(chunks, thresholds.burstGapMs);
  const largest = runs.reduce((a, b) => (b.length > a.length ? b : a));
  const first = chunks[0]!;
  const summary =
    `time to first token ${ms(first)} (first byte ${ms(timing.firstByteMs)}); ${chunks.length} chunks over ` +
    `${ms(chunks.at(-1)! - first)} in ${runs.length} bursts (largest ${largest.length}); ended at ${ms(timing.endMs)}`;
  if (chunks.length < thresholds.minChunks) {
    return {
      ok: false,
      summary,
      reason: `only ${chunks.length} chunks with content: too few to tell streaming from buffering`,
    };
  }
  const burstSpan = ms(largest.at(-1)! - largest[0]!);
  if (largest.length > chunks.length * thresholds.maxBurstShare) {
    return {
      ok: false,
      summary,
      reason:
        `buffered: ${largest.length} of ${chunks.length} chunks arrived within ${burstSpan}, ` +
        `${ms(largest[0]!)} after the request (a proxy between here and the gateway holds the stream)`,
    };
  }
  if (chunks.length / runs.length >= thresholds.maxChunksPerBurst) {
    return {
      ok: false,
      summary,
      reason:
        `buffered: ${chunks.length} chunks arrived in only ${runs.length} bursts ` +
        `(a proxy between here and the gateway flushes only when its buffer fills)`,
    };
  }
  return { ok: true, summary, reason: '' };
}

export interface StreamRequest {
  /** The public base URL, e.g. https://chat.example.com; /v1/chat/completions is appended. */
  url: string;
  key: string;
  model: string;
  message: string;
  timeoutMs: number;
}

/** Thrown for a stream that could not be measured; the message is the line to print. */
export class StreamCheckError extends Error {
  override readonly name = 'StreamCheckError';
}

/** The endpoint for a base URL, without credentials or query, fit to print. */
export function completionsUrl(base: string): URL {
  const url = new URL(base);
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/v1/chat/completions')) {
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/chat/completions`;
  }
  return url;
}

/** Sends one streamed chat completion and notes when each chunk with content arrives. */
export async function measureStream(request: StreamRequest): Promise<StreamTiming> {
  const url = completionsUrl(request.url);
  const start = performance.now();
  const since = () => performance.now() - start;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${request.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: request.model,
        stream: true,
        messages: [{ role: 'user', content: request.message }],
      }),
      signal: AbortSignal.timeout(request.timeoutMs),
    });
  } catch (error) {
    throw new StreamCheckError(`POST ${url} failed: ${describe(error)}`);
  }
  if (response.status !== 200) {
    throw new StreamCheckError(`POST ${url} answered ${response.status}: ${await errorText(response)}`);
  }
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('text/event-stream')) {
    throw new StreamCheckError(`POST ${url} answered ${type || 'no Content-Type'}, not text/event-stream`);
  }
  const chunkMs: number[] = [];
  let arrival = 0;
  let firstByteMs: number | undefined;
  let streamError: string | undefined;
  const parser = createParser({
    onEvent(event) {
      if (event.data === '[DONE]') return;
      const data = parseJson(event.data) as {
        error?: { message?: string };
        choices?: { delta?: { content?: string } }[];
      };
      if (data?.error) streamError ??= data.error.message ?? 'an error event';
      if (data?.choices?.[0]?.delta?.content) chunkMs.push(arrival);
    },
  });
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.body!) {
      arrival = since();
      firstByteMs ??= arrival;
      parser.feed(decoder.decode(chunk, { stream: true }));
    }
  } catch (error) {
    throw new StreamCheckError(`the stream from ${url} broke off after ${chunkMs.length} chunks: ${describe(error)}`);
  }
  if (streamError) throw new StreamCheckError(`the stream from ${url} carried an error: ${streamError}`);
  return { firstByteMs: firstByteMs ?? since(), chunkMs, endMs: since() };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** An error response's message (OpenAI's `error.message`), else the start of its body. */
async function errorText(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  const body = parseJson(text) as { error?: { message?: string } } | undefined;
  return body?.error?.message ?? (text.slice(0, 200) || response.statusText);
}

function describe(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'no end of stream within the timeout';
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error instanceof Error ? error.message : String(error)}${cause}`;
}

/** `text` with every occurrence of the secrets replaced. */
export function redact(text: string, secrets: readonly string[]): string {
  return secrets.filter((s) => s.length > 0).reduce((out, secret) => out.split(secret).join('***'), text);
}

const USAGE =
  'usage: npm run check:stream -- --url https://chat.example.com [--key KEY | PARLEY_API_KEY=KEY] ' +
  '[--model support] [--message TEXT] [--timeout-ms 60000]';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      model: { type: 'string', default: 'support' },
      message: {
        type: 'string',
        default: 'In five or six sentences: what can you help me with, and how do I reach a person?',
      },
      'timeout-ms': { type: 'string', default: '60000' },
    },
  });
  const key = values.key ?? process.env.PARLEY_API_KEY ?? '';
  const say = (line: string) => console.log(redact(`check-stream: ${line}`, [key]));
  const fail = (line: string) => console.error(redact(`check-stream: FAIL: ${line}`, [key]));
  const timeoutMs = Number(values['timeout-ms']);
  if (!values.url || !key || !(timeoutMs > 0)) {
    console.error(USAGE);
    return 2;
  }
  try {
    const timing = await measureStream({
      url: values.url,
      key,
      model: values.model,
      message: values.message,
      timeoutMs,
    });
    const verdict = judge(timing);
    say(verdict.summary);
    if (!verdict.ok) {
      fail(verdict.reason);
      return 1;
    }
    say(`OK: streamed token by token through ${completionsUrl(values.url).origin}`);
    return 0;
  } catch (error) {
    if (!(error instanceof StreamCheckError)) throw error;
    fail(error.message);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main();
