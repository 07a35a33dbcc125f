import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

describe('logger', () => {
  it('logger - writes JSON with the service name and redacts secrets', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = createLogger({ service: 'test', destination });
    log.info({ headers: { authorization: 'Bearer pk-secret' }, apiKey: 'sk-secret' }, 'hello');
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]!);
    expect(record).toMatchObject({ service: 'test', level: 'info', msg: 'hello' });
    expect(lines[0]).not.toContain('secret');
  });
});
