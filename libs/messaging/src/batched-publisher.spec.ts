import { readFileSync } from 'node:fs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@parley/testing';
import { capturedLog } from './log.test-kit.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BatchedPublisher } from './batched-publisher.js';

let server: NatsServerHandle;
let nc: NatsConnection;
let receiver: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  receiver = await connect({ servers: server.url });
});
afterAll(async () => {
  await nc?.close();
  await receiver?.close();
  await server?.stop();
});

/** Collects `count` messages of `subject` as text, in arrival order. */
async function receive(subject: string, count: number): Promise<() => Promise<string[]>> {
  const texts: string[] = [];
  const sub = receiver.subscribe(subject, { max: count, callback: (_, msg) => void texts.push(msg.string()) });
  await receiver.flush();
  return async () => {
    await sub.closed;
    return texts;
  };
}

/** Write system calls this process has made so far (Linux). */
const writeCalls = () => Number(/^syscw: (\d+)/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

it('batched publisher - messages from many callbacks of one loop turn leave in one write, in order', async () => {
  const publisher = new BatchedPublisher(nc, capturedLog().log);
  const received = await receive('batch.soon', 100);
  await nc.flush();
  const before = writeCalls();
  // One hundred I/O-like callbacks in the same turn of the loop, each publishing one message.
  await new Promise<void>((resolve) => {
    for (let i = 0; i < 100; i++) {
      setImmediate(() => {
        publisher.soon('batch.soon', new TextEncoder().encode(String(i)));
        if (i === 99) setImmediate(resolve);
      });
    }
  });
  const writes = writeCalls() - before;
  expect(await received()).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
  // Published one by one, nats.js would have made a hundred writes; a few others of this process may interleave.
  expect(writes).toBeLessThan(10);
});

it("batched publisher - a stream's first message goes at once, its later ones are held for the loop turn", async () => {
  const publisher = new BatchedPublisher(nc, capturedLog().log);
  const received = await receive('batch.stream', 3);
  const encode = (text: string) => new TextEncoder().encode(text);
  await nc.flush();
  const before = writeCalls();
  publisher.inStream(1, 'batch.stream', encode('1'));
  // nats.js writes what the first left in its buffer in a microtask: one write, before the loop turn ends.
  await Promise.resolve();
  const afterFirst = writeCalls() - before;
  publisher.inStream(2, 'batch.stream', encode('2'));
  publisher.inStream(3, 'batch.stream', encode('3'));
  await Promise.resolve();
  expect(writeCalls() - before).toBe(afterFirst);
  expect(afterFirst).toBeGreaterThanOrEqual(1);
  expect(await received()).toEqual(['1', '2', '3']);
});

it('batched publisher - a message sent now goes after what is held, so order holds across both', async () => {
  const publisher = new BatchedPublisher(nc, capturedLog().log);
  const received = await receive('batch.order', 3);
  const encode = (text: string) => new TextEncoder().encode(text);
  publisher.soon('batch.order', encode('first'));
  publisher.soon('batch.order', encode('second'));
  publisher.now('batch.order', encode('third'));
  expect(await received()).toEqual(['first', 'second', 'third']);
});

it('batched publisher - held messages a closed connection cannot take are logged, never thrown', async () => {
  const closing = await connect({ servers: server.url });
  const { log, lines } = capturedLog();
  const publisher = new BatchedPublisher(closing, log);
  publisher.soon('batch.lost', new TextEncoder().encode('late'));
  await closing.close();
  publisher.flush();
  expect(lines).toEqual([
    expect.objectContaining({ level: 'error', msg: 'could not publish held messages', messages: 1 }),
  ]);
});
