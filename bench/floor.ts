/**
 * The architecture's floor, for `npm run bench`: the same hops as a Parley turn with none of Parley's code.
 *
 * `node bench/floor.ts chain <part>` runs one of three bare processes (no NestJS, Express, validation, tracing,
 * metrics or JetStream): `gateway` (node:http, one NATS request to hand the turn on, frames back as OpenAI SSE),
 * `responder` (one NATS request to inference, chunks relayed as frames) and `inference` (a kept-alive HTTP
 * stream from the upstream, one NATS message per read). `node bench/floor.ts pair gateway|worker` is the same
 * with responder and inference in one process (ADR 0008's option 3): one brokered hop. `node bench/floor.ts
 * proxy` is a bare single-hop proxy (node:http straight to the upstream), the floor of any gateway.
 *
 * What Parley adds above `chain` is its code; what `chain` adds above `pair` is one brokered hop and one more
 * process; what `proxy` adds above the upstream is one more process. Environment: `FLOOR_PORT` (0 for
 * any), `FLOOR_UPSTREAM` (the upstream's base URL, with `/v1`), `NATS_URL`. Each prints one JSON line,
 * `{"ready":true,"port"}`, when it serves.
 */
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type NatsConnection } from '@nats-io/transport-node';

const [role, part] = process.argv.slice(2);
const upstream = new URL(process.env.FLOOR_UPSTREAM ?? 'http://127.0.0.1:8000/v1');
const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
const text = new TextEncoder();
/** Bounds every wait, so a broken run ends instead of hanging the benchmark. */
const TIMEOUT_MS = 30_000;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** Streams the upstream's SSE data lines to `onData`, one call per socket read. */
function upstreamStream(body: string, onData: (data: string[]) => void, onEnd: (error?: Error) => void): void {
  const req = request(
    {
      agent,
      host: upstream.hostname,
      port: upstream.port,
      path: `${upstream.pathname}/chat/completions`,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    },
    (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        const events = buffer.split('\n\n');
        buffer = events.pop()!;
        const data = events.map((e) => e.slice(e.indexOf('data:') + 5).trim()).filter((d) => d && d !== '[DONE]');
        if (data.length > 0) onData(data);
      });
      res.on('end', () => onEnd());
      res.on('error', onEnd);
    },
  );
  req.on('socket', (socket) => socket.setNoDelay(true));
  req.on('error', onEnd);
  req.end(body);
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): void {
  const server = createServer({ noDelay: true }, handler);
  server.listen(Number(process.env.FLOOR_PORT ?? 0), '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    process.stdout.write(`${JSON.stringify({ ready: true, port })}\n`);
  });
}

function proxy(): void {
  listen((req, res) => {
    void readBody(req).then((body) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      upstreamStream(
        body,
        (data) => res.write(data.map((d) => `data: ${d}\n\n`).join('')),
        () => res.end('data: [DONE]\n\n'),
      );
    });
  });
}

/** One bare process of `chain` (gateway, responder, inference) or `pair` (gateway, worker). */
async function runPart(nc: NatsConnection): Promise<void> {
  const on = (name: string) => `floor.${role}.${name}`;
  let next = 0;
  const newTurnId = () => `${process.pid}-${++next}`;
  if (part === 'gateway') {
    listen((req, res) => {
      void readBody(req)
        .then(async (body) => {
          const turnId = newTurnId();
          // Subscribed before the turn starts, as Parley's gateway does, so no frame can be missed.
          const frames = nc.subscribe(on(`frames.${turnId}`), { timeout: TIMEOUT_MS });
          await nc.request(on('turn'), text.encode(JSON.stringify({ turnId, request: JSON.parse(body) })), {
            timeout: TIMEOUT_MS,
          });
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
          for await (const msg of frames) {
            const frame = msg.json<{ data?: string[]; end?: true }>();
            if (frame.end) break;
            res.write(frame.data!.map((d) => `data: ${d}\n\n`).join(''));
          }
          frames.unsubscribe();
          res.end('data: [DONE]\n\n');
        })
        .catch((error: unknown) => {
          // The load generator counts it as an error; the process goes on serving.
          if (!res.headersSent) res.writeHead(502);
          res.end(String(error));
        });
    });
  } else if (part === 'responder' && role === 'chain') {
    nc.subscribe(on('turn'), {
      queue: 'floor',
      callback: (_error, msg) => {
        const { turnId, request: body } = msg.json<{ turnId: string; request: unknown }>();
        const chunks = nc.subscribe(on(`chunks.${turnId}`), {
          timeout: TIMEOUT_MS,
          callback: (_e, chunk) => {
            nc.publish(on(`frames.${turnId}`), chunk.data);
            if (chunk.json<{ end?: true }>().end) chunks.unsubscribe();
          },
        });
        void nc
          .request(on('generate'), text.encode(JSON.stringify({ turnId, request: body })), { timeout: TIMEOUT_MS })
          .then(() => msg.respond(text.encode('{}')));
      },
    });
  } else if ((part === 'inference' && role === 'chain') || (part === 'worker' && role === 'pair')) {
    // The worker of `pair` is responder and inference in one process: the turn goes straight upstream.
    const worker = part === 'worker';
    nc.subscribe(on(worker ? 'turn' : 'generate'), {
      queue: 'floor',
      callback: (_error, msg) => {
        const { turnId, request: body } = msg.json<{ turnId: string; request: unknown }>();
        const subject = on(`${worker ? 'frames' : 'chunks'}.${turnId}`);
        upstreamStream(
          JSON.stringify(body),
          (data) => nc.publish(subject, text.encode(JSON.stringify({ data }))),
          () => nc.publish(subject, text.encode('{"end":true}')),
        );
        msg.respond(text.encode('{}'));
      },
    });
  } else {
    throw new Error(`unknown ${role} part ${String(part)}`);
  }
  // The subscriptions are on the server once a flush returns.
  await nc.flush();
  if (part !== 'gateway') process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
}

if (role === 'proxy') proxy();
else if (role === 'chain' || role === 'pair') {
  await runPart(await connect({ servers: process.env.NATS_URL, noAsyncTraces: true }));
} else throw new Error('usage: node bench/floor.ts proxy | chain gateway|responder|inference | pair gateway|worker');
