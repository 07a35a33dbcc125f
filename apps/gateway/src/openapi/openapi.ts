/**
 * The OpenAPI 3.1 document of the HTTP API, built from the same zod schemas the gateway validates with, so
 * the document cannot drift from what is enforced. A test checks its paths against the registered routes.
 */
import {
  ChatCompletionBodySchema,
  ChatCompletionChunkSchema,
  ChatCompletionSchema,
  EmbeddingsBodySchema,
  EmbeddingsResponseSchema,
  ConversationListSchema,
  CreateKeyBodySchema,
  CreateProjectBodySchema,
  ConversationSchema,
  ConversationWithMessagesSchema,
  CreateConversationBodySchema,
  DeltaEventSchema,
  DoneEventSchema,
  ErrorBodySchema,
  ErrorCodes,
  ErrorEventSchema,
  FeedbackBodySchema,
  FeedbackListSchema,
  FeedbackQuerySchema,
  ExperimentQuerySchema,
  ExperimentReportSchema,
  FeedbackSchema,
  KeyCreatedSchema,
  KeyViewSchema,
  LimitsSchema,
  ModelListSchema,
  OpenAIErrorBodySchema,
  OpenAIModelSchema,
  PatchKeyBodySchema,
  PatchProjectBodySchema,
  ProjectViewSchema,
  RotateKeyBodySchema,
  ScopeSchema,
  SendMessageBodySchema,
  UsageQuerySchema,
  UsageReportSchema,
  UserErasureReceiptSchema,
  WidgetSessionBodySchema,
  WidgetSessionSchema,
} from '@parley/contracts';
import { z } from 'zod';

const schema = (s: z.ZodType, io: 'input' | 'output' = 'output') =>
  z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<string, unknown>;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref(name) } });

const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const turnParam = { name: 'turnId', in: 'path', required: true, schema: { type: 'string' } };

const error = (description: string, body = 'Error') => ({ description, content: json(body) });
/** A header of a response, with its description. */
const header = (description: string, type: 'integer' | 'string' = 'string') => ({ description, schema: { type } });
const RETRY_AFTER = { 'Retry-After': header('Seconds until a retry may succeed', 'integer') };
/**
 * OpenAI's `x-ratelimit-*` headers and the IETF `RateLimit` / `RateLimit-Policy` fields, for the tightest
 * requests-per-minute and tokens-per-minute limits of the caller's project and key. Sent on admitted turns and
 * on refusals, only for the windows the caller has a limit on.
 */
const RATE_LIMIT_HEADERS = {
  'x-ratelimit-limit-requests': header('The tightest requests-per-minute limit of the project and key', 'integer'),
  'x-ratelimit-remaining-requests': header('Requests left in its window', 'integer'),
  'x-ratelimit-reset-requests': header('Until the window resets, e.g. `42s`'),
  'x-ratelimit-limit-tokens': header('The tightest tokens-per-minute limit of the project and key', 'integer'),
  'x-ratelimit-remaining-tokens': header("Tokens left in its window, after this turn's reservation", 'integer'),
  'x-ratelimit-reset-tokens': header('Until the window resets, e.g. `42s`'),
  'RateLimit-Policy': header('The same limits per 60 s window, e.g. `"requests";q=60;w=60, "tokens";q=10000;w=60`'),
  RateLimit: header('What is left and when it resets, e.g. `"requests";r=59;t=42, "tokens";r=8976;t=42`'),
};
/** A turn refused by a limit of its project, key or widget visitor. */
const turnLimited = (body: string, also = '') => ({
  '429': {
    ...error(
      'A limit of the project, key or widget visitor is reached: `rate_limited` (requests or tokens per minute, ' +
        `concurrent streams${also}) or \`budget_exhausted\` (tokens per day or month); see \`Retry-After\``,
      body,
    ),
    headers: { ...RETRY_AFTER, ...RATE_LIMIT_HEADERS },
  },
});
/** A route a key needs one of `scopes` for. */
const forbidden = (scopes: string, body = 'Error', also = '') =>
  error(`The key lacks the ${scopes} scope, or it is a widget visitor's token${also} (\`forbidden\`)`, body);
/** What the OpenAI-compatible model routes (chat completions, embeddings) answer alike. */
const MODEL_ROUTE_ERRORS = {
  '403': forbidden('`chat`', 'OpenAIError', ', or the model is not in its allow-list'),
  '404': error('Unknown model (`model_not_found`)', 'OpenAIError'),
  ...turnLimited('OpenAIError', ', every target at capacity, the upstream rate limiting'),
  '502': error('The upstream failed or refused the request (`upstream_error`, `upstream_rejected`)', 'OpenAIError'),
};
/** An API key with the `conversations` scope, or a widget visitor's token (no scopes: its own conversations). */
const CONVERSATIONS_SECURITY = [{ bearer: ['conversations'] }];
/** The conversation routes: the `conversations` scope, or a widget visitor's token for their own conversations. */
const CONVERSATION_FORBIDDEN = {
  '403': error('The key lacks the `conversations` scope (`forbidden`)'),
};
/** A request that is not a turn, counted per minute against the key and the visitor (`PARLEY_<what>_PER_MINUTE`). */
const countLimited = (what: string) => ({
  '429': {
    ...error(
      `Over \`${what}\` for this key or visitor, or a widget visitor's rate limit (\`rate_limited\`); see \`Retry-After\``,
    ),
    headers: {
      ...RETRY_AFTER,
      'x-ratelimit-limit-requests': RATE_LIMIT_HEADERS['x-ratelimit-limit-requests'],
      'x-ratelimit-remaining-requests': RATE_LIMIT_HEADERS['x-ratelimit-remaining-requests'],
      'x-ratelimit-reset-requests': RATE_LIMIT_HEADERS['x-ratelimit-reset-requests'],
      'RateLimit-Policy': RATE_LIMIT_HEADERS['RateLimit-Policy'],
      RateLimit: RATE_LIMIT_HEADERS.RateLimit,
    },
  },
});
const errors = (body = 'Error') => ({
  '400': error('Invalid request or JSON (`invalid_request`, `invalid_json`, `invalid_id`)', body),
  '401': error('Missing or unknown API key (`unauthorized`)', body),
  '413': error('Message or body over the limit (`payload_too_large`)', body),
  '415': error('Body is not application/json (`unsupported_media_type`)', body),
  '503': {
    ...error(
      'No responder or inference replica (`no_responder`, `no_inference`), or limits cannot be checked while Redis ' +
        'is unreachable and `PARLEY_REDIS_DOWN_*` says `refuse` (`service_unavailable`); see `Retry-After`',
      body,
    ),
    headers: RETRY_AFTER,
  },
});

/** Every admin route: an API key with the `admin` scope. */
const ADMIN_SECURITY = [{ bearer: ['admin'] }];
const adminErrors = (notFound?: string) => ({
  '400': error('Invalid body, query or id (`invalid_request`, `invalid_json`)'),
  '401': error('Missing or unknown API key (`unauthorized`)'),
  '403': forbidden('`admin`'),
  ...(notFound ? { '404': error(notFound) } : {}),
});
const admin = (operation: {
  operationId: string;
  summary: string;
  description?: string;
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
  notFound?: string;
}) => {
  const { notFound, responses, ...rest } = operation;
  return { ...rest, security: ADMIN_SECURITY, responses: { ...responses, ...adminErrors(notFound) } };
};
const NO_PROJECT = 'No such project (`not_found`)';
const NO_KEY = 'No such key (`not_found`)';
const listOf = (item: string) => ({
  type: 'object',
  properties: { object: { const: 'list' }, data: { type: 'array', items: ref(item) } },
  required: ['object', 'data'],
});
/** The usage query's parameters, from its schema. */
/** The query parameters of a strict query schema, each optional. */
function queryParameters(query: typeof UsageQuerySchema | typeof FeedbackQuerySchema | typeof ExperimentQuerySchema) {
  return Object.keys(query.shape).map((name) => ({
    name,
    in: 'query',
    required: false,
    schema: (schema(query, 'input').properties as Record<string, unknown>)[name],
  }));
}
const usageParameters = queryParameters(UsageQuerySchema);

export function buildOpenApiDocument({ version }: { version: string }) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Parley',
      version,
      description:
        'LLM customer-service chat: conversations with stored history, and an OpenAI-compatible chat completions ' +
        'endpoint. Every error is `{ error: { code, message } }` (OpenAI shape on `/v1/chat/completions`, ' +
        '`/v1/embeddings` and `/v1/models`). Error codes: ' +
        Object.keys(ErrorCodes)
          .map((c) => `\`${c}\``)
          .join(', ') +
        '.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths: {
      '/healthz': {
        get: {
          operationId: 'getHealth',
          summary: 'Liveness',
          security: [],
          responses: { '200': { description: 'The process answers' } },
        },
      },
      '/readyz': {
        get: {
          operationId: 'getReadiness',
          summary:
            'Readiness: NATS connected; `checks` also reports whether a responder and an inference replica answer',
          security: [],
          responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready; `checks` says why' } },
        },
      },
      '/metrics': {
        get: {
          operationId: 'getMetrics',
          summary: 'Prometheus metrics (process metrics, `parley_feedback_total{model,arm,target,rating}`)',
          security: [],
          responses: { '200': { description: 'Prometheus text format' } },
        },
      },
      '/': {
        get: {
          operationId: 'getDemoPage',
          summary: 'Demo page embedding the chat widget (`PARLEY_DEMO_PAGE`)',
          security: [],
          responses: { '200': { description: 'HTML' }, '404': error('Demo page turned off (`not_found`)') },
        },
      },
      '/widget.js': {
        get: {
          operationId: 'getWidgetScript',
          summary: 'The embeddable chat widget',
          description:
            'With `?v=<version>` (the ETag without quotes) cached for a year as immutable; without it revalidated ' +
            'every 5 minutes. Served gzip or brotli by `Accept-Encoding`.',
          security: [],
          parameters: [{ name: 'v', in: 'query', required: false, schema: { type: 'string' } }],
          responses: {
            '200': { description: 'JavaScript', content: { 'text/javascript': { schema: { type: 'string' } } } },
            '304': { description: 'Not modified (`If-None-Match`)' },
          },
        },
      },
      '/v1/widget/session': {
        post: {
          operationId: 'createWidgetSession',
          summary: 'Start or renew a widget visitor session',
          description:
            'Called by the widget with its public key (`pk_...`) from an origin that key allows (the `Origin` header ' +
            'is required and checked; CORS answers only those origins). The visitor token it returns works as ' +
            "`Authorization: Bearer` on the conversation routes for the visitor's own conversations only; every " +
            'other `/v1` route answers `403 forbidden`. A still valid token of the same key keeps the same visitor.',
          security: [],
          requestBody: { required: true, content: json('WidgetSessionRequest') },
          responses: {
            '201': { description: 'A visitor token', content: json('WidgetSession') },
            '400': error('Invalid body (`invalid_request`, `invalid_json`)'),
            '401': error('Unknown widget key (`unauthorized`)'),
            '403': error('Origin missing or not allowed for this key (`origin_not_allowed`)'),
            '429': {
              ...error('Too many new sessions from this address (`rate_limited`); see `Retry-After`'),
              headers: { 'Retry-After': { schema: { type: 'integer' } } },
            },
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'getOpenApiDocument',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1' } },
        },
      },
      '/v1/models': {
        get: {
          operationId: 'listModels',
          security: [{ bearer: ['chat'] }, { bearer: ['conversations'] }],
          summary: "Model aliases (OpenAI format): those the key's and its project's allow-lists allow",
          responses: {
            '200': { description: 'Models', content: json('ModelList') },
            '403': forbidden('`chat` or `conversations`', 'OpenAIError'),
            ...errors('OpenAIError'),
          },
        },
      },
      '/v1/models/{id}': {
        get: {
          operationId: 'getModel',
          security: [{ bearer: ['chat'] }, { bearer: ['conversations'] }],
          summary: 'One model alias (OpenAI format); the alias may hold slashes',
          parameters: [idParam],
          responses: {
            '200': { description: 'The model', content: json('Model') },
            '404': error('Unknown model, or one the key may not use (`model_not_found`)', 'OpenAIError'),
            '403': forbidden('`chat` or `conversations`', 'OpenAIError'),
            ...errors('OpenAIError'),
          },
        },
      },
      '/v1/embeddings': {
        post: {
          operationId: 'createEmbedding',
          security: [{ bearer: ['chat'] }],
          summary: 'OpenAI-compatible embeddings of one input or a batch, as floats or base64',
          description:
            'The model must be an alias of kind `embedding` in the routing file (a chat alias is a 400 naming it); ' +
            'its split targets and fallbacks apply as for chat. `input` is a text, a list of texts, a token array ' +
            'or a list of token arrays (token arrays only where the upstream takes them); `dimensions` and `user` ' +
            'reach the upstream or the request is a 400 naming them; any other parameter is a 400 naming it. ' +
            "`base64` is little-endian float32, as OpenAI's. Needs the `chat` scope. The request reserves its " +
            'estimated input tokens against the limits of its key and project and settles on the real usage.',
          requestBody: { required: true, content: json('EmbeddingsRequest') },
          responses: {
            '200': {
              description: 'A `list` of `embedding` objects, one per input, in input order',
              headers: RATE_LIMIT_HEADERS,
              content: json('EmbeddingsResponse'),
            },
            ...errors('OpenAIError'),
            '400': error(
              'Invalid request or JSON, an unknown parameter, a chat model, or an input or parameter the model ' +
                'cannot serve, named in `param` (`invalid_request`, `invalid_json`)',
              'OpenAIError',
            ),
            ...MODEL_ROUTE_ERRORS,
            '504': error('The upstream did not answer in time (`first_token_timeout`)', 'OpenAIError'),
          },
        },
      },
      '/v1/chat/completions': {
        post: {
          operationId: 'createChatCompletion',
          security: [{ bearer: ['chat'] }],
          summary: 'OpenAI-compatible chat completion, streamed (SSE `data:` chunks ending in `[DONE]`) or not',
          description:
            'Stateless. A client that disconnects cancels the upstream request. A streamed response starts with ' +
            'the first token: a turn that fails before it is an HTTP error with its status (and `Retry-After` ' +
            'where known, e.g. passed on from an upstream 429); a failure after it is a `data:` line with an ' +
            '`OpenAIError` body. Supported: the parameters of `ChatCompletionRequest` (tools, tool_choice, ' +
            'parallel_tool_calls, response_format, images for vision models, stop, seed, user…); any other ' +
            'parameter is a 400 naming it in `param`. `logprobs`, `top_logprobs` and `logit_bias` are refused ' +
            "unless the key's project allows them (`allowLogprobs`, else `PARLEY_ALLOW_LOGPROBS`). Needs the `chat` " +
            'scope. The turn reserves its estimated prompt plus `max_tokens` against the limits of its key and ' +
            'project before it starts, and settles on the real usage when it ends.',
          requestBody: { required: true, content: json('ChatCompletionRequest') },
          responses: {
            '200': {
              description:
                '`chat.completion`, or with `stream: true` a `text/event-stream` of `data:` lines, each a ' +
                '`ChatCompletionChunk`, ending in `data: [DONE]`',
              headers: {
                'x-parley-dropped-params': {
                  description: "Parameters the serving target's `dropParams` left out of the upstream request",
                  schema: { type: 'string' },
                },
                'x-parley-arm': {
                  description: 'The arm (split target) the turn was assigned; on every response',
                  schema: { type: 'string' },
                },
                'x-parley-target': {
                  description:
                    'The target that served (a fallback after a failover); whole completions only: a stream says it ' +
                    'in the `parley` field of its finishing chunk',
                  schema: { type: 'string' },
                },
                'x-parley-upstream-model': {
                  description: 'The upstream model that served; whole completions only, like `x-parley-target`',
                  schema: { type: 'string' },
                },
                ...RATE_LIMIT_HEADERS,
              },
              content: {
                'application/json': { schema: ref('ChatCompletion') },
                'text/event-stream': { schema: { type: 'string' } },
              },
            },
            ...errors('OpenAIError'),
            '400': error(
              'Invalid request or JSON, an unknown or unsupported parameter, or one the model cannot serve, named in ' +
                '`param` (`invalid_request`, `invalid_json`)',
              'OpenAIError',
            ),
            ...MODEL_ROUTE_ERRORS,
            '504': error(
              'No first token in time (`first_token_timeout`, `turn_timeout`, `responder_lost`)',
              'OpenAIError',
            ),
          },
        },
      },
      '/v1/conversations': {
        get: {
          operationId: 'listConversations',
          security: CONVERSATIONS_SECURITY,
          summary: "The caller's conversations, newest first",
          parameters: [
            {
              name: 'limit',
              in: 'query',
              required: false,
              schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
            },
            {
              name: 'cursor',
              in: 'query',
              required: false,
              schema: { type: 'string' },
              description: '`nextCursor` of the previous page',
            },
            { name: 'externalUserId', in: 'query', required: false, schema: { type: 'string' } },
          ],
          responses: {
            '200': { description: 'A page', content: json('ConversationList') },
            ...CONVERSATION_FORBIDDEN,
            ...errors(),
          },
        },
        post: {
          operationId: 'createConversation',
          security: CONVERSATIONS_SECURITY,
          summary: 'Create a conversation',
          requestBody: { required: false, content: json('CreateConversationRequest') },
          responses: {
            '201': { description: 'Created', content: json('Conversation') },
            '403': error('The key lacks the `conversations` scope, or may not use the model (`forbidden`)'),
            '404': error('Unknown model (`model_not_found`)'),
            ...countLimited('PARLEY_CONVERSATIONS_PER_MINUTE'),
            ...errors(),
          },
        },
      },
      '/v1/conversations/{id}': {
        get: {
          operationId: 'getConversation',
          security: CONVERSATIONS_SECURITY,
          summary: 'A conversation and its messages',
          parameters: [idParam],
          responses: {
            '200': { description: 'The conversation', content: json('ConversationWithMessages') },
            '404': error('Unknown, or created with another key (`conversation_not_found`)'),
            ...CONVERSATION_FORBIDDEN,
            ...errors(),
          },
        },
        delete: {
          operationId: 'deleteConversation',
          security: CONVERSATIONS_SECURITY,
          summary: 'Erase the conversation: history, frames, turn and idempotency records',
          parameters: [idParam],
          responses: {
            '200': { description: 'What was erased', content: json('ErasureReceipt') },
            '404': error('Unknown, or created with another key (`conversation_not_found`)'),
            ...CONVERSATION_FORBIDDEN,
            ...errors(),
          },
        },
      },
      '/v1/conversations/{id}/messages': {
        post: {
          operationId: 'sendMessage',
          security: CONVERSATIONS_SECURITY,
          summary: 'Send a user message; the reply streams as SSE',
          description:
            'Events: `delta` (data: DeltaEvent), then exactly one `done` (DoneEvent) or `error` (ErrorEvent). ' +
            'Each event has an `id`: the frame sequence number, from 1. Header `X-Parley-Turn-Id` names the turn. ' +
            'A client that disconnects does not stop the turn; resume with `GET .../turns/{turnId}/events`.',
          parameters: [
            idParam,
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description:
                'A retry with the same key (24 h) re-attaches to the same turn (`Idempotent-Replayed: true`); ' +
                'the same key with a different body is a 422 `idempotency_key_reused`.',
              schema: { type: 'string', maxLength: 255 },
            },
          ],
          requestBody: { required: true, content: json('SendMessageRequest') },
          responses: {
            '200': {
              description: 'SSE stream',
              headers: RATE_LIMIT_HEADERS,
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            },
            '403': error(
              "The key lacks the `conversations` scope, or may not use the conversation's model (`forbidden`)",
            ),
            '404': error('Unknown, or created with another key (`conversation_not_found`)'),
            '422': error('Idempotency-Key reused with a different body (`idempotency_key_reused`)'),
            ...turnLimited('Error', ", a widget visitor's or their address's messages per minute"),
            ...errors(),
          },
        },
      },
      '/v1/conversations/{id}/turns/{turnId}/events': {
        get: {
          operationId: 'resumeTurnEvents',
          security: CONVERSATIONS_SECURITY,
          summary: "Resume a turn's SSE events",
          description:
            'Every frame after `Last-Event-ID` (or `?after=`), exactly once and in order, then live ones until ' +
            'the end. After the frames expired (`PARLEY_FRAMES_TTL_MS`) the stored reply comes as one `delta` ' +
            '(id 1) and a `done` with `fromHistory: true`.',
          parameters: [
            idParam,
            turnParam,
            { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'integer', minimum: 0 } },
            { name: 'after', in: 'query', required: false, schema: { type: 'integer', minimum: 0 } },
          ],
          responses: {
            '200': { description: 'SSE stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
            '404': error('Unknown conversation or turn (`conversation_not_found`, `turn_not_found`)'),
            ...CONVERSATION_FORBIDDEN,
            ...countLimited('PARLEY_RESUMES_PER_MINUTE'),
            ...errors(),
          },
        },
      },
      '/v1/conversations/{id}/turns/{turnId}/cancel': {
        post: {
          operationId: 'cancelTurn',
          security: CONVERSATIONS_SECURITY,
          summary: 'Stop a turn',
          description:
            'The upstream request is aborted, the partial reply is stored with `finishReason: cancelled`, and ' +
            'the stream ends with `done` carrying `finishReason: "cancelled"`.',
          parameters: [idParam, turnParam],
          responses: {
            '202': { description: 'Cancelling', content: json('CancelAccepted') },
            '404': error('Unknown conversation or turn (`conversation_not_found`, `turn_not_found`)'),
            ...CONVERSATION_FORBIDDEN,
            ...errors(),
          },
        },
      },
      '/v1/admin/targets': {
        get: admin({
          operationId: 'listTargets',
          summary: "Every inference replica's targets: circuit breaker state, streams in flight and queued",
          responses: {
            '200': {
              description: 'One entry per inference replica',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
          },
        }),
      },
      '/v1/admin/projects': {
        post: admin({
          operationId: 'createProject',
          summary: 'Create a project (tenant): its models, limits, system prompt and logprobs setting',
          requestBody: { required: true, content: json('CreateProjectRequest') },
          responses: { '201': { description: 'Created', content: json('Project') } },
        }),
        get: admin({
          operationId: 'listProjects',
          summary: 'Every project, by id',
          responses: { '200': { description: 'Projects', content: json('ProjectList') } },
        }),
      },
      '/v1/admin/projects/{id}': {
        get: admin({
          operationId: 'getProject',
          summary: 'One project',
          parameters: [idParam],
          responses: { '200': { description: 'The project', content: json('Project') } },
          notFound: NO_PROJECT,
        }),
        patch: admin({
          operationId: 'updateProject',
          summary: 'Change a project; a field set to `null` is removed',
          parameters: [idParam],
          requestBody: { required: true, content: json('UpdateProjectRequest') },
          responses: { '200': { description: 'The project as changed', content: json('Project') } },
          notFound: NO_PROJECT,
        }),
      },
      '/v1/admin/keys': {
        post: admin({
          operationId: 'createKey',
          summary: 'Create an API key; the answer holds its secret (`key`, `psk_...`), shown this once',
          description:
            'Only the SHA-256 digest of the secret is stored. Every gateway replica accepts the key within a second.',
          requestBody: { required: true, content: json('CreateKeyRequest') },
          responses: { '201': { description: 'Created, with its secret', content: json('ApiKeyCreated') } },
          notFound: 'No such project (`not_found`, `param: project`)',
        }),
        get: admin({
          operationId: 'listKeys',
          summary:
            "Every key, or one project's: the configured ones (`configured: true`) and the stored ones; never a secret",
          parameters: [{ name: 'project', in: 'query', required: false, schema: { type: 'string' } }],
          responses: { '200': { description: 'Keys', content: json('ApiKeyList') } },
        }),
      },
      '/v1/admin/keys/{id}': {
        get: admin({
          operationId: 'getKey',
          summary: 'One key, without its secret',
          parameters: [idParam],
          responses: { '200': { description: 'The key', content: json('ApiKey') } },
          notFound: NO_KEY,
        }),
        patch: admin({
          operationId: 'updateKey',
          summary: 'Change a key (name, scopes, models, limits, expiry); a field set to `null` is removed',
          description:
            'A configured key (`PARLEY_API_KEYS`, `PARLEY_ADMIN_API_KEYS`) is a 400: change the configuration.',
          parameters: [idParam],
          requestBody: { required: true, content: json('UpdateKeyRequest') },
          responses: { '200': { description: 'The key as changed', content: json('ApiKey') } },
          notFound: NO_KEY,
        }),
        delete: admin({
          operationId: 'revokeKey',
          summary: 'Revoke a key: refused with 401 on every replica within a second; its record and conversations stay',
          parameters: [idParam],
          responses: { '200': { description: 'The revoked key (`revokedAt` set)', content: json('ApiKey') } },
          notFound: NO_KEY,
        }),
      },
      '/v1/admin/keys/{id}/rotate': {
        post: admin({
          operationId: 'rotateKey',
          summary: 'A new secret for the key, shown this once; the previous one works for `gracePeriodSeconds` more',
          description:
            'The key keeps its id, so its conversations, usage and limits stay its own. Only the latest previous ' +
            'secret is kept: rotating again ends the grace of the one before.',
          parameters: [idParam],
          requestBody: { required: false, content: json('RotateKeyRequest') },
          responses: { '200': { description: 'The key, with its new secret', content: json('ApiKeyCreated') } },
          notFound: NO_KEY,
        }),
      },
      '/v1/admin/usage': {
        get: admin({
          operationId: 'getUsage',
          summary:
            "Requests, tokens and cost (USD, by the targets' price tables) from the usage stream, by day, model, key, " +
            'project, serving target or arm (default: the last 30 days)',
          parameters: usageParameters,
          responses: { '200': { description: 'The report', content: json('UsageReport') } },
        }),
      },
      '/v1/admin/feedback': {
        get: admin({
          operationId: 'listFeedback',
          summary:
            'Ratings given or changed in a time range (default: the last 30 days), of a project or model alias; newest first',
          parameters: queryParameters(FeedbackQuerySchema),
          responses: { '200': { description: 'The ratings', content: json('FeedbackList') } },
        }),
      },
      '/v1/admin/experiments/{alias}': {
        get: admin({
          operationId: 'getExperiment',
          summary:
            'Per arm of a model alias (default: the last 7 days): conversations, turns, up rate with its 95 % Wilson ' +
            'interval, TTFT p50/p95, error and fallback rate, reply length, tokens, cost; and a two-proportion z-test ' +
            'per pair of arms (docs/experiments.md)',
          parameters: [
            { name: 'alias', in: 'path', required: true, schema: { type: 'string' } },
            ...queryParameters(ExperimentQuerySchema),
          ],
          responses: { '200': { description: 'The report', content: json('ExperimentReport') } },
        }),
      },
      '/v1/users/{externalUserId}/data': {
        delete: {
          operationId: 'eraseUserData',
          security: [{ bearer: ['erase'] }],
          summary: 'Erase every conversation of one end user of the calling key',
          parameters: [{ name: 'externalUserId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': { description: 'What was erased', content: json('UserErasureReceipt') },
            '403': forbidden('`erase`'),
            ...errors(),
          },
        },
      },
      '/v1/conversations/{id}/feedback': {
        get: {
          operationId: 'listConversationFeedback',
          security: CONVERSATIONS_SECURITY,
          summary: "The ratings of a conversation's replies, each with the reply's arm and serving target",
          parameters: [idParam],
          responses: {
            '200': { description: 'The ratings', content: json('FeedbackList') },
            '404': error('Unknown conversation (`conversation_not_found`)'),
            ...CONVERSATION_FORBIDDEN,
            ...errors(),
          },
        },
      },
      '/v1/conversations/{id}/turns/{turnId}/feedback': {
        post: {
          operationId: 'rateTurn',
          security: CONVERSATIONS_SECURITY,
          summary: "Rate a turn's reply (`up` or `down`, optional reason); a new rating replaces the old one",
          parameters: [idParam, turnParam],
          requestBody: { required: true, content: json('FeedbackRequest') },
          responses: {
            '200': { description: 'Stored', content: json('Feedback') },
            '404': error('Unknown conversation or turn (`conversation_not_found`, `turn_not_found`)'),
            ...CONVERSATION_FORBIDDEN,
            ...errors(),
          },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key (`psk_...` from the admin API, or one of `PARLEY_API_KEYS`), or on the conversation routes ' +
            "a widget visitor token from `POST /v1/widget/session` (that visitor's conversations only). A key has " +
            'scopes: `chat` (`/v1/chat/completions`, `/v1/embeddings`), `conversations` (the conversation routes), `erase` (erasure ' +
            'by user), `admin` (`/v1/admin`); `/v1/models` needs `chat` or `conversations`. A route whose scope ' +
            'the key lacks answers `403 forbidden`. Operations list the scope they need in `security`.',
        },
      },
      schemas: {
        Error: schema(ErrorBodySchema),
        OpenAIError: schema(OpenAIErrorBodySchema),
        ModelList: schema(ModelListSchema),
        ChatCompletionRequest: schema(ChatCompletionBodySchema, 'input'),
        ChatCompletion: schema(ChatCompletionSchema),
        ChatCompletionChunk: schema(ChatCompletionChunkSchema),
        EmbeddingsRequest: schema(EmbeddingsBodySchema, 'input'),
        EmbeddingsResponse: schema(EmbeddingsResponseSchema),
        CreateConversationRequest: schema(CreateConversationBodySchema, 'input'),
        SendMessageRequest: schema(SendMessageBodySchema, 'input'),
        FeedbackRequest: schema(FeedbackBodySchema, 'input'),
        Feedback: schema(FeedbackSchema),
        Model: schema(OpenAIModelSchema),
        WidgetSessionRequest: schema(WidgetSessionBodySchema, 'input'),
        WidgetSession: schema(WidgetSessionSchema),
        ConversationList: schema(ConversationListSchema),
        UserErasureReceipt: schema(UserErasureReceiptSchema),
        Conversation: schema(ConversationSchema),
        ConversationWithMessages: schema(ConversationWithMessagesSchema),
        DeltaEvent: schema(DeltaEventSchema),
        DoneEvent: schema(DoneEventSchema),
        ErrorEvent: schema(ErrorEventSchema),
        Scope: schema(ScopeSchema),
        Limits: schema(LimitsSchema),
        Project: schema(ProjectViewSchema),
        ProjectList: listOf('Project'),
        CreateProjectRequest: schema(CreateProjectBodySchema, 'input'),
        UpdateProjectRequest: schema(PatchProjectBodySchema, 'input'),
        ApiKey: schema(KeyViewSchema),
        ApiKeyList: listOf('ApiKey'),
        ApiKeyCreated: schema(KeyCreatedSchema),
        CreateKeyRequest: schema(CreateKeyBodySchema, 'input'),
        UpdateKeyRequest: schema(PatchKeyBodySchema, 'input'),
        RotateKeyRequest: schema(RotateKeyBodySchema, 'input'),
        UsageReport: schema(UsageReportSchema),
        FeedbackList: schema(FeedbackListSchema),
        ExperimentReport: schema(ExperimentReportSchema),
        CancelAccepted: {
          type: 'object',
          properties: { turnId: { type: 'string' }, status: { const: 'cancelling' } },
          required: ['turnId', 'status'],
        },
        ErasureReceipt: {
          type: 'object',
          properties: {
            conversationId: { type: 'string' },
            messages: { type: 'integer' },
            frames: { type: 'integer' },
            turns: { type: 'integer' },
            feedback: { type: 'integer' },
            idempotencyKeys: { type: 'integer' },
            erasedAt: { type: 'string', format: 'date-time' },
          },
          required: ['conversationId', 'messages', 'frames', 'turns', 'feedback', 'idempotencyKeys', 'erasedAt'],
        },
      },
    },
  };
}
