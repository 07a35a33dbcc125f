import { SpanKind, type Context, type Span } from '@opentelemetry/api';
import { tracer } from '@parley/tracing';
import type { Target } from './router.js';

/**
 * The GenAI client span of one attempt on a target (`chat` or `embeddings`), a child of `parent`.
 * @example const span = targetSpan({ operation: 'chat', target, alias: 'support', parent: context.active() });
 */
export function targetSpan({
  operation,
  target,
  alias,
  parent,
}: {
  operation: 'chat' | 'embeddings';
  target: Target;
  alias: string;
  parent: Context;
}): Span {
  return tracer().startSpan(
    `${operation} ${target.upstreamModel}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': operation,
        'gen_ai.system': target.provider.system,
        'gen_ai.request.model': target.upstreamModel,
        'parley.target': target.name,
        'parley.model_alias': alias,
      },
    },
    parent,
  );
}
