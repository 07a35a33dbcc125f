import { isBuiltin } from 'node:module';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { composeProblems, interpolate, parseCompose } from './compose.js';
import { dockerfileProblems } from './dockerfile.js';
import { repoPath } from './paths.js';

const COMPOSE = repoPath('docker/docker-compose.yml');
const DOCKERFILE = readFileSync(repoPath('docker/Dockerfile'), 'utf8');

describe('docker - Dockerfile', () => {
  it('pins its base image, installs production dependencies only, runs as non-root with a HEALTHCHECK', () => {
    expect(dockerfileProblems(DOCKERFILE, repoPath('.'))).toEqual([]);
  });

  it('rejects an unpinned base, a root user, a missing HEALTHCHECK and a missing COPY source', () => {
    const bad = DOCKERFILE.replace(/node:24\.9\.0-bookworm-slim/g, 'node:latest')
      .replace('USER 1000:1000', 'USER root')
      .replace(/^HEALTHCHECK.*$/m, '')
      .replace('docker/healthcheck.mjs', 'docker/nothing-here.mjs');
    const problems = dockerfileProblems(bad, repoPath('.'));
    expect(problems).toContain('FROM ${NODE_IMAGE}: image node:latest uses the latest tag');
    expect(problems).toContain('the final stage does not switch to a non-root USER');
    expect(problems).toContain('the final stage has no HEALTHCHECK');
    expect(problems).toContain('COPY docker/nothing-here.mjs: not in the build context');
    expect(dockerfileProblems('FROM node AS x\nUSER 1000\nHEALTHCHECK CMD true\n', '.')).toContain(
      'FROM node: image node has no tag',
    );
  });
});

describe('docker - the services V8 flags', () => {
  /** The `SERVICE_NODE_FLAGS = [...]` array of a source file, as written. */
  const flagsIn = (path: string) => {
    const match = /SERVICE_NODE_FLAGS = \[([^\]]*)\]/.exec(readFileSync(repoPath(path), 'utf8'));
    return match?.[1]?.split(',').map((flag) => flag.trim().replace(/^'|'$/g, ''));
  };

  it('are the same in the image, npm start and the test harness', () => {
    const cmd = /^CMD \[(.*)\]$/m.exec(DOCKERFILE)?.[1];
    const image = cmd?.split(',').map((part) => JSON.parse(part.trim()) as string);
    const local = flagsIn('scripts/local.ts');
    expect(local).toEqual(['--max-semi-space-size=8']);
    expect(image).toEqual(['node', ...local!, 'main.mjs']);
    expect(flagsIn('libs/testing/src/services.ts')).toEqual(local);
  });
});

describe('docker - compose', () => {
  const text = readFileSync(COMPOSE, 'utf8');

  it('parses, pins every image, and references only files, services and variables that exist', () => {
    const compose = parseCompose(text);
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining([
        'nats',
        'redis',
        'gateway',
        'responder',
        'inference',
        'llm-sim',
        'vllm',
        'otel-collector',
        'prometheus',
        'grafana',
      ]),
    );
    expect(composeProblems(compose, COMPOSE)).toEqual([]);
  });

  it("gives the gateway Redis: append-only, healthy only on PONG, on a volume, unpublished, hardened like the services'", () => {
    const compose = parseCompose(text);
    const redis = compose.services.redis!;
    expect(redis.image).toMatch(/^redis:7\.\d+\.\d+(-alpine)?$/);
    const command = redis.command as string[];
    expect(command[0]).toBe('redis-server');
    expect(command.slice(command.indexOf('--appendonly'), command.indexOf('--appendonly') + 2)).toEqual([
      '--appendonly',
      'yes',
    ]);
    expect(redis.healthcheck).toMatchObject({ test: ['CMD-SHELL', 'redis-cli ping | grep -q PONG'] });
    expect(redis.volumes).toEqual(['redis-data:/data']);
    expect(Object.keys((parse(text) as { volumes: object }).volumes)).toContain('redis-data');
    expect(redis.ports).toBeUndefined();
    expect(redis).toMatchObject({ read_only: true, cap_drop: ['ALL'], security_opt: ['no-new-privileges:true'] });
    expect(redis.user).not.toMatch(/^(root|0)(:|$)/);
    const gateway = compose.services.gateway!;
    expect(gateway.depends_on).toEqual({
      nats: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
    expect((gateway.environment as Record<string, string>).PARLEY_REDIS_URL).toBe('redis://redis:6379');
  });

  it('runs vLLM only in the gpu profile, on an NVIDIA device', () => {
    const vllm = parseCompose(text).services.vllm!;
    expect(vllm.profiles).toEqual(['gpu']);
    expect(JSON.stringify(vllm.deploy)).toContain('"driver":"nvidia"');
  });

  it('wires the Prometheus rules and the Grafana dashboard in', () => {
    const prometheus = readFileSync(repoPath('docker/prometheus/prometheus.yml'), 'utf8');
    expect(prometheus).toContain('/etc/prometheus/alerts.yml');
    expect(text).toContain('./prometheus/alerts.yml:/etc/prometheus/alerts.yml');
    expect(text).toContain('./grafana/dashboards:/var/lib/grafana/dashboards');
  });

  it('interpolates like Compose with nothing set', () => {
    expect(interpolate('a ${X:-1} ${Y-2} ${Z:?need Z} $W $$V')).toBe('a 1 2 unset unset $V');
  });

  it('rejects unpinned images, unknown variables, missing files and a model name vLLM does not serve', () => {
    const bad = text
      .replace('prom/prometheus:v3.5.0', 'prom/prometheus')
      .replace('grafana/grafana:12.1.1', 'grafana/grafana:latest')
      .replace("PARLEY_OPS_PORT: '9101'", "PARLEY_OPS_PORT: '9101'\n      PARLEY_OPS_PROT: '9101'")
      .replace('./otel-collector/config.yaml', './otel-collector/missing.yaml')
      .replace('--served-model-name=llama-3.1-8b-instruct', '--served-model-name=other');
    const problems = composeProblems(parseCompose(bad), COMPOSE);
    expect(problems).toEqual(
      expect.arrayContaining([
        'compose service prometheus: image prom/prometheus has no tag',
        'compose service grafana: image grafana/grafana:latest uses the latest tag',
        'compose service responder: PARLEY_OPS_PROT is not a variable responder reads',
        'compose service otel-collector: mounted ./otel-collector/missing.yaml does not exist',
        'models.gpu.yaml: target vllm asks for llama-3.1-8b-instruct, vllm serves other',
      ]),
    );
  });
});

describe('docker - the bundles the image runs (scripts/bundle.ts)', () => {
  const externals =
    /const EXTERNAL = \[([^\]]*)\]/
      .exec(readFileSync(repoPath('scripts/bundle.ts'), 'utf8'))?.[1]
      ?.split(',')
      .map((entry) => entry.trim().replace(/^'|'$/g, ''))
      .filter(Boolean) ?? [];
  const external = (specifier: string) =>
    externals.some((entry) => (entry.endsWith('/*') ? specifier.startsWith(entry.slice(0, -1)) : specifier === entry));
  const { dependencies } = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };

  // Each app's main.js, the backup command the responder's image carries for the CronJob, and the gateway's keys
  // command.
  it.each([
    'gateway/main',
    'gateway/keys-cli',
    'responder/main',
    'responder/jetstream-backup',
    'inference/main',
    'llm-sim/main',
  ])('%s.js: loads only Node and the packages left out on purpose, and is stored one byte per character', (entry) => {
    const bundle = readFileSync(repoPath(`dist/apps/${entry}.js`), 'utf8');
    const specifiers = [...bundle.matchAll(/(?:\bfrom ?|\bimport\(|\b(?:__)?require\()"([@\w./:-]+)"/g)].map(
      (m) => m[1]!,
    );
    expect(specifiers.length).toBeGreaterThan(0);
    // Node's own modules are required, never imported as ES modules (an imported node:http loads Node's
    // undici, 10 MB resident).
    const imported = [...bundle.matchAll(/\b(?:from ?|import ?)"([\w:/]+)"/g)].map((m) => m[1]!);
    expect(imported.filter((s) => isBuiltin(s))).toEqual([]);
    const unexpected = specifiers.filter((s) => !isBuiltin(s) && !external(s) && !s.startsWith('.'));
    expect(unexpected).toEqual([]);
    // One character above U+00FF and V8 would keep the whole source at two bytes per character.
    expect([...bundle].find((c) => c.codePointAt(0)! > 0xff)).toBeUndefined();
  });

  it('leaves out only optional peers and packages the image installs (lazily loaded ones)', () => {
    const installed = externals.filter((entry) => dependencies[entry.replace(/\/\*$/, '')] !== undefined);
    expect(installed.sort()).toEqual(
      [
        '@huggingface/inference',
        '@opentelemetry/exporter-trace-otlp-http',
        'gpt-tokenizer',
        'gpt-tokenizer/*',
        'openai',
      ].sort(),
    );
  });
});
