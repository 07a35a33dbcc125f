import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, Stack } from './stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await Stack.start();
});
afterAll(() => stack?.stop());

/** Every route the gateway serves, as `METHOD /path` with OpenAPI-style parameters. */
const ROUTES = [
  'GET /healthz',
  'GET /readyz',
  'GET /openapi.json',
  'GET /',
  'GET /widget.js',
  'POST /v1/widget/session',
  'GET /metrics',
  'GET /v1/models',
  'GET /v1/models/{id}',
  'GET /v1/admin/targets',
  'POST /v1/admin/projects',
  'GET /v1/admin/projects',
  'GET /v1/admin/projects/{id}',
  'PATCH /v1/admin/projects/{id}',
  'POST /v1/admin/keys',
  'GET /v1/admin/keys',
  'GET /v1/admin/keys/{id}',
  'PATCH /v1/admin/keys/{id}',
  'DELETE /v1/admin/keys/{id}',
  'POST /v1/admin/keys/{id}/rotate',
  'GET /v1/admin/usage',
  'GET /v1/admin/feedback',
  'GET /v1/admin/experiments/{alias}',
  'POST /v1/chat/completions',
  'POST /v1/embeddings',
  'POST /v1/conversations',
  'GET /v1/conversations',
  'DELETE /v1/users/{externalUserId}/data',
  'GET /v1/conversations/{id}',
  'DELETE /v1/conversations/{id}',
  'POST /v1/conversations/{id}/messages',
  'GET /v1/conversations/{id}/turns/{turnId}/events',
  'POST /v1/conversations/{id}/turns/{turnId}/cancel',
  'POST /v1/conversations/{id}/turns/{turnId}/feedback',
  'GET /v1/conversations/{id}/feedback',
];

describe('openapi', () => {
  it('openapi - the document is OpenAPI 3.1 and lists exactly the served routes', async () => {
    const res = await stack.fetch('/openapi.json', { key: null });
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual([...ROUTES].sort());
  });

  it('openapi - every documented route is served (none answers "no such route")', async () => {
    for (const route of ROUTES) {
      const [method, path] = route.split(' ') as [string, string];
      const res = await stack.fetch(
        path.replace('{id}', 'conv_x').replace('{turnId}', 'turn_x').replace('{externalUserId}', 'user_x'),
        {
          method,
          json: method === 'POST' || method === 'PATCH' ? {} : undefined,
          // The admin routes with an admin key, so that the route itself answers, not the scope check.
          key: path.startsWith('/v1/admin/') ? ADMIN_KEY : undefined,
        },
      );
      const body = await res.text();
      expect(body, route).not.toContain('no such route');
    }
    const missing = await stack.fetch('/v1/nothing');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('openapi - every operation has a unique operationId; the chat and embeddings routes document every status they answer', async () => {
    type Operation = { operationId?: string; responses: Record<string, { content?: unknown }> };
    const doc = (await (await stack.fetch('/openapi.json', { key: null })).json()) as {
      paths: Record<string, Record<string, Operation>>;
    };
    const operations = Object.values(doc.paths).flatMap((methods) => Object.values(methods));
    const ids = operations.map((op) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const chat = doc.paths['/v1/chat/completions']!.post!;
    for (const status of ['200', '400', '401', '404', '429', '502', '503', '504']) {
      expect(chat.responses, status).toHaveProperty(status);
    }
    const embeddings = doc.paths['/v1/embeddings']!.post!;
    expect(embeddings.operationId).toBe('createEmbedding');
    for (const status of ['200', '400', '401', '403', '404', '429', '502', '503', '504']) {
      expect(embeddings.responses, status).toHaveProperty(status);
    }
    expect(JSON.stringify(embeddings.responses['200']!.content)).toContain('#/components/schemas/EmbeddingsResponse"');
    const feedback = doc.paths['/v1/conversations/{id}/turns/{turnId}/feedback']!.post!;
    expect(JSON.stringify(feedback.responses['200']!.content)).toContain('#/components/schemas/Feedback"');
  });

  it('openapi - the admin routes: operationIds, the admin scope, their bodies and answers from the contracts, 400/401/403/404', async () => {
    type Operation = {
      operationId: string;
      security?: Record<string, string[]>[];
      requestBody?: { content: Record<string, { schema: { $ref: string } }> };
      responses: Record<string, { content?: Record<string, { schema: { $ref: string } }> }>;
    };
    const doc = (await (await stack.fetch('/openapi.json', { key: null })).json()) as {
      paths: Record<string, Record<string, Operation>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    const expected: [route: string, operationId: string, body: string | undefined, status: string, answer: string][] = [
      ['POST /v1/admin/projects', 'createProject', 'CreateProjectRequest', '201', 'Project'],
      ['GET /v1/admin/projects', 'listProjects', undefined, '200', 'ProjectList'],
      ['GET /v1/admin/projects/{id}', 'getProject', undefined, '200', 'Project'],
      ['PATCH /v1/admin/projects/{id}', 'updateProject', 'UpdateProjectRequest', '200', 'Project'],
      ['POST /v1/admin/keys', 'createKey', 'CreateKeyRequest', '201', 'ApiKeyCreated'],
      ['GET /v1/admin/keys', 'listKeys', undefined, '200', 'ApiKeyList'],
      ['GET /v1/admin/keys/{id}', 'getKey', undefined, '200', 'ApiKey'],
      ['PATCH /v1/admin/keys/{id}', 'updateKey', 'UpdateKeyRequest', '200', 'ApiKey'],
      ['DELETE /v1/admin/keys/{id}', 'revokeKey', undefined, '200', 'ApiKey'],
      ['POST /v1/admin/keys/{id}/rotate', 'rotateKey', 'RotateKeyRequest', '200', 'ApiKeyCreated'],
      ['GET /v1/admin/usage', 'getUsage', undefined, '200', 'UsageReport'],
      ['GET /v1/admin/feedback', 'listFeedback', undefined, '200', 'FeedbackList'],
      ['GET /v1/admin/experiments/{alias}', 'getExperiment', undefined, '200', 'ExperimentReport'],
    ];
    for (const [route, operationId, body, status, answer] of expected) {
      const [method, path] = route.split(' ') as [string, string];
      const op = doc.paths[path]?.[method.toLowerCase()];
      expect(op, route).toBeDefined();
      expect(op!.operationId, route).toBe(operationId);
      expect(op!.security, route).toEqual([{ bearer: ['admin'] }]);
      if (body) expect(op!.requestBody!.content['application/json']!.schema.$ref).toBe(`#/components/schemas/${body}`);
      expect(op!.responses[status]!.content!['application/json']!.schema.$ref, route).toBe(
        `#/components/schemas/${answer}`,
      );
      const statuses = ['400', '401', '403', ...(path.includes('{id}') ? ['404'] : [])];
      for (const code of statuses) expect(op!.responses, `${route} ${code}`).toHaveProperty(code);
    }
    // The schemas are the contracts': a created key carries its secret, a listed one never does.
    expect(doc.components.schemas.ApiKeyCreated!.properties).toHaveProperty('key');
    expect(doc.components.schemas.ApiKey!.properties).not.toHaveProperty('key');
    expect(doc.components.schemas.ApiKey!.properties).not.toHaveProperty('secrets');
    expect(Object.keys(doc.components.schemas.CreateKeyRequest!.properties!)).toEqual(
      expect.arrayContaining(['project', 'name', 'scopes', 'models', 'limits', 'expiresAt']),
    );
  });

  it('openapi - turns document their limit refusals and rate-limit headers; scoped routes their 403', async () => {
    type Response = { description: string; headers?: Record<string, unknown> };
    type Operation = { security?: Record<string, string[]>[]; responses: Record<string, Response> };
    const doc = (await (await stack.fetch('/openapi.json', { key: null })).json()) as {
      paths: Record<string, Record<string, Operation>>;
    };
    const headers = [
      'Retry-After',
      'x-ratelimit-limit-requests',
      'x-ratelimit-remaining-requests',
      'x-ratelimit-reset-requests',
      'x-ratelimit-limit-tokens',
      'x-ratelimit-remaining-tokens',
      'x-ratelimit-reset-tokens',
      'RateLimit',
      'RateLimit-Policy',
    ];
    for (const op of [doc.paths['/v1/chat/completions']!.post!, doc.paths['/v1/conversations/{id}/messages']!.post!]) {
      const refused = op.responses['429']!;
      expect(refused.description).toContain('`rate_limited`');
      expect(refused.description).toContain('`budget_exhausted`');
      expect(Object.keys(refused.headers ?? {})).toEqual(expect.arrayContaining(headers));
      // An admitted turn says where it stands too.
      expect(Object.keys(op.responses['200']!.headers ?? {})).toEqual(
        expect.arrayContaining(headers.filter((name) => name !== 'Retry-After')),
      );
      expect(op.responses['403']!.description).toContain('`forbidden`');
    }
    const scoped: [path: string, method: string, scope: string][] = [
      ['/v1/chat/completions', 'post', 'chat'],
      ['/v1/conversations', 'post', 'conversations'],
      ['/v1/conversations/{id}/messages', 'post', 'conversations'],
      ['/v1/users/{externalUserId}/data', 'delete', 'erase'],
      ['/v1/admin/targets', 'get', 'admin'],
    ];
    for (const [path, method, scope] of scoped) {
      const op = doc.paths[path]![method]!;
      expect(op.security, path).toContainEqual({ bearer: [scope] });
      expect(op.responses['403']?.description, path).toContain('`forbidden`');
    }
  });
});
