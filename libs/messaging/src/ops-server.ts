/**
 * The operations port of a NATS-only service (responder, inference): `/healthz` (alive), `/readyz` (connected
 * to NATS and not shutting down) and `/metrics` (Prometheus), for Kubernetes probes and scraping.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from '@parley/tracing';
import type { NatsHandle } from './connection.js';

export interface OpsServer {
  port: number;
  /** From now on `/readyz` answers 503, so load balancers and probes stop sending work. */
  markStopping(): void;
  close(): Promise<void>;
}

export async function startOpsServer({
  port,
  host = '0.0.0.0',
  nats,
  registry,
}: {
  port: number;
  host?: string;
  nats: NatsHandle;
  registry: Registry;
}): Promise<OpsServer> {
  let stopping = false;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (path === '/readyz') {
      const ready = nats.connected() && !stopping;
      const body = JSON.stringify({
        status: ready ? 'ready' : 'not_ready',
        checks: { nats: nats.connected(), stopping },
      });
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(body);
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    markStopping: () => {
      stopping = true;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
