/**
 * `nx serve <app>` (the target builds first): runs one built app in the foreground with the current
 * environment and its output as is. The gateway gets the local API key from `.parley/api-key` when none is
 * configured, as with `npm start`. The key is never printed (output ends up in logs and shared screens), only
 * where it is.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { APPS, ROOT, builtMain, isApp, localApiKey, printPrefixed } from './local.ts';

const app = process.argv[2];
if (!isApp(app)) {
  process.stderr.write(`usage: node scripts/serve.ts <${APPS.join('|')}>\n`);
  process.exit(2);
}

let main: string;
try {
  main = builtMain(app);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}

const env = { ...process.env };
if (app === 'gateway' && !env.PARLEY_API_KEYS && !env.PARLEY_API_KEYS_FILE) {
  const { key, created } = localApiKey();
  env.PARLEY_API_KEYS = key;
  printPrefixed(
    'serve',
    `the API key for local use is in .parley/api-key${created ? ' (generated now)' : ''}: -H "Authorization: Bearer $(cat .parley/api-key)"`,
  );
}

// Its own process group: a Ctrl-C would otherwise reach it twice (from the terminal and forwarded from here),
// and the services treat a second signal as "stop now".
const child = spawn(process.execPath, [main], {
  cwd: ROOT,
  env,
  stdio: ['ignore', 'inherit', 'inherit'],
  detached: true,
});
let forwarded = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    // Nx and the terminal may both signal; the app stops gracefully on the first.
    if (forwarded) return;
    forwarded = true;
    child.kill(signal);
  });
}
child.once('exit', (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0)));
