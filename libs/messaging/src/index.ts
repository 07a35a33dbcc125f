export { ActiveStreams } from './active-streams.js';
export { BatchedPublisher } from './batched-publisher.js';
export { decode, encode, validate } from './codec.js';
export { ConversationIndex } from './conversation-index.js';
export { connectNats, type NatsHandle } from './connection.js';
export { eraseConversation, type ErasureReceipt } from './erasure.js';
export { replayFrames, type ReplayOptions } from './frame-replay.js';
export { extractContext, httpTraceHeaders, injectHeaders } from './headers.js';
export { startOpsServer, type OpsServer } from './ops-server.js';
export { HistoryStore } from './history.js';
export {
  DUPLICATE_WINDOW_MS,
  FRAMES_MAX_AGE_MS,
  HISTORY_MAX_MESSAGES_PER_CONVERSATION,
  RECORDS_TTL_MS,
  STORED_PUBLISH,
  countSubject,
  ensureJetStream,
  purgeSubject,
  type JetStreamHandles,
} from './jetstream.js';
export { runNatsService, type NatsServiceOptions, type ServiceContext } from './nest/bootstrap.js';
export { ParleyNatsServer } from './nest/nats-server.js';
export { PassThroughRpcFilter } from './nest/rpc-exception.filter.js';
export { ZodPipe } from './nest/zod.pipe.js';
export { request } from './request.js';
export { SequenceReader, type SequenceReaderOptions } from './sequence-reader.js';
