import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from './stack.js';

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
  'POST /v1/chat/completions',
  'POST /v1/conversations',
  'GET /v1/conversations',
  'DELETE /v1/users/{externalUserId}/data',
  'GET /v1/conversations/{id}',
  'DELETE /v1/conversations/{id}',
  'POST /v1/conversations/{id}/messages',
  'GET /v1/conversations/{id}/turns/{turnId}/events',
  'POST /v1/conversations/{id}/turns/{turnId}/cancel',
  'POST /v1/conversations/{id}/turns/{turnId}/feedback',
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
          json: method === 'POST' ? {} : undefined,
        },
      );
      const body = await res.text();
      expect(body, route).not.toContain('no such route');
    }
    const missing = await stack.fetch('/v1/nothing');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('openapi - every operation has a unique operationId; the chat route documents every status it answers', async () => {
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
    const feedback = doc.paths['/v1/conversations/{id}/turns/{turnId}/feedback']!.post!;
    expect(JSON.stringify(feedback.responses['200']!.content)).toContain('#/components/schemas/Feedback"');
  });
});
