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
import {
  ConversationRecordSchema,
  Endpoints,
  FrameSchema,
  ParleyError,
  Streams,
  messageText,
  newId,
  servedOf,
  type Chunk,
  type FrameBody,
  type GenerateRequest,
  type ModelMessage,
  type PingReply,
  type TokenLogprob,
  type TurnAccepted,
  type TurnLimits,
  type TurnStart,
  type UsageRecord,
  usageSubject,
} from '@parley/contracts';
import type { ResponderConfig } from '@parley/config';
import {
  ActiveStreams,
  ConversationIndex,
  STORED_PUBLISH,
  StreamWriter,
  decode,
  encode,
  injectHeaders,
  openStream,
  purgeSubject,
  type HistoryStore,
  type JetStreamHandles,
  type NatsHandle,
  type OpenedStream,
  type ReadTimeouts,
} from '@parley/messaging';
import { context, trace, type Span } from '@opentelemetry/api';
import { Counter, type Gauge, type Histogram } from 'prom-client';
import { activeStreams, latencyHistogram, recordError, tracer, type Logger, type Registry } from '@parley/tracing';
import { fitContext } from '../context/context-window.js';
import { Guardrails, type GuardRelease, type OutputGuard } from '../guardrails/guardrails.js';
import { PER_MESSAGE_OVERHEAD_TOKENS, tokenCounterFor } from '../context/token-counter.js';
import { Tokens } from '../tokens.js';
import { ArmMetrics, pinArm, qualityFields } from '../arms/arms.js';
import { Sentiment } from '../sentiment/sentiment.js';

type Generation = OpenedStream<unknown, Chunk>;
type Frames = StreamWriter<typeof FrameSchema>;
type ConversationTurn = Extract<TurnStart, { kind: 'conversation' }>;

/** The turn's own timeouts, with the codes a silent inference replica is reported with. */
function chunkTimeouts(limits: TurnLimits): ReadTimeouts {
  return {
    firstItemMs: limits.firstTokenTimeoutMs,
    idleMs: limits.interTokenTimeoutMs,
    totalMs: limits.turnTimeoutMs,
    codes: { first: 'first_token_timeout', idle: 'inter_token_timeout', total: 'turn_timeout' },
  };
}

/** How a turn ended: its end chunk (none when it failed), the text generated, and when its first token came. */
interface TurnResult {
  end: EndChunk | undefined;
  text: string;
  firstTokenMs?: number;
  errorCode?: string;
}

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
  /** Running turns, by their generation (closing it ends the turn with `shutting_down`). */
  private readonly active = new ActiveStreams<Generation>();
  private readonly instanceId = randomUUID().slice(0, 8);
  private readonly index: ConversationIndex;
  private readonly historyWrite: Histogram;
  private readonly activeTurns: Gauge;
  private readonly usageLost: Counter;
  private readonly tokensTotal: Counter<'project' | 'model' | 'kind'>;
  private readonly arms: ArmMetrics;

  constructor(
    @Inject(Tokens.config) private readonly config: ResponderConfig,
    @Inject(Tokens.nats) private readonly nats: NatsHandle,
    @Inject(Tokens.jetstream) private readonly jetstream: JetStreamHandles,
    @Inject(Tokens.history) private readonly history: HistoryStore,
    @Inject(Tokens.log) private readonly log: Logger,
    @Inject(Tokens.metrics) metrics: Registry,
    @Inject(Guardrails) private readonly guardrails: Guardrails,
    @Inject(Sentiment) private readonly sentiment: Sentiment,
  ) {
    this.index = new ConversationIndex(jetstream.index);
    this.historyWrite = latencyHistogram(metrics, {
      name: 'parley_history_write_seconds',
      help: 'Appending one message to the conversation history (JetStream publish with ack)',
      labelNames: [],
    });
    this.activeTurns = activeStreams(metrics, 'Turns in progress');
    this.usageLost = new Counter({
      name: 'parley_usage_not_recorded_total',
      help: 'Turns whose usage record could not be stored (budgets then miss them)',
      registers: [metrics],
    });
    // By project, never by key or visitor: projects are configured, so the label's values stay few.
    this.tokensTotal = new Counter({
      name: 'parley_project_tokens_total',
      help: 'Tokens the turns used, by project, model and kind (prompt, completion)',
      labelNames: ['project', 'model', 'kind'] as const,
      registers: [metrics],
    });
    this.arms = new ArmMetrics(metrics);
  }

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
    try {
      return await context.with(trace.setSpan(context.active(), span), () => this.accept(turn, span));
    } catch (error) {
      recordError(span, error);
      span.end();
      throw error;
    }
  }

  /** Waits up to `graceMs` for running turns; the rest end with a retryable `shutting_down` frame. */
  drain(graceMs: number): Promise<void> {
    return this.active.drain(graceMs, (generation) => generation.close());
  }

  /** A turn is accepted once inference generates it and its user message is stored (docs/adr/0002). */
  private async accept(start: TurnStart, span: Span): Promise<TurnAccepted> {
    const headers = injectHeaders();
    // Guardrails first: a blocked message reaches neither the model nor the history.
    const input = await this.guardrails.checkInput(start, span);
    const { messages, prior } = await this.modelInput(input.turn);
    const generation = await openStream(this.nats, Endpoints.inferenceGenerate, generateRequest(input.turn, messages), {
      timeouts: chunkTimeouts(input.turn.limits),
      requestTimeoutMs: this.config.PARLEY_REQUEST_TIMEOUT_MS,
    });
    // From here on the turn carries the arm inference assigned (the pinned one, or a new choice).
    const turn = { ...input.turn, arm: generation.accepted.arm ?? input.turn.arm };
    try {
      if (turn.kind === 'conversation') await this.appendUserMessage(turn);
    } catch (error) {
      generation.cancel('shutdown');
      throw error;
    }
    this.guardrails.events.modelAccepted(turn.model);
    this.guardrails.recordInput(turn, span, input);
    const guard = this.guardrails.output(turn, input.policy, this.systemPrompts(turn), span);
    const frames: Frames = new StreamWriter(this.nats, {
      stream: Endpoints.turnStart.stream(turn),
      turnId: turn.turnId,
      headers,
      js: this.jetstream.js,
    });
    const started = performance.now();
    // Beside the generation: only the usage record, written after the reply, waits for it (bounded).
    const sentiment = this.sentiment.classify(turn);
    this.activeTurns.inc();
    this.active.track(turn.turnId, generation, () =>
      this.relay(turn, generation, frames, prior, span, guard)
        .then((result) => {
          if (result.end) this.guardrails.moderateOutput(turn, input.policy, result.text, span);
          return this.recordUsage(turn, messages, result, sentiment);
        })
        .finally(() => {
          this.activeTurns.dec();
          // One line per turn, written in the turn's span so it carries the trace id. Never the content.
          const { turnId, kind, model } = turn;
          this.log.info({ turnId, kind, model, durationMs: Math.round(performance.now() - started) }, 'turn ended');
          span.end();
        }),
    );
    return { turnId: turn.turnId, droppedParams: generation.accepted.droppedParams, arm: turn.arm };
  }

  private appendUserMessage(turn: ConversationTurn): Promise<boolean> {
    const { turnId, userMessage } = turn;
    const message = { id: userMessage.id, turnId, role: 'user' as const, content: userMessage.content };
    return this.append(turn.conversationId, { ...message, createdAt: new Date().toISOString() }, `${turnId}.user`);
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

  /** The system prompts the reply must not repeat: the deployment's and the conversation's, or the request's. */
  private systemPrompts(turn: TurnStart): string[] {
    if (turn.kind === 'conversation') return [this.config.PARLEY_SYSTEM_PROMPT ?? '', turn.systemPrompt ?? ''];
    return turn.messages.filter((m) => m.role === 'system').map((m) => messageText(m));
  }

  /** The model's input: stateless turns as given; conversation turns fitted into the context window. */
  private async modelInput(turn: TurnStart): Promise<{ messages: ModelMessage[]; prior: PriorHistory }> {
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

  /**
   * Relays the generation's chunks as the turn's frames. Deltas not yet published when the next arrives (a
   * JetStream ack, or a busy event loop) go out together as one frame instead of one frame each. Tool-call
   * fragments go out as they come, each after the text before it. The output guard sees the text first: it
   * holds back what could still be personal data or a leak, and a `blocked` ends the reply with the policy's
   * message and `content_filter` (the stored reply is what the client saw).
   */
  private async relay(
    turn: TurnStart,
    generation: Generation,
    frames: Frames,
    prior: PriorHistory,
    span: Span,
    guard: OutputGuard,
  ): Promise<TurnResult> {
    let text = '';
    let unsent = '';
    let end: EndChunk | undefined;
    let firstTokenMs: number | undefined;
    let errorCode: string | undefined;
    const started = performance.now();
    let unsentLogprobs: TokenLogprob[] | undefined;
    const flush = async () => {
      // Logprobs name their tokens: those of text still held back wait for it.
      const logprobs = guard.holding ? undefined : unsentLogprobs;
      if (!unsent && !logprobs) return;
      const delta: FrameBody = { type: 'delta', text: unsent, ...(logprobs && { logprobs }) };
      unsent = '';
      if (logprobs) unsentLogprobs = undefined;
      await frames.write(delta);
    };
    /** Takes what the guard lets out; true when it cut the reply. */
    const release = ({ text: out, changed, blocked }: GuardRelease) => {
      text += out;
      unsent += out;
      // The tokens of redacted text must not go out beside it.
      if (changed) unsentLogprobs = undefined;
      return blocked;
    };
    /** Ends the reply where the guard cut it: the policy's message, then `done` with `content_filter`. */
    const cut = async (seq: number) => {
      generation.cancel('user');
      release({ text: (/\S$/.test(text) ? ' ' : '') + guard.blockedMessage, changed: true, blocked: true });
      await flush();
      end = { type: 'end', seq, finishReason: 'content_filter' };
      await this.complete(turn, { chunk: end, text, prior, frames, span });
    };
    try {
      for await (const chunk of generation.items) {
        if (chunk.type === 'delta') {
          firstTokenMs ??= performance.now() - started;
          if (chunk.logprobs) (unsentLogprobs ??= []).push(...chunk.logprobs);
          const pushed = guard.active ? guard.push(chunk.text) : { text: chunk.text, changed: false, blocked: false };
          if (release(pushed)) {
            await cut(chunk.seq);
            break;
          }
          if (generation.buffered === 0) await flush();
          continue;
        }
        // What the guard still holds goes out before anything else (or the reply is cut there).
        if (guard.active && release(guard.end())) {
          await cut(chunk.seq);
          break;
        }
        await flush();
        if (chunk.type === 'tool_call') {
          // A conversation turn offers no tools; a model calling one anyway is an upstream fault, not a reply.
          if (turn.kind === 'conversation') {
            throw new ParleyError('upstream_error', 'the model called a tool, which conversation turns do not offer');
          }
          const { seq: _seq, ...call } = chunk;
          await frames.write(call);
        } else if (chunk.type === 'end') {
          end = chunk;
          await this.complete(turn, { chunk, text, prior, frames, span });
        } else {
          recordError(span, chunk.error);
          errorCode = chunk.error.code;
          await frames.write({ type: 'error', error: chunk.error });
        }
      }
      if (!frames.ended) {
        // The generation was closed without its end: this replica is shutting down.
        await flush();
        generation.cancel('shutdown');
        errorCode = 'shutting_down';
        await frames.write({ type: 'error', error: new ParleyError('shutting_down', 'responder shut down').toInfo() });
      }
    } catch (error) {
      if (frames.ended) {
        this.log.error({ err: error, turnId: turn.turnId }, 'could not publish the terminal frame');
        return { end, text, firstTokenMs, errorCode };
      }
      const failure =
        error instanceof ParleyError ? error : new ParleyError('internal_error', 'the turn failed', { cause: error });
      if (!(error instanceof ParleyError)) this.log.error({ err: error, turnId: turn.turnId }, 'turn failed');
      generation.cancel('timeout');
      recordError(span, failure);
      errorCode = failure.code;
      await flush()
        .then(() => frames.write({ type: 'error', error: failure.toInfo() }))
        .catch((publishError: unknown) =>
          this.log.error({ err: publishError, turnId: turn.turnId }, 'could not publish the error frame'),
        );
    }
    return { end, text, firstTokenMs, errorCode };
  }

  /**
   * Records what the turn consumed in the usage stream, against its account: what budgets are rebuilt from,
   * and what tells the gateway holding the turn's reservation to settle it. Without the upstream's figures (a
   * failed or cancelled turn), the input and the text are counted, pessimistically.
   */
  private async recordUsage(
    turn: TurnStart,
    messages: ModelMessage[],
    result: TurnResult,
    sentiment: Promise<string | undefined>,
  ): Promise<void> {
    const { end, text } = result;
    const outcome = !end ? 'error' : end.finishReason === 'cancelled' ? 'cancelled' : 'done';
    const figures = { served: { arm: turn.arm, target: end?.target, upstreamModel: end?.upstreamModel } };
    const quality = qualityFields(
      turn,
      {
        ...figures,
        costUsd: end?.costUsd,
        firstTokenMs: result.firstTokenMs,
        replyChars: text.length,
        refused: end?.finishReason === 'content_filter',
        errorCode: result.errorCode,
      },
      outcome,
      this.arms,
    );
    if (!turn.account) return;
    const label = await sentiment;
    let usage = end?.usage;
    const estimated = !usage;
    if (!usage) {
      const counter = await tokenCounterFor(turn.model);
      const prompt = messages.reduce((sum, m) => sum + counter.count(messageText(m)) + PER_MESSAGE_OVERHEAD_TOKENS, 0);
      const completion = counter.count(text);
      usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
    }
    const labels = { project: turn.account.project, model: turn.model };
    this.tokensTotal.inc({ ...labels, kind: 'prompt' }, usage.prompt_tokens);
    this.tokensTotal.inc({ ...labels, kind: 'completion' }, usage.completion_tokens);
    const record: UsageRecord = {
      turnId: turn.turnId,
      account: turn.account,
      model: turn.model,
      usage,
      estimated,
      outcome,
      at: new Date().toISOString(),
      ...quality,
      ...(label !== undefined && { sentiment: label }),
    };
    await this.jetstream.js
      .publish(usageSubject(turn.account.project), encode(record), { msgID: `${turn.turnId}.usage`, ...STORED_PUBLISH })
      .catch((error: unknown) => {
        this.log.error({ err: error, turnId: turn.turnId, code: 'usage_not_recorded' }, 'usage could not be recorded');
        this.usageLost.inc();
      });
  }

  /** The reply is complete: store it (conversation turns) and end the frames with `done`. */
  private async complete(
    turn: TurnStart,
    {
      chunk,
      text,
      prior,
      frames,
      span,
    }: { chunk: EndChunk; text: string; prior: PriorHistory; frames: Frames; span: Span },
  ): Promise<void> {
    span.setAttribute('gen_ai.response.finish_reasons', [chunk.finishReason]);
    if (chunk.usage) {
      span.setAttribute('gen_ai.usage.input_tokens', chunk.usage.prompt_tokens);
      span.setAttribute('gen_ai.usage.output_tokens', chunk.usage.completion_tokens);
    }
    const messageId = turn.kind === 'conversation' ? await this.storeReply(turn, text, chunk, prior) : undefined;
    await frames.write({
      type: 'done',
      finishReason: chunk.finishReason,
      messageId: messageId === ERASED ? undefined : messageId,
      model: turn.model,
      usage: turn.includeUsage ? chunk.usage : undefined,
      ...servedOf({ arm: turn.arm, target: chunk.target, upstreamModel: chunk.upstreamModel }),
    });
    // The conversation was erased while this turn ran: leave nothing of it behind.
    if (messageId === ERASED) {
      await purgeSubject(
        this.jetstream.jsm,
        Streams.frames.name,
        Endpoints.turnStart.stream(turn).subject(turn.turnId),
      );
    }
  }

  /**
   * Stores the assistant's reply (idempotent on the turn) and returns its message id, or {@link ERASED} when
   * the conversation was erased meanwhile (then nothing is stored).
   */
  private async storeReply(turn: ConversationTurn, text: string, end: EndChunk, prior: PriorHistory): Promise<string> {
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
        ...servedOf({ arm: turn.arm, target: end.target, upstreamModel: end.upstreamModel }),
      },
      `${turn.turnId}.assistant`,
    );
    await pinArm(
      this.jetstream.conversations,
      { record, revision: entry.revision, arm: turn.arm },
      { log: this.log, metrics: this.arms },
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
}

type EndChunk = Extract<Chunk, { type: 'end' }>;

/** What inference is asked for: the turn's model, parameters and limits, and the model's input. */
function generateRequest(turn: TurnStart, messages: ModelMessage[]): GenerateRequest {
  const { turnId, model, params, limits, arm } = turn;
  const conversationId = turn.kind === 'conversation' ? turn.conversationId : undefined;
  return { turnId, model, params, limits, messages, conversationId, arm };
}
