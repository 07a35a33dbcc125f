/**
 * The backup and restore command, bundled beside the responder (dist/apps/responder/jetstream-backup.js) so
 * that the responder's image can run it: the k8s CronJob does, and `npm run backup` (scripts/jetstream-backup.ts).
 * Usage and output: libs/messaging/src/backup-cli.ts.
 */
import { runBackupCli } from '@parley/messaging';

process.exitCode = await runBackupCli(process.argv.slice(2));
