/**
 * Embeds inputs for `/v1/embeddings`: the alias's targets in routing order (sticky per caller, so one caller's
 * vectors come from one split target), each behind its guard (slots, retries, breaker), falling back on the
 * failures another target may not have. The vectors go back as base64 of little-endian float32.
 */
import { Inject, Injectable } from '@nestjs/common';
import { context, trace } from '@opentelemetry/api';
import { ParleyError, type EmbedReply, type EmbedRequest } from '@parley/contracts';
import { httpTraceHeaders } from '@parley/messaging';
import { recordError, type Logger } from '@parley/tracing';
import { worthFallingBack } from '../generation/generation.js';
import { GenerationMetrics } from '../generation/generation.metrics.js';
import type { EmbedInput, EmbedOutput, EmbeddingParamName } from '../providers/provider.js';
import type { Router, Target } from '../routing/router.js';
import { QUEUE_WAIT_MS } from '../routing/target-guard.js';
import { targetSpan } from '../routing/target-span.js';
import { Tokens } from '../tokens.js';

const EMBEDDING_PARAMS: readonly EmbeddingParamName[] = ['dimensions', 'user'];

/** What of the request `target` cannot take: token-id input or a parameter; undefined when it can serve it. */
function unservable(target: Target, request: EmbedRequest): string | undefined {
  const support = target.provider.embeddings;
  if (!support) return 'embeddings';
  if (!support.tokenInput && typeof request.input[0] !== 'string') return 'input';
  return EMBEDDING_PARAMS.find((name) => request[name] !== undefined && !support.params.has(name));
}

/**
 * The targets that can serve the request, in routing order; when none can, a 400 naming what the first one
 * cannot take (never sent to an upstream that would ignore it).
 */
export function fittingEmbedTargets(targets: Target[], request: EmbedRequest): Target[] {
  const fitting = targets.filter((target) => unservable(target, request) === undefined);
  if (fitting.length > 0) return fitting;
  const what = unservable(targets[0]!, request)!;
  const message =
    what === 'input'
      ? `model "${request.model}" takes text inputs only, not token arrays`
      : `model "${request.model}" cannot serve the parameter ${what}`;
  throw new ParleyError('invalid_request', message, { param: what });
}

/** A vector as OpenAI's `encoding_format: base64` sends it: little-endian float32. */
export function toBase64(vector: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes.toString('base64');
}

@Injectable()
export class EmbeddingsService {
  constructor(
    @Inject(Tokens.router) private readonly router: Router,
    @Inject(Tokens.log) private readonly log: Logger,
    @Inject(GenerationMetrics) private readonly metrics: GenerationMetrics,
  ) {}

  /** The request's vectors from the first target that gives them; runs in the request's consumer span. */
  async embed(request: EmbedRequest): Promise<EmbedReply> {
    const targets = fittingEmbedTargets(this.router.targets(request.model, request.stickyKey, 'embedding'), request);
    const deadline = AbortSignal.timeout(request.timeoutMs);
    for (const [attempt, target] of targets.entries()) {
      try {
        const output = await this.attempt(target, request, deadline);
        return { embeddings: checked(output, request, target).map(toBase64), usage: output.usage };
      } catch (error) {
        if (deadline.aborted) {
          throw new ParleyError('first_token_timeout', `the embeddings took more than ${request.timeoutMs} ms`);
        }
        if (attempt === targets.length - 1 || !worthFallingBack(error)) throw error;
        const code = error instanceof ParleyError ? error.code : 'upstream_error';
        this.log.warn(
          { model: request.model, target: target.name, next: targets[attempt + 1]!.name, code },
          'falling back',
        );
      }
    }
    throw new ParleyError('internal_error', 'no target was tried');
  }

  /** One target's call, in its own GenAI client span, through its guard. */
  private async attempt(target: Target, request: EmbedRequest, signal: AbortSignal): Promise<EmbedOutput> {
    const parent = context.active();
    const span = targetSpan({ operation: 'embeddings', target, alias: request.model, parent });
    let release: (() => void) | undefined;
    try {
      const input = (attemptSignal: AbortSignal): EmbedInput => ({
        model: target.upstreamModel,
        input: request.input,
        ...(request.dimensions !== undefined && { dimensions: request.dimensions }),
        ...(request.user !== undefined && { user: request.user }),
        signal: attemptSignal,
        traceparent: httpTraceHeaders(trace.setSpan(parent, span)).traceparent,
      });
      let output: EmbedOutput;
      if (target.guard) {
        release = await target.guard.acquire(signal, { queueWaitMs: QUEUE_WAIT_MS });
        output = await target.guard.open((attemptSignal) => target.provider.embed(input(attemptSignal)), signal);
      } else {
        output = await target.provider.embed(input(signal));
      }
      span.setAttribute('gen_ai.usage.input_tokens', output.usage.prompt_tokens);
      this.metrics.tokens.inc(
        { model: request.model, target: target.name, direction: 'input' },
        output.usage.prompt_tokens,
      );
      return output;
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      release?.();
      span.end();
    }
  }
}

/** The vectors, after checking there is one per input, each of the asked-for dimensions. */
function checked({ embeddings }: EmbedOutput, request: EmbedRequest, target: Target): number[][] {
  const upstream = `target ${target.name}`;
  if (embeddings.length !== request.input.length) {
    throw new ParleyError(
      'upstream_error',
      `${upstream} answered ${embeddings.length} vectors for ${request.input.length} inputs`,
    );
  }
  const wrong = request.dimensions && embeddings.find((v) => v.length !== request.dimensions);
  if (wrong) {
    // A server that ignored `dimensions` would otherwise drop it silently.
    throw new ParleyError(
      'upstream_error',
      `${upstream} answered ${wrong.length} dimensions, not ${request.dimensions}`,
    );
  }
  return embeddings;
}
