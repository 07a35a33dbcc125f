export { startNatsServer, type NatsServerHandle } from './nats-server.js';
export { freePort } from './ports.js';
export { startService, serviceMain, type ServiceHandle, type ServiceName } from './services.js';
