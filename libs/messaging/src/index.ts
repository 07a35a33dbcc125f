export { ActiveStreams } from './active-streams.js';
export {
  BACKUP_FORMAT,
  BACKUP_STREAMS,
  BACKUP_VERSION,
  BackupError,
  backupJetStream,
  restoreJetStream,
  verifyBackup,
  type BackupManifest,
  type BackupOptions,
  type RestoreOptions,
  type TransferSummary,
} from './backup.js';
export { runBackupCli, type BackupCliIo } from './backup-cli.js';
export { cancelTurn, onCancel } from './cancel.js';
export { connectForCommand, describeError, isBug, redact, urlSecrets } from './command-line.js';
export { decode, encode, validate } from './codec.js';
export { ConversationIndex } from './conversation-index.js';
export { connectNats, type NatsHandle } from './connection.js';
export { eraseConversation, type ErasureReceipt } from './erasure.js';
export { replayFrames } from './frame-replay.js';
export { httpTraceHeaders, injectHeaders } from './headers.js';
export { HistoryStore } from './history.js';
export {
  bucketStream,
  countSubject,
  ensureJetStream,
  historyAgeLimitMs,
  purgeSubject,
  STORED_PUBLISH,
  type JetStreamHandles,
  type JetStreamOptions,
} from './jetstream.js';
export { openStream, type OpenedStream } from './open-stream.js';
export { readStream, StreamReadError, type ReadStreamOptions } from './read-stream.js';
export { call } from './request.js';
export { ServiceTokens, type ServiceContext } from './service-context.js';
export {
  SequenceReader,
  storedSource,
  subscriptionSource,
  type ItemSource,
  type ReadTimeouts,
  type SequenceReaderOptions,
} from './sequence-reader.js';
export { StreamWriter, type StreamWriterOptions } from './stream-writer.js';
