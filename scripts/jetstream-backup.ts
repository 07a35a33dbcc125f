/**
 * `npm run backup -- --out <file>` (or `-- --dir <dir> [--keep <n>]`) and `npm run restore -- --in <file>
 * [--force]`: backs up or restores Parley's durable JetStream data at NATS_URL (docs/deploy.md, "Backup and
 * restore"). Runs the command the responder's build bundles, dist/apps/responder/jetstream-backup.js: the
 * file the k8s CronJob runs in the responder's image, so both run the same code. Node runs this script directly
 * (type stripping), so it imports only Node's own modules and the build's output.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './local.ts';

const entry = join(ROOT, 'dist/apps/responder/jetstream-backup.js');
if (!existsSync(entry)) {
  process.stderr.write(`${entry} is missing: run npm run build first\n`);
  process.exit(1);
}
// It reads the command from process.argv, which is this script's: `backup --out <file>`, `restore --in <file>`.
await import(pathToFileURL(entry).href);
