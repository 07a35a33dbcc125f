export { ActiveStreams } from './active-streams.js';
export { BatchedPublisher } from './batched-publisher.js';
export { cancelTurn, onCancel } from './cancel.js';
export { decode, encode, validate } from './codec.js';
export { ConversationIndex } from './conversation-index.js';
export { connectNats, type NatsHandle } from './connection.js';
export { eraseConversation, type ErasureReceipt } from './erasure.js';
export { replayFrames } from './frame-replay.js';
export { extractContext, httpTraceHeaders, injectHeaders } from './headers.js';
export { HistoryStore } from './history.js';
export { countSubject, ensureJetStream, purgeSubject, type JetStreamHandles } from './jetstream.js';
export { openStream, type OpenedStream } from './open-stream.js';
export { startOpsServer, type OpsServer } from './ops-server.js';
export { call } from './request.js';
export type { ServiceContext } from './service-context.js';
export {
  SequenceReader,
  storedSource,
  subscriptionSource,
  type ItemSource,
  type ReadTimeouts,
  type SequenceReaderOptions,
} from './sequence-reader.js';
export { StreamWriter, type StreamWriterOptions } from './stream-writer.js';
