/**
 * `npm run keys -- <command>`: projects and API keys at NATS_URL, without an HTTP client (docs/keys-and-limits.md,
 * "The keys command"). Runs the command the gateway's build bundles, dist/apps/gateway/keys-cli.js: the file
 * the gateway's image carries, so both run the same code. Node runs this script directly (type stripping), so
 * it imports only Node's own modules and the build's output.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './local.ts';

const entry = join(ROOT, 'dist/apps/gateway/keys-cli.js');
if (!existsSync(entry)) {
  process.stderr.write(`${entry} is missing: run npm run build first\n`);
  process.exit(1);
}
// It reads the command from process.argv, which is this script's: `keys list`, `projects create acme`.
await import(pathToFileURL(entry).href);
