/**
 * `nx serve <app>`: runs one built service in the foreground with the current environment (the target
 * builds it first). The gateway gets the local API key from `.parley/api-key` when none is configured.
 */
import { APPS, localApiKey, run, stop, type App } from './local.ts';

const app = process.argv[2] as App;
if (!APPS.includes(app)) {
  process.stderr.write(`usage: node scripts/serve.ts <${APPS.join('|')}>\n`);
  process.exit(2);
}
const env = { ...process.env };
if (app === 'gateway' && !env.PARLEY_API_KEYS && !env.PARLEY_API_KEYS_FILE) {
  env.PARLEY_API_KEYS = localApiKey().key;
  process.stdout.write(`gateway   | API key for local use (from .parley/api-key): ${env.PARLEY_API_KEYS}\n`);
}
const running = run(app, env, { readyTimeoutMs: 60_000 });
running.child.once('exit', (code) => process.exit(code ?? 1));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop(running.child));
