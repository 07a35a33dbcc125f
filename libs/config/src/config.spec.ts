import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, flag, loadConfig, port, proxyEnvironment } from './config.js';
import { gatewayEnvSchema, inferenceEnvSchema } from './services.js';

describe('config', () => {
  it('config - defaults apply when variables are missing or empty', () => {
    const config = loadConfig(gatewayEnvSchema, { PORT: '' });
    expect(config.PORT).toBe(3000);
    expect(config.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(config.PARLEY_MAX_MESSAGE_BYTES).toBe(32 * 1024);
    expect(config.PARLEY_API_KEYS).toBeUndefined();
  });

  it('config - values are coerced and lists split', () => {
    const config = loadConfig(gatewayEnvSchema, {
      PORT: '8080',
      PARLEY_API_KEYS: 'a, b,,c',
      PARLEY_TRUST_PROXY: 'yes',
    });
    expect(config.PORT).toBe(8080);
    expect(config.PARLEY_API_KEYS).toEqual(['a', 'b', 'c']);
    // `yes` is one proxy in front: the client is the address it appended, never the leftmost.
    expect(config.PARLEY_TRUST_PROXY).toBe(1);
  });

  it('config - PARLEY_TRUST_PROXY takes hops or proxy addresses, and refuses anything else', () => {
    const trust = (value: string) => loadConfig(gatewayEnvSchema, { PARLEY_TRUST_PROXY: value }).PARLEY_TRUST_PROXY;
    expect(trust('false')).toBe(false);
    expect(trust('2')).toBe(2);
    expect(trust('loopback, 10.0.0.0/8,fd00::/8')).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8']);
    expect(() => trust('everyone')).toThrow(/PARLEY_TRUST_PROXY: expected false, a number of hops/);
  });

  it('config - a bad value names the variable and stops', () => {
    expect(() => loadConfig(gatewayEnvSchema, { PORT: 'eighty', PARLEY_TURN_TIMEOUT_MS: '-5' })).toThrow(ConfigError);
    try {
      loadConfig(gatewayEnvSchema, { PORT: 'eighty', PARLEY_TURN_TIMEOUT_MS: '-5' });
    } catch (error) {
      const problems = (error as ConfigError).problems;
      expect(problems).toHaveLength(2);
      expect(problems[0]).toMatch(/^PORT: .*"eighty"/);
      expect(problems[1]).toMatch(/^PARLEY_TURN_TIMEOUT_MS: /);
    }
  });

  it('config - secret values are never echoed in errors', () => {
    const schema = z.object({ PARLEY_UPSTREAM_API_KEY: z.string().min(50) });
    expect(() => loadConfig(schema, { PARLEY_UPSTREAM_API_KEY: 'sk-secret' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('sk-secret') }),
    );
  });

  it('config - upstream URL must be http(s)', () => {
    expect(() => loadConfig(inferenceEnvSchema, { PARLEY_UPSTREAM_BASE_URL: 'ftp://x' })).toThrow(
      /PARLEY_UPSTREAM_BASE_URL/,
    );
    expect(loadConfig(inferenceEnvSchema, {}).PARLEY_UPSTREAM_MODEL).toBe('sim-model');
  });

  it('config - helpers reject out-of-range values', () => {
    const schema = z.object({ P: port(1), F: flag(false) });
    expect(() => loadConfig(schema, { P: '70000' })).toThrow(/P: /);
    expect(() => loadConfig(schema, { F: 'maybe' })).toThrow(/F: expected true or false/);
  });

  it('config - widget keys parse into keys and origins; malformed entries are refused', () => {
    const config = loadConfig(gatewayEnvSchema, {
      PARLEY_WIDGET_KEYS:
        'pk_aaaaaaaaaaaaaaaa=https://shop.example|http://localhost:3000, pk_bbbbbbbbbbbbbbbb=https://b.example',
    });
    expect(config.PARLEY_WIDGET_KEYS).toEqual([
      { key: 'pk_aaaaaaaaaaaaaaaa', origins: ['https://shop.example', 'http://localhost:3000'] },
      { key: 'pk_bbbbbbbbbbbbbbbb', origins: ['https://b.example'] },
    ]);
    for (const bad of [
      'sk_aaaaaaaaaaaaaaaa=https://a.example',
      'pk_short=https://a.example',
      'pk_aaaaaaaaaaaaaaaa',
      'pk_aaaaaaaaaaaaaaaa=https://a.example/path',
      'pk_aaaaaaaaaaaaaaaa=*',
    ]) {
      expect(() => loadConfig(gatewayEnvSchema, { PARLEY_WIDGET_KEYS: bad }), bad).toThrow(/PARLEY_WIDGET_KEYS/);
    }
    expect(() => loadConfig(gatewayEnvSchema, { PARLEY_VISITOR_TOKEN_SECRET: 'short' })).toThrow(
      /PARLEY_VISITOR_TOKEN_SECRET: must be at least 32/,
    );
  });
});

describe('proxy environment', () => {
  const env = { HTTPS_PROXY: 'http://proxy:3128', no_proxy: 'localhost', PARLEY_UPSTREAM_API_KEY: 'sk-secret' };

  it('proxy environment - only under the Node switch, and only the proxy variables', () => {
    expect(proxyEnvironment(env, [])).toBeUndefined();
    expect(proxyEnvironment({ ...env, NODE_USE_ENV_PROXY: '1' }, [])).toEqual({
      HTTPS_PROXY: 'http://proxy:3128',
      no_proxy: 'localhost',
    });
    expect(proxyEnvironment(env, ['--use-env-proxy'])).toEqual({
      HTTPS_PROXY: 'http://proxy:3128',
      no_proxy: 'localhost',
    });
  });
});
