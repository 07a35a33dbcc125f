import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from './ports.js';

describe('freePort', () => {
  it('ports - freePort gives a port that a listener can bind on 127.0.0.1', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65_536);
    const server = createServer().listen(port, '127.0.0.1');
    try {
      await once(server, 'listening');
    } finally {
      server.close();
    }
  });
});
