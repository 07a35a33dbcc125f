/**
 * `node scripts/bundle.ts <app>`: the last step of `nx build <app>` for the Node services. It bundles what tsc
 * emitted (dist/apps/<app>/apps/<app>/src/main.js, decorator metadata included) and the packages it imports
 * into one ES module, dist/apps/<app>/main.js, which is what every way of running the app starts (npm start,
 * nx serve, the test harness, the image).
 *
 * Why: NestJS 12, rxjs, zod and the rest are hundreds of ES modules, and Node resolves, reads and links each at
 * start. One file halves the time to ready and saves 2–16 MB per service (docs/performance.md).
 *
 * Not minified, so stack traces keep their names and lines stay readable.
 */
import { build } from 'esbuild';
import { join } from 'node:path';
import { ROOT, isApp } from './local.ts';

/**
 * Left to be loaded from node_modules at run time:
 * - packages loaded lazily, only when configured or needed (the OTLP exporter, the `openai` and Hugging Face
 *   SDKs, the BPE tables of `gpt-tokenizer`), so a deployment that does not use them does not parse them;
 * - optional peers NestJS and pino look for and handle being absent (other transports and platforms,
 *   validation libraries, pretty printing and worker transports).
 */
const EXTERNAL = [
  '@opentelemetry/exporter-trace-otlp-http',
  'openai',
  '@huggingface/inference',
  'gpt-tokenizer',
  'gpt-tokenizer/*',
  '@nestjs/websockets',
  '@nestjs/websockets/*',
  '@nestjs/platform-socket.io',
  '@nestjs/platform-fastify',
  '@fastify/*',
  'fastify',
  '@grpc/*',
  '@apollo/*',
  'kafkajs',
  'mqtt',
  'nats',
  'ioredis',
  'amqplib',
  'amqp-connection-manager',
  'class-validator',
  'class-transformer',
  'pino-pretty',
  'thread-stream',
];

const app = process.argv[2];
if (!isApp(app)) {
  console.error('usage: node scripts/bundle.ts <gateway|responder|inference|llm-sim>');
  process.exit(2);
}
await build({
  entryPoints: [join(ROOT, 'dist/apps', app, 'apps', app, 'src/main.js')],
  outfile: join(ROOT, 'dist/apps', app, 'main.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  external: EXTERNAL,
  // CommonJS packages inside an ES module bundle still call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __parleyRequire } from 'node:module';\nconst require = __parleyRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
