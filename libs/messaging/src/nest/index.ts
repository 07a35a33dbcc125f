export { runNatsService, type NatsServiceConfig, type NatsServiceOptions } from './bootstrap.js';
export { ParleyNatsServer } from './nats-server.js';
export { PassThroughRpcFilter } from './rpc-exception.filter.js';
export { ZodPipe, requestOf } from './zod.pipe.js';
