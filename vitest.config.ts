import { defineConfig } from 'vitest/config';

const project = (name: string, root: string, include: string[], testTimeout = 10_000) => ({
  extends: true as const,
  test: { name, root, include, testTimeout, hookTimeout: 30_000 },
});

export default defineConfig({
  resolve: { tsconfigPaths: true },
  test: {
    projects: [
      project('contracts', 'libs/contracts', ['src/**/*.spec.ts']),
      project('config', 'libs/config', ['src/**/*.spec.ts']),
      project('tracing', 'libs/tracing', ['src/**/*.spec.ts']),
      project('messaging', 'libs/messaging', ['src/**/*.spec.ts']),
      project('testing', 'libs/testing', ['src/**/*.spec.ts']),
      project('widget', 'apps/widget', ['src/**/*.spec.ts']),
      project('llm-sim', 'apps/llm-sim', ['src/**/*.spec.ts', 'test/**/*.spec.ts'], 20_000),
      project('responder', 'apps/responder', ['src/**/*.spec.ts', 'test/**/*.spec.ts'], 20_000),
      project('inference', 'apps/inference', ['src/**/*.spec.ts', 'test/**/*.spec.ts'], 20_000),
      project('gateway', 'apps/gateway', ['src/**/*.spec.ts'], 30_000),
      // The product end to end: every service built and started as a process, over real NATS and HTTP.
      project('e2e', 'tests/e2e', ['**/*.spec.ts'], 30_000),
      project('deploy', 'tools/deploy-check', ['src/**/*.spec.ts'], 60_000),
      // Repository scripts: check-stream against llm-sim behind a streaming and a buffering proxy.
      project('scripts', 'scripts', ['**/*.spec.ts'], 20_000),
    ],
  },
});
