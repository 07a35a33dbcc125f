/**
 * The NestJS adapter: `@MessagePattern(Endpoints.x.subject)` handlers served over the service's one shared NATS
 * connection, in a queue group. Payloads are the contract's plain JSON (not Nest's packet envelope), so any
 * NATS client can call a service with a timeout; errors go back as `ErrorInfo` with the `Parley-Error-Code`
 * header, which `call()` in this library turns back into a `ParleyError`.
 */
import {
  headers as natsHeaders,
  type Msg,
  type NatsConnection,
  type Subscription,
  type SubscriptionOptions,
} from '@nats-io/transport-node';
import { ServerNats, type NatsContext } from '@nestjs/microservices';
import { Endpoints, Headers, ParleyError, type ErrorInfo } from '@parley/contracts';
import { SpanKind } from '@opentelemetry/api';
import { withSpan, type Logger } from '@parley/tracing';
import { extractContext } from '../headers.js';
import { encode } from '../codec.js';

const decoder = new TextDecoder();

/** Turns and generations are traced; probes and listings are not (registry.ts says which is which). */
const TRACED_SUBJECTS: ReadonlySet<string> = new Set(
  Object.values(Endpoints)
    .filter((endpoint) => endpoint.traced)
    .map((endpoint) => endpoint.subject),
);

/** Nest's reply packet: one value, or an error, then (possibly merged) `isDisposed`. */
interface ReplyPacket {
  response?: unknown;
  err?: unknown;
  isDisposed?: boolean;
}

export class ParleyNatsServer extends ServerNats {
  constructor(
    private readonly connection: NatsConnection,
    { queue, log }: { queue: string; log: Logger },
  ) {
    super({
      queue,
      gracefulShutdown: false,
      deserializer: {
        // Contract messages are plain JSON; the reply subject doubles as the request id Nest wants.
        deserialize: (msg: Msg, options?: { channel?: string; replyTo?: string }) => ({
          pattern: options?.channel ?? msg.subject,
          data: parseJson(msg.data),
          id: options?.replyTo || undefined,
        }),
      },
    });
    this.errorLog = log;
  }

  private readonly errorLog: Logger;

  /**
   * Hands Nest the shared connection, wrapped so that Nest's `close()` only removes this server's
   * subscriptions: the owner drains the connection after in-flight work ends.
   */
  override async createNatsClient(): Promise<NatsConnection> {
    const subscriptions: Subscription[] = [];
    const connection = this.connection;
    return new Proxy(connection, {
      get(target, property) {
        if (property === 'subscribe') {
          return (subject: string, options?: SubscriptionOptions) => {
            const subscription = target.subscribe(subject, options);
            subscriptions.push(subscription);
            return subscription;
          };
        }
        if (property === 'close') {
          return async () => {
            for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /**
   * Our patterns are NATS subjects, registered as strings. Nest's version first tries `JSON.parse` on the
   * subject of every message, which throws for a subject and builds a stack trace each time (about 40 µs per
   * request, on the way to the first token).
   */
  override getRouteFromPattern(pattern: string): string {
    return pattern;
  }

  /** Turns and generations are traced: a consumer span, child of the caller's, is active in the handler. */
  override async handleMessage(channel: string, natsMsg: Msg): Promise<unknown> {
    if (!TRACED_SUBJECTS.has(channel)) return super.handleMessage(channel, natsMsg);
    return withSpan(
      `process ${channel}`,
      {
        kind: SpanKind.CONSUMER,
        parent: extractContext(natsMsg.headers),
        attributes: {
          'messaging.system': 'nats',
          'messaging.destination.name': channel,
          'messaging.operation.type': 'process',
        },
      },
      () => super.handleMessage(channel, natsMsg),
    );
  }

  override getPublisher(natsMsg: Msg, _id: string, _ctx: NatsContext): (packet: ReplyPacket) => unknown {
    if (!natsMsg.reply) return () => undefined;
    return (packet: ReplyPacket) => {
      if (packet.err !== undefined) {
        const info = toErrorInfo(packet.err);
        if (info.code === 'internal_error')
          this.errorLog.error({ err: packet.err, subject: natsMsg.subject }, 'handler failed');
        const h = natsHeaders();
        h.set(Headers.errorCode, info.code);
        return natsMsg.respond(encode(info), { headers: h });
      }
      // The trailing `isDisposed` packet of a single-value reply carries nothing: the caller has its answer.
      if (!('response' in packet)) return undefined;
      return natsMsg.respond(encode(packet.response));
    };
  }
}

function parseJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
}

function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof ParleyError) return error.toInfo();
  return { code: 'internal_error', message: 'internal error', retryable: true };
}
