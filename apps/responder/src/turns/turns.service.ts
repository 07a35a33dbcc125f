/**
 * Drives a turn: builds the model's input from history, asks an inference replica to generate, relays its
 * chunks as sequence-numbered frames to the gateway, and stores the assistant message at the end.
 *
 * The user message is appended only after an inference replica accepted the generation, and the turn is
 * acknowledged only after that append: a turn the gateway sees refused (no inference, bad model) stores
 * nothing, and an acknowledged turn's user message is durable (docs/adr/0002).
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { MsgHdrs } from '@nats-io/transport-node';
import {
  ChunkSchema,
  ConversationRecordSchema,
  GenerateAcceptedSchema,
  ParleyError,
  Streams,
  Subjects,
  inferenceChunksSubject,
  liveFramesSubject,
  newId,
  turnCancelSubject,
  turnFramesSubject,
  type Cancel,
  type Chunk,
  type ChatMessage,
  type FrameBody,
  type GenerateRequest,
  type PingReply,
  type TurnAccepted,
  type TurnStart,
} from '@parley/contracts';
import type { ResponderConfig } from '@parley/config';
import {
  ActiveStreams,
  ConversationIndex,
  STORED_PUBLISH,
  SequenceReader,
  decode,
  encode,
  purgeSubject,
  injectHeaders,
  request,
  type HistoryStore,
  type JetStreamHandles,
  type NatsHandle,
} from '@parley/messaging';
import { context, trace, type Span } from '@opentelemetry/api';
import type { Gauge, Histogram } from 'prom-client';
import { activeStreams, latencyHistogram, recordError, tracer, type Logger, type Registry } from '@parley/tracing';
import { fitContext } from '../context/context-window.js';
import { tokenCounterFor } from '../context/token-counter.js';
import { Tokens } from '../tokens.js';

/** What the history held before this turn, for the conversation's summary. */
interface PriorHistory {
  count: number;
  title?: string;
}

/** Longest title shown in listings, in characters (taken from the first user message). */
const TITLE_MAX_CHARS = 80;

function titleOf(text: string): string {
  const line = text.trim().replace(/\s+/g, ' ');
  return line.length <= TITLE_MAX_CHARS ? line : `${line.slice(0, TITLE_MAX_CHARS - 1)}…`;
}

/** Marks a turn whose conversation was erased while it ran. */
const ERASED = 'erased';

@Injectable()
export class TurnsService {
  /** Running turns, by the reader of their chunks (closing it ends the turn with `shutting_down`). */
  private readonly active = new ActiveStreams<SequenceReader<typeof ChunkSchema>>();
  private readonly instanceId = randomUUID().slice(0, 8);

  constructor(
    @Inject(Tokens.config) private readonly config: ResponderConfig,
    @Inject(Tokens.nats) private readonly nats: NatsHandle,
    @Inject(Tokens.jetstream) private readonly jetstream: JetStreamHandles,
    @Inject(Tokens.history) private readonly history: HistoryStore,
    @Inject(Tokens.log) private readonly log: Logger,
    @Inject(Tokens.metrics) metrics: Registry,
  ) {
    this.index = new ConversationIndex(jetstream.index);
    this.historyWrite = latencyHistogram(metrics, {
      name: 'parley_history_write_seconds',
      help: 'Appending one message to the conversation history (JetStream publish with ack)',
      labelNames: [],
    });
    this.activeTurns = activeStreams(metrics, 'Turns in progress');
  }

  private readonly historyWrite: Histogram;
  private readonly activeTurns: Gauge;

  private readonly index: ConversationIndex;

  ping(): PingReply {
    return { service: 'responder', instanceId: this.instanceId };
  }

  /** Runs in the consumer span of the turn's request; the turn gets its own span, which ends with it. */
  async start(turn: TurnStart): Promise<TurnAccepted> {
    if (this.active.isStopping) throw new ParleyError('shutting_down', 'responder replica is shutting down');
    if (this.active.has(turn.turnId)) throw new ParleyError('invalid_request', 'turn is already running');
    const span = tracer().startSpan('turn', {
      attributes: { 'parley.turn.id': turn.turnId, 'parley.turn.kind': turn.kind, 'gen_ai.request.model': turn.model },
    });
    const turnContext = trace.setSpan(context.active(), span);
    try {
      return await context.with(turnContext, () => this.accept(turn, span));
    } catch (error) {
      recordError(span, error);
      span.end();
      throw error;
    }
  }

  private async accept(turn: TurnStart, span: Span): Promise<TurnAccepted> {
    const headers = injectHeaders();
    const { messages, prior } = await this.modelInput(turn);
    const { limits } = turn;
    // Subscribe before asking inference to publish, so no chunk can be missed.
    const chunks = new SequenceReader(this.nats.nc, {
      subject: inferenceChunksSubject(turn.turnId),
      schema: ChunkSchema,
      isTerminal: (chunk) => chunk.type !== 'delta',
      firstItemTimeoutMs: limits.firstTokenTimeoutMs,
      idleTimeoutMs: limits.interTokenTimeoutMs,
      totalTimeoutMs: limits.turnTimeoutMs,
      timeoutCodes: { first: 'first_token_timeout', idle: 'inter_token_timeout', total: 'turn_timeout' },
      what: 'inference chunks',
    });
    let generating = false;
    try {
      const generate: GenerateRequest = {
        turnId: turn.turnId,
        model: turn.model,
        params: turn.params,
        includeUsage: turn.includeUsage,
        limits,
        messages,
        conversationId: turn.kind === 'conversation' ? turn.conversationId : undefined,
      };
      await request(this.nats.nc, {
        subject: Subjects.inferenceGenerate,
        payload: generate,
        schema: GenerateAcceptedSchema,
        timeoutMs: this.config.PARLEY_REQUEST_TIMEOUT_MS,
        traced: true,
        unavailable: 'no_inference',
      });
      generating = true;
      if (turn.kind === 'conversation') {
        await this.append(
          turn.conversationId,
          {
            id: turn.userMessage.id,
            turnId: turn.turnId,
            role: 'user',
            content: turn.userMessage.content,
            createdAt: new Date().toISOString(),
          },
          `${turn.turnId}.user`,
        );
      }
    } catch (error) {
      chunks.close();
      if (generating) this.cancelInference(turn.turnId, 'shutdown');
      throw error;
    }
    const started = performance.now();
    this.activeTurns.inc();
    this.active.track(turn.turnId, chunks, () =>
      this.relay(turn, chunks, headers, prior, span).finally(() => {
        this.activeTurns.dec();
        // One line per turn, written in the turn's span so it carries the trace id. Never the content.
        this.log.info(
          {
            turnId: turn.turnId,
            kind: turn.kind,
            model: turn.model,
            durationMs: Math.round(performance.now() - started),
          },
          'turn ended',
        );
        span.end();
      }),
    );
    return { turnId: turn.turnId };
  }

  /** Appends to the history, timing the write. */
  private async append(...args: Parameters<HistoryStore['append']>): Promise<boolean> {
    const started = performance.now();
    try {
      return await this.history.append(...args);
    } finally {
      this.historyWrite.observe((performance.now() - started) / 1000);
    }
  }

  /** Waits up to `graceMs` for running turns; the rest end with a retryable `shutting_down` frame. */
  drain(graceMs: number): Promise<void> {
    return this.active.drain(graceMs, (chunks) => chunks.close());
  }

  /** The model's input: stateless turns as given; conversation turns fitted into the context window. */
  private async modelInput(turn: TurnStart): Promise<{ messages: ChatMessage[]; prior: PriorHistory }> {
    if (turn.kind === 'stateless') return { messages: turn.messages, prior: { count: 0 } };
    const history = await this.history.list(turn.conversationId);
    const firstUser = history.find((m) => m.role === 'user')?.content ?? turn.userMessage.content;
    const prior = { count: history.length, title: titleOf(firstUser) };
    const recent = history
      .slice(-this.config.PARLEY_HISTORY_MAX_MESSAGES)
      .map(({ role, content }) => ({ role, content }));
    const { messages, droppedMessages, promptTokens } = fitContext({
      systemPrompts: [this.config.PARLEY_SYSTEM_PROMPT ?? '', turn.systemPrompt ?? ''],
      history: recent,
      userMessage: turn.userMessage.content,
      budgetTokens: this.config.PARLEY_CONTEXT_WINDOW_TOKENS - this.config.PARLEY_RESERVED_OUTPUT_TOKENS,
      counter: await tokenCounterFor(turn.model),
    });
    if (droppedMessages > 0) {
      this.log.debug({ turnId: turn.turnId, droppedMessages, promptTokens }, 'history trimmed to the context window');
    }
    return { messages, prior };
  }

  private async relay(
    turn: TurnStart,
    chunks: SequenceReader<typeof ChunkSchema>,
    headers: MsgHdrs,
    prior: PriorHistory,
    span: Span,
  ): Promise<void> {
    const stored = turn.kind === 'conversation';
    const subject = stored ? turnFramesSubject(turn.turnId) : liveFramesSubject(turn.turnId);
    let seq = 0;
    const publish = async (frame: FrameBody) => {
      seq += 1;
      const data = encode({ ...frame, seq });
      if (stored) {
        await this.jetstream.js.publish(subject, data, {
          headers,
          msgID: `${turn.turnId}.${seq}`,
          ...STORED_PUBLISH,
        });
      } else {
        this.nats.publisher.inStream(seq, subject, data, headers);
      }
    };
    let text = '';
    // Deltas not yet published: while a frame is being published (a JetStream ack, or a busy event loop) the
    // next deltas queue up in the reader, and they go out together as one frame instead of one frame each.
    let unsent = '';
    const flush = async () => {
      if (!unsent) return;
      const delta = unsent;
      unsent = '';
      await publish({ type: 'delta', text: delta });
    };
    let terminal = false;
    try {
      for await (const chunk of chunks) {
        if (chunk.type === 'delta') {
          text += chunk.text;
          unsent += chunk.text;
          if (chunks.buffered === 0) await flush();
          continue;
        }
        await flush();
        if (chunk.type === 'end') {
          span.setAttribute('gen_ai.response.finish_reasons', [chunk.finishReason]);
          if (chunk.usage) {
            span.setAttribute('gen_ai.usage.input_tokens', chunk.usage.prompt_tokens);
            span.setAttribute('gen_ai.usage.output_tokens', chunk.usage.completion_tokens);
          }
          const messageId = stored ? await this.storeReply(turn, text, chunk, prior) : undefined;
          terminal = true;
          await publish({
            type: 'done',
            finishReason: chunk.finishReason,
            messageId: messageId === ERASED ? undefined : messageId,
            model: turn.model,
            usage: turn.includeUsage ? chunk.usage : undefined,
          });
          // The conversation was erased while this turn ran: leave nothing of it behind.
          if (messageId === ERASED) await purgeSubject(this.jetstream.jsm, Streams.frames.name, subject);
        } else {
          terminal = true;
          recordError(span, chunk.error);
          await publish({ type: 'error', error: chunk.error });
        }
      }
      if (!terminal) {
        await flush();
        this.cancelInference(turn.turnId, 'shutdown');
        terminal = true;
        await publish({ type: 'error', error: new ParleyError('shutting_down', 'responder shut down').toInfo() });
      }
    } catch (error) {
      if (terminal) {
        this.log.error({ err: error, turnId: turn.turnId }, 'could not publish the terminal frame');
        return;
      }
      const failure =
        error instanceof ParleyError ? error : new ParleyError('internal_error', 'the turn failed', { cause: error });
      if (!(error instanceof ParleyError)) this.log.error({ err: error, turnId: turn.turnId }, 'turn failed');
      this.cancelInference(turn.turnId, 'timeout');
      recordError(span, failure);
      await flush()
        .then(() => publish({ type: 'error', error: failure.toInfo() }))
        .catch((publishError: unknown) =>
          this.log.error({ err: publishError, turnId: turn.turnId }, 'could not publish the error frame'),
        );
    }
  }

  /**
   * Stores the assistant's reply (idempotent on the turn) and returns its message id, or {@link ERASED} when
   * the conversation was erased meanwhile (then nothing is stored).
   */
  private async storeReply(
    turn: Extract<TurnStart, { kind: 'conversation' }>,
    text: string,
    end: Extract<Chunk, { type: 'end' }>,
    prior: PriorHistory,
  ): Promise<string> {
    const entry = await this.jetstream.conversations.get(turn.conversationId);
    if (!entry || entry.operation !== 'PUT') return ERASED;
    const record = decode(ConversationRecordSchema, entry.value, 'conversation');
    const id = newId('message');
    await this.append(
      turn.conversationId,
      {
        id,
        turnId: turn.turnId,
        role: 'assistant',
        content: text,
        createdAt: new Date().toISOString(),
        model: turn.model,
        finishReason: end.finishReason,
        usage: end.usage,
      },
      `${turn.turnId}.assistant`,
    );
    const { model, createdAt, externalUserId, metadata } = record;
    await this.index.put(record.ownerKeyId, {
      id: record.id,
      model,
      createdAt,
      updatedAt: new Date().toISOString(),
      title: prior.title,
      messageCount: prior.count + 2,
      externalUserId,
      metadata,
    });
    return id;
  }

  private cancelInference(turnId: string, reason: Cancel['reason']): void {
    this.nats.nc.publish(turnCancelSubject(turnId), encode({ reason } satisfies Cancel));
  }
}
