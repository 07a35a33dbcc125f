/**
 * The keys command, bundled beside the gateway (dist/apps/gateway/keys-cli.js) so that the gateway's image can
 * run it (`kubectl exec deploy/gateway -- node dist/apps/gateway/keys-cli.js keys list`), and `npm run keys`
 * (scripts/keys.ts). Usage and output: apps/gateway/src/cli/keys-cli.ts.
 */
import { runKeysCli } from './cli/keys-cli.js';

process.exitCode = await runKeysCli(process.argv.slice(2));
