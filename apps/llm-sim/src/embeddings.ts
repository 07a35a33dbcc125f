/**
 * Embeddings, deterministic: a vector is derived from a SHA-256 of the seed and the input, of the configured
 * length (or the request's `dimensions`, a prefix renormalised as Matryoshka models shorten theirs), unit length,
 * each value a float32 so that `float` and `base64` answers agree exactly. Served as OpenAI's
 * `POST /v1/embeddings` and as Text Embeddings Inference's `POST /` (what Hugging Face's feature extraction posts
 * to a dedicated endpoint).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { FaultKind, type SimKnobs } from './config.js';
import { destroyAfterFlush, HttpError, readJsonBody, sendJson, untilAborted } from './http.js';
import { errorBody, faultErrorBody } from './openai-format.js';
import { RequestStatus } from './records.js';
import type { CompletionContext } from './completions.js';

const TokenIds = z.array(z.int().nonnegative()).min(1);

/** What the simulator reads of an OpenAI embeddings request; unknown fields pass unchecked, as for chat. */
export const EmbeddingsRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1), TokenIds, z.array(TokenIds).min(1)]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.int().positive().nullish(),
});

/** What the simulator reads of a Text Embeddings Inference request. */
export const FeatureExtractionRequestSchema = z.looseObject({
  inputs: z.union([z.string(), z.array(z.string()).min(1)]),
  dimensions: z.int().positive().nullish(),
});

/**
 * The simulated embedding of one input: `dimensions` float32 values of unit length.
 * @example embeddingOf({ input: 'hello', seed: 42, dimensions: 8 })
 */
export function embeddingOf({
  input,
  seed,
  dimensions,
}: {
  input: string | readonly number[];
  seed: number;
  dimensions: number;
}): number[] {
  const text = typeof input === 'string' ? input : JSON.stringify(input);
  const values: number[] = [];
  for (let block = 0; values.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${seed}\0${block}\0${text}`).digest();
    for (let i = 0; i + 4 <= digest.length && values.length < dimensions; i += 4) {
      values.push(digest.readUInt32LE(i) / 2 ** 31 - 1);
    }
  }
  const norm = Math.hypot(...values) || 1;
  return values.map((value) => Math.fround(value / norm));
}

/** Little-endian float32, as OpenAI's `encoding_format: base64`. */
function base64Of(vector: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes.toString('base64');
}

/** Words of the inputs (a token id is a token), as the prompt token count. */
function countInputTokens(inputs: readonly (string | readonly number[])[]): number {
  return inputs.reduce(
    (sum, input) => sum + (typeof input === 'string' ? (input.match(/\S+/g)?.length ?? 0) : input.length),
    0,
  );
}

/** What the server hands an embeddings handler for one request: a chat completion's, less its metrics. */
export type EmbeddingsContext = Omit<CompletionContext, 'metrics'>;

/**
 * Applies the request's fault, if any: true when it answered (or dropped) the request. A fault that acts on a
 * stream (`cut`, `stall`, `error`) acts on the whole reply, as it does on a chat completion that is not streamed.
 */
async function applyFault(ctx: EmbeddingsContext): Promise<boolean> {
  const fault = ctx.state.takeFault();
  ctx.record.fault = fault?.kind ?? null;
  if (fault === null) return false;
  ctx.record.status = RequestStatus.faulted;
  if (fault.kind === FaultKind.status) {
    const headers: Record<string, string> =
      fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
    sendJson(ctx.res, fault.status, faultErrorBody(fault.status), headers);
  } else if (fault.kind === FaultKind.error) {
    sendJson(ctx.res, 500, faultErrorBody(500));
  } else if (fault.kind === FaultKind.hang || fault.kind === FaultKind.stall) {
    await untilAborted(ctx.signal);
  } else {
    ctx.closingOnPurpose();
    if (fault.kind === FaultKind.drop) ctx.req.socket.destroy();
    else await destroyAfterFlush(ctx.res);
  }
  return true;
}

/** The vectors' length: the request's `dimensions`, at most the model's own. */
function dimensionsOf(knobs: SimKnobs, asked: number | null | undefined): number {
  if (asked == null) return knobs.embeddingDimensions;
  if (asked > knobs.embeddingDimensions) {
    throw new HttpError(
      400,
      errorBody({
        message: `dimensions may be at most ${knobs.embeddingDimensions} for this model.`,
        param: 'dimensions',
        code: 'invalid_value',
      }),
    );
  }
  return asked;
}

/** Serves `POST /v1/embeddings` in OpenAI's shape, floats or base64. */
export async function handleEmbeddings(ctx: EmbeddingsContext): Promise<void> {
  const body = await readJsonBody(ctx.req);
  ctx.record.body = body;
  const parsed = EmbeddingsRequestSchema.safeParse(body);
  if (!parsed.success) throw HttpError.fromZod(parsed.error);
  const { knobs } = ctx.state;
  const dimensions = dimensionsOf(knobs, parsed.data.dimensions);
  if (await applyFault(ctx)) return;
  const { input } = parsed.data;
  const inputs: (string | number[])[] =
    typeof input === 'string' || typeof input[0] === 'number'
      ? [input as string | number[]]
      : (input as (string | number[])[]);
  const base64 = parsed.data.encoding_format === 'base64';
  const tokens = countInputTokens(inputs);
  sendJson(ctx.res, 200, {
    object: 'list',
    data: inputs.map((one, index) => {
      const vector = embeddingOf({ input: one, seed: knobs.seed, dimensions });
      return { object: 'embedding', index, embedding: base64 ? base64Of(vector) : vector };
    }),
    model: parsed.data.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

/** Serves Text Embeddings Inference's `POST /`: one vector per input, as a list of lists. */
export async function handleFeatureExtraction(ctx: EmbeddingsContext): Promise<void> {
  const body = await readJsonBody(ctx.req);
  ctx.record.body = body;
  const parsed = FeatureExtractionRequestSchema.safeParse(body);
  if (!parsed.success) throw HttpError.fromZod(parsed.error);
  const { knobs } = ctx.state;
  const dimensions = dimensionsOf(knobs, parsed.data.dimensions);
  if (await applyFault(ctx)) return;
  const inputs = [parsed.data.inputs].flat();
  sendJson(
    ctx.res,
    200,
    inputs.map((input) => embeddingOf({ input, seed: knobs.seed, dimensions })),
  );
}
