import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { startNatsServer } from './nats-server.js';
import { freePort } from './ports.js';

describe('nats-server harness', () => {
  it('nats-server - restart keeps the port and the JetStream data; stop is idempotent', async () => {
    const server = await startNatsServer();
    try {
      let nc = await connect({ servers: server.url });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'HARNESS', subjects: ['harness.>'] });
      await jetstream(nc).publish('harness.one', 'kept');
      await nc.close();
      await server.restart();
      nc = await connect({ servers: server.url });
      const message = await (await jetstreamManager(nc)).streams.getMessage('HARNESS', { seq: 1 });
      expect(message?.string()).toBe('kept');
      await nc.close();
    } finally {
      await server.stop();
      await server.stop();
    }
    await expect(connect({ servers: server.url, reconnect: false, timeout: 500 })).rejects.toThrow();
  });

  it('ports - freePort gives a usable port', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65_536);
  });
});
