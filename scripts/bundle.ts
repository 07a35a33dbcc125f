/**
 * `node scripts/bundle.ts <app>`: the last step of `nx build <app>` for the Node services. It bundles what tsc
 * emitted (dist/apps/<app>/apps/<app>/src/main.js, decorator metadata included) and the packages it imports
 * into one ES module, dist/apps/<app>/main.js, which is what every way of running the app starts (npm start,
 * nx serve, the test harness, the image); likewise the responder's backup command, jetstream-backup.js, and the gateway's keys command, keys-cli.js.
 *
 * Why: NestJS 12, rxjs, zod and the rest are hundreds of ES modules, and Node resolves, reads and links each at
 * start. One file halves the time to ready and saves memory (docs/performance.md).
 *
 * Whitespace and syntax are minified, names are not, so stack traces keep their function names; the source map
 * beside the bundle maps them back (`node --enable-source-maps` when debugging). V8 keeps a module's whole
 * source in memory: minified, with non-ASCII characters escaped (one character above U+00FF makes V8 store
 * the whole source two bytes per character; regular expressions keep theirs, all Latin-1 today, which a deploy
 * check holds), it is 3.5 MB instead of 11 MB.
 */
import { build, type Plugin } from 'esbuild';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { ROOT, isApp, type App } from './local.ts';

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
  'amqplib',
  'amqp-connection-manager',
  'class-validator',
  'class-transformer',
  'pino-pretty',
  'thread-stream',
];

/**
 * Node's own modules are loaded with require(), even where our code imports them. An ES module import of a
 * built-in makes Node build a facade that reads every export, and `node:http` exports lazy getters (WebSocket,
 * CloseEvent, MessageEvent) that load Node's bundled undici: 10 MB resident and 2 MB of heap in every service,
 * for a fetch client the services do not use. Through require() the getters run only if something reads them.
 */
const builtinsByRequire: Plugin = {
  name: 'builtins-by-require',
  setup(build) {
    build.onResolve({ filter: /^[a-z_:/]+$/ }, ({ path, kind }) =>
      kind === 'import-statement' && isBuiltin(path) ? { path, namespace: 'builtin' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, ({ path }) => ({
      contents: `module.exports = require(${JSON.stringify(path)});`,
      loader: 'js',
    }));
  },
};

/**
 * Entry points bundled beside an app's main.js, each into its own file (no code shared between them): the
 * backup and restore command ships in the responder's image, which the backup CronJob runs; the keys command
 * (projects and API keys) in the gateway's.
 */
const MORE_ENTRIES: Partial<Record<App, string[]>> = { responder: ['jetstream-backup'], gateway: ['keys-cli'] };

const app = process.argv[2];
if (!isApp(app)) {
  console.error('usage: node scripts/bundle.ts <gateway|responder|inference|llm-sim>');
  process.exit(2);
}
await build({
  entryPoints: Object.fromEntries(
    ['main', ...(MORE_ENTRIES[app] ?? [])].map((entry) => [
      entry,
      join(ROOT, 'dist/apps', app, 'apps', app, `src/${entry}.js`),
    ]),
  ),
  outdir: join(ROOT, 'dist/apps', app),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  external: EXTERNAL,
  plugins: [builtinsByRequire],
  minifyWhitespace: true,
  minifySyntax: true,
  // Short lines: Node prints the source line of an uncaught error, which would otherwise be kilobytes long.
  lineLimit: 200,
  charset: 'ascii',
  sourcemap: 'linked',
  // Licence texts of the bundled packages go to main.js.LEGAL.txt (they may hold non-ASCII names).
  legalComments: 'linked',
  // CommonJS packages inside an ES module bundle still call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __parleyRequire } from 'node:module';\nconst require = __parleyRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
