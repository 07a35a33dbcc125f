/**
 * The OpenAPI 3.1 document of the HTTP API, built from the same zod schemas the gateway validates with, so
 * the document cannot drift from what is enforced. A test checks its paths against the registered routes.
 */
import {
  ChatCompletionBodySchema,
  ChatCompletionChunkSchema,
  ChatCompletionSchema,
  ConversationListSchema,
  ConversationSchema,
  ConversationWithMessagesSchema,
  CreateConversationBodySchema,
  DeltaEventSchema,
  DoneEventSchema,
  ErrorBodySchema,
  ErrorCodes,
  ErrorEventSchema,
  FeedbackBodySchema,
  FeedbackSchema,
  ModelListSchema,
  OpenAIErrorBodySchema,
  OpenAIModelSchema,
  SendMessageBodySchema,
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
/** A widget visitor over a rate limit (`PARLEY_WIDGET_*_PER_*`, `PARLEY_VISITOR_MESSAGES_PER_MINUTE`). */
const visitorLimited = {
  '429': {
    ...error('A widget visitor or their address is over a rate limit (`rate_limited`); see `Retry-After`'),
    headers: { 'Retry-After': { schema: { type: 'integer' } } },
  },
};
const errors = (body = 'Error') => ({
  '400': error('Invalid request or JSON (`invalid_request`, `invalid_json`, `invalid_id`)', body),
  '401': error('Missing or unknown API key (`unauthorized`)', body),
  '413': error('Message or body over the limit (`payload_too_large`)', body),
  '415': error('Body is not application/json (`unsupported_media_type`)', body),
  '503': {
    ...error('No responder or inference replica (`no_responder`, `no_inference`); see `Retry-After`', body),
    headers: { 'Retry-After': { schema: { type: 'integer' } } },
  },
});

export function buildOpenApiDocument({ version }: { version: string }) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Parley',
      version,
      description:
        'LLM customer-service chat: conversations with stored history, and an OpenAI-compatible chat completions ' +
        'endpoint. Every error is `{ error: { code, message } }` (OpenAI shape on `/v1/chat/completions` and ' +
        '`/v1/models`). Error codes: ' +
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
          summary: 'Prometheus metrics (process metrics, `parley_feedback_total{model,rating}`)',
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
          summary: 'Model aliases (OpenAI format)',
          responses: { '200': { description: 'Models', content: json('ModelList') }, ...errors('OpenAIError') },
        },
      },
      '/v1/models/{id}': {
        get: {
          operationId: 'getModel',
          summary: 'One model alias (OpenAI format); the alias may hold slashes',
          parameters: [idParam],
          responses: {
            '200': { description: 'The model', content: json('Model') },
            '404': error('Unknown model (`model_not_found`)', 'OpenAIError'),
            ...errors('OpenAIError'),
          },
        },
      },
      '/v1/chat/completions': {
        post: {
          operationId: 'createChatCompletion',
          summary: 'OpenAI-compatible chat completion, streamed (SSE `data:` chunks ending in `[DONE]`) or not',
          description:
            'Stateless. A client that disconnects cancels the upstream request. A streamed response starts with ' +
            'the first token: a turn that fails before it is an HTTP error with its status (and `Retry-After` ' +
            'where known, e.g. passed on from an upstream 429); a failure after it is a `data:` line with an ' +
            '`OpenAIError` body. Supported: the parameters of `ChatCompletionRequest` (tools, tool_choice, ' +
            'parallel_tool_calls, response_format, images for vision models, stop, seed, user…); any other ' +
            'parameter is a 400 naming it in `param`. `logprobs`, `top_logprobs` and `logit_bias` are refused ' +
            'unless the key is allowed them (`PARLEY_ALLOW_LOGPROBS`).',
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
            '404': error('Unknown model (`model_not_found`)', 'OpenAIError'),
            '429': {
              ...error('Every target is at capacity, or the upstream is rate limiting (`rate_limited`)', 'OpenAIError'),
              headers: { 'Retry-After': { schema: { type: 'integer' } } },
            },
            '502': error(
              'The upstream failed or refused the request (`upstream_error`, `upstream_rejected`)',
              'OpenAIError',
            ),
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
          responses: { '200': { description: 'A page', content: json('ConversationList') }, ...errors() },
        },
        post: {
          operationId: 'createConversation',
          summary: 'Create a conversation',
          requestBody: { required: false, content: json('CreateConversationRequest') },
          responses: {
            '201': { description: 'Created', content: json('Conversation') },
            '404': error('Unknown model (`model_not_found`)'),
            ...visitorLimited,
            ...errors(),
          },
        },
      },
      '/v1/conversations/{id}': {
        get: {
          operationId: 'getConversation',
          summary: 'A conversation and its messages',
          parameters: [idParam],
          responses: {
            '200': { description: 'The conversation', content: json('ConversationWithMessages') },
            '404': error('Unknown, or created with another key (`conversation_not_found`)'),
            ...errors(),
          },
        },
        delete: {
          operationId: 'deleteConversation',
          summary: 'Erase the conversation: history, frames, turn and idempotency records',
          parameters: [idParam],
          responses: {
            '200': { description: 'What was erased', content: json('ErasureReceipt') },
            '404': error('Unknown, or created with another key (`conversation_not_found`)'),
            ...errors(),
          },
        },
      },
      '/v1/conversations/{id}/messages': {
        post: {
          operationId: 'sendMessage',
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
            '200': { description: 'SSE stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
            '404': error('Unknown, or created with another key (`conversation_not_found`)'),
            '422': error('Idempotency-Key reused with a different body (`idempotency_key_reused`)'),
            ...visitorLimited,
            ...errors(),
          },
        },
      },
      '/v1/conversations/{id}/turns/{turnId}/events': {
        get: {
          operationId: 'resumeTurnEvents',
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
            ...errors(),
          },
        },
      },
      '/v1/conversations/{id}/turns/{turnId}/cancel': {
        post: {
          operationId: 'cancelTurn',
          summary: 'Stop a turn',
          description:
            'The upstream request is aborted, the partial reply is stored with `finishReason: cancelled`, and ' +
            'the stream ends with `done` carrying `finishReason: "cancelled"`.',
          parameters: [idParam, turnParam],
          responses: {
            '202': { description: 'Cancelling', content: json('CancelAccepted') },
            '404': error('Unknown conversation or turn (`conversation_not_found`, `turn_not_found`)'),
            ...errors(),
          },
        },
      },
      '/v1/admin/targets': {
        get: {
          operationId: 'listTargets',
          summary: "Every inference replica's targets: circuit breaker state, streams in flight and queued",
          description: 'Needs an admin key (`PARLEY_ADMIN_API_KEYS`).',
          responses: {
            '200': {
              description: 'One entry per inference replica',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
            '401': error('Not an admin key (`unauthorized`)'),
          },
        },
      },
      '/v1/users/{externalUserId}/data': {
        delete: {
          operationId: 'eraseUserData',
          summary: 'Erase every conversation of one end user of the calling key',
          parameters: [{ name: 'externalUserId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'What was erased', content: json('UserErasureReceipt') }, ...errors() },
        },
      },
      '/v1/conversations/{id}/turns/{turnId}/feedback': {
        post: {
          operationId: 'rateTurn',
          summary: "Rate a turn's reply (`up` or `down`, optional reason); a new rating replaces the old one",
          parameters: [idParam, turnParam],
          requestBody: { required: true, content: json('FeedbackRequest') },
          responses: {
            '200': { description: 'Stored', content: json('Feedback') },
            '404': error('Unknown conversation or turn (`conversation_not_found`, `turn_not_found`)'),
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
            'An API key, or on the conversation routes a widget visitor token from `POST /v1/widget/session` ' +
            "(that visitor's conversations only)",
        },
      },
      schemas: {
        Error: schema(ErrorBodySchema),
        OpenAIError: schema(OpenAIErrorBodySchema),
        ModelList: schema(ModelListSchema),
        ChatCompletionRequest: schema(ChatCompletionBodySchema, 'input'),
        ChatCompletion: schema(ChatCompletionSchema),
        ChatCompletionChunk: schema(ChatCompletionChunkSchema),
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
