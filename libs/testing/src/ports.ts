import { createServer } from 'node:net';

/**
 * A TCP port of 127.0.0.1 that was free a moment ago: the system picks it for a listener on port 0, which is
 * closed again. Another process may take it before you bind, so callers that can retry should.
 *
 * @example const port = await freePort();
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port was assigned')),
      );
    });
  });
}
