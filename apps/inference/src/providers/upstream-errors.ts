import { ParleyError } from '@parley/contracts';

/** How messages name an OpenAI-compatible server. */
export const MODEL_SERVER = 'the upstream model server';

/**
 * An upstream's HTTP status as a `ParleyError`, the same for every provider and transport: 429 is
 * `rate_limited` (with the upstream's `Retry-After` when it gave one), other 4xx `upstream_rejected`, the rest
 * `upstream_error`. Messages name the status, never the request (it carries the key).
 * @example upstreamStatusError(429, { upstream: MODEL_SERVER, retryAfter: '7' })
 */
export function upstreamStatusError(
  status: number | undefined,
  { upstream, retryAfter }: { upstream: string; retryAfter?: string | null },
): ParleyError {
  if (status === 429) {
    const seconds = Number(retryAfter ?? undefined);
    return new ParleyError('rate_limited', `${upstream} is rate limiting`, {
      retryAfterSeconds: Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined,
    });
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return new ParleyError('upstream_rejected', `${upstream} rejected the request (HTTP ${status})`);
  }
  return new ParleyError('upstream_error', `${upstream} failed (HTTP ${status ?? 'stream error'})`);
}
