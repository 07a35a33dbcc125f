import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, Stack, collectSse, eventually } from './stack.js';

interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
}

/** An OTLP/HTTP (JSON) receiver: what a collector would get from the services. */
const spans: ExportedSpan[] = [];
let receiver: Server;
let stack: Stack;

function value(v: Record<string, unknown>): unknown {
  return (
    v.stringValue ?? v.intValue ?? v.doubleValue ?? v.boolValue ?? (v.arrayValue as { values?: unknown[] })?.values
  );
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const payload = JSON.parse(body) as {
        resourceSpans: {
          resource: { attributes: { key: string; value: Record<string, unknown> }[] };
          scopeSpans: {
            spans: (Omit<ExportedSpan, 'service' | 'attributes'> & {
              attributes?: { key: string; value: Record<string, unknown> }[];
            })[];
          }[];
        }[];
      };
      for (const resource of payload.resourceSpans) {
        const service = String(value(resource.resource.attributes.find((a) => a.key === 'service.name')!.value));
        for (const scope of resource.scopeSpans) {
          for (const span of scope.spans) {
            const attributes = Object.fromEntries((span.attributes ?? []).map((a) => [a.key, value(a.value)]));
            spans.push({ ...span, service, attributes });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as { port: number };
  stack = await Stack.start({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } });
});
afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

describe('tracing', () => {
  it('tracing - one chat is one trace from the HTTP request through every NATS hop to the upstream call', async () => {
    const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const callerSpan = '1111111111111111';
    const created = await stack.fetch('/v1/conversations', { method: 'POST', json: {} });
    const { id } = (await created.json()) as { id: string };
    await stack.clearSimRequests();
    const res = await stack.fetch(`/v1/conversations/${id}/messages`, {
      method: 'POST',
      headers: { traceparent: `00-${traceId}-${callerSpan}-01` },
      json: { content: 'trace me' },
    });
    await collectSse(res);
    // Spans arrive in batches from three processes: wait until the whole chain has.
    const walk = () => {
      const chat = spans.find((s) => s.traceId === traceId && s.name.startsWith('chat '));
      const byId = new Map(spans.filter((s) => s.traceId === traceId).map((s) => [s.spanId, s]));
      const path: string[] = [];
      let span: ExportedSpan | undefined = chat;
      while (span) {
        path.push(`${span.service}:${span.name}`);
        if (span.parentSpanId === callerSpan) return { chat: chat!, path };
        span = byId.get(span.parentSpanId);
      }
      return undefined;
    };
    const { chat, path } = await eventually('every span of the chat, up to the caller', async () => walk());
    expect(path.reverse()).toEqual([
      'gateway:POST /v1/conversations/:id/messages',
      'gateway:send parley.turn.start.v1',
      'responder:process parley.turn.start.v1',
      'responder:turn',
      'responder:send parley.inference.generate.v1',
      'inference:process parley.inference.generate.v1',
      `inference:chat sim-model`,
    ]);
    expect(chat.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'sim-model',
      'gen_ai.usage.output_tokens': expect.anything(),
      'gen_ai.usage.input_tokens': expect.anything(),
    });
    expect(Number(chat.attributes['parley.time_to_first_token_ms'])).toBeGreaterThanOrEqual(0);
    // The upstream got this very span as its parent, so vLLM's spans would join the trace.
    const [upstream] = await stack.simRequests();
    expect(upstream?.headers.traceparent).toBe(`00-${traceId}-${chat.spanId}-01`);
    // Logs carry the trace id.
    const logged = stack.services.get('gateway')!.logs().concat(stack.services.get('responder')!.logs());
    expect(logged.some((line) => line.includes(`"trace_id":"${traceId}"`))).toBe(true);
    // …and never the message content or a key.
    const everything = (['gateway', 'responder', 'inference'] as const).flatMap((app) =>
      stack.services.get(app)!.logs(),
    );
    expect(everything.join('\n')).not.toContain('trace me');
    expect(everything.join('\n')).not.toContain(API_KEY);
  });

  it('metrics - every service exposes valid Prometheus text, and the chat was counted', async () => {
    const sources = {
      gateway: `${stack.gatewayUrl}/metrics`,
      responder: `${stack.opsUrl('responder')}/metrics`,
      inference: `${stack.opsUrl('inference')}/metrics`,
    };
    const texts: Record<string, string> = {};
    for (const [service, url] of Object.entries(sources)) {
      const res = await fetch(url);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      texts[service] = text;
      for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
        expect(line, `${service}: ${line}`).toMatch(
          /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.]+(e[+-]?[0-9]+)?|NaN|[+-]Inf)$/,
        );
      }
      // No unbounded labels: ids never appear in metrics.
      expect(text, service).not.toMatch(/conv_|turn_|msg_/);
    }
    const count = (text: string, metric: string) =>
      Number(new RegExp(`^${metric}(\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[2] ?? 0);
    expect(count(texts.inference!, 'parley_time_to_first_token_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(count(texts.inference!, 'parley_inter_token_latency_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(texts.inference).toMatch(/parley_tokens_total\{[^}]*direction="output"[^}]*\} [1-9]/);
    expect(count(texts.responder!, 'parley_history_write_seconds_count')).toBeGreaterThanOrEqual(2);
    const requests = texts
      .gateway!.split('\n')
      .find(
        (l) =>
          l.startsWith('parley_http_request_duration_seconds_count{') &&
          l.includes('route="/v1/conversations/:id/messages"') &&
          l.includes('status="200"'),
      );
    expect(Number(requests?.split(' ').at(-1))).toBeGreaterThanOrEqual(1);
  });

  it('observability - every metric the alerts and the dashboard use is one the services expose', async () => {
    const exposed = new Set<string>();
    for (const url of [
      `${stack.gatewayUrl}/metrics`,
      `${stack.opsUrl('responder')}/metrics`,
      `${stack.opsUrl('inference')}/metrics`,
      // vLLM's metrics, by their v0.10 names, which llm-sim serves too.
      `${stack.simUrl}/metrics`,
    ]) {
      for (const match of (await (await fetch(url)).text()).matchAll(/^# TYPE (\S+) /gm)) exposed.add(match[1]!);
    }
    const root = new URL('../../docker/', import.meta.url);
    const alerts = parse(readFileSync(new URL('prometheus/alerts.yml', root), 'utf8')) as {
      groups: { rules: { alert?: string; record?: string; expr: string; labels?: { severity: string } }[] }[];
    };
    // Recording rules (the drift group's baselines) have no severity; every alert has one.
    const recorded = alerts.groups.flatMap((g) => g.rules).filter((r) => r.record !== undefined);
    const rules = alerts.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
    expect(recorded.length).toBeGreaterThan(0);
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'ParleyHighErrorRate',
        'ParleySlowFirstToken',
        'ParleyBreakerOpen',
        'ParleyNoInferenceReplica',
        'ParleyNatsDisconnected',
      ]),
    );
    for (const rule of rules) expect(['page', 'warn']).toContain(rule.labels?.severity);
    const dashboard = JSON.parse(readFileSync(new URL('grafana/dashboards/parley.json', root), 'utf8')) as {
      panels: { targets: { expr: string }[] }[];
    };
    const exprs = [
      ...rules.map((r) => r.expr),
      ...recorded.map((r) => r.expr),
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ];
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\b(?:parley_|vllm:)[a-z_]+/g)].map((m) => m[0])));
    const family = (name: string) => name.replace(/_(bucket|count|sum)$/, '');
    const missing = [...used].filter((name) => !exposed.has(name) && !exposed.has(family(name)));
    expect(missing).toEqual([]);
    expect(used.size).toBeGreaterThan(8);
    expect([...used].filter((name) => name.startsWith('vllm:'))).toHaveLength(4);
  });
});
