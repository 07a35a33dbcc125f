/**
 * A classifier server for tests, over real HTTP: `POST /moderations` answers OpenAI's moderation shape,
 * `POST /hf` a Hugging Face text-classification answer. A message containing `FLAG` is flagged, `SLOW` is
 * answered after `slowMs`, `FAIL` gets a 500. `POST /sentiment` answers a Hugging Face sentiment classification:
 * `NEGATIVE` for a message containing `angry`, `POSITIVE` otherwise.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ClassifierServer {
  url: string;
  /** The texts it was asked about, in order. */
  inputs: string[];
  close(): Promise<void>;
}

export async function startClassifierServer({ slowMs = 5_000 } = {}): Promise<ClassifierServer> {
  const inputs: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as { input?: string; inputs?: string };
      const text = body.input ?? body.inputs ?? '';
      inputs.push(text);
      const flagged = text.includes('FLAG');
      const answer = () => {
        if (text.includes('FAIL')) return res.writeHead(500).end('{"error":"down"}');
        res.writeHead(200, { 'content-type': 'application/json' });
        if (req.url === '/sentiment') {
          const negative = text.includes('angry');
          res.end(
            JSON.stringify([
              [
                { label: negative ? 'NEGATIVE' : 'POSITIVE', score: 0.9 },
                { label: negative ? 'POSITIVE' : 'NEGATIVE', score: 0.1 },
              ],
            ]),
          );
        } else if (req.url === '/hf') {
          res.end(JSON.stringify([[{ label: flagged ? 'INJECTION' : 'SAFE', score: 0.99 }]]));
        } else {
          res.end(JSON.stringify({ id: 'modr-1', model: 'sim', results: [{ flagged, categories: {} }] }));
        }
      };
      if (!text.includes('SLOW')) return answer();
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, slowMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    inputs,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
