// TurnsService against a real nats-server, with the test playing the inference replica over NATS: what the
// responder stores, which frames it writes, and when it tells inference to stop.
import type { Subscription } from '@nats-io/transport-node';
import { loadConfig, responderEnvSchema, type ResponderConfig } from '@parley/config';
import {
  Endpoints,
  ParleyError,
  TurnCancel,
  TurnStreams,
  newId,
  type CancelReason,
  type ChunkBody,
  type ConversationRecord,
  type Frame,
  type GenerateRequest,
  type TurnLimits,
  type TurnStart,
} from '@parley/contracts';
import {
  HistoryStore,
  SequenceReader,
  StreamWriter,
  connectNats,
  decode,
  encode,
  ensureJetStream,
  replayFrames,
  subscriptionSource,
  type JetStreamHandles,
  type NatsHandle,
  type ReadTimeouts,
} from '@parley/messaging';
import { startNatsServer, type NatsServerHandle } from '@parley/testing';
import { createLogger, createMetricsRegistry } from '@parley/tracing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GuardrailEvents, Guardrails } from '../guardrails/guardrails.js';
import { GuardrailPolicies } from '../guardrails/policies.js';
import { Sentiment } from '../sentiment/sentiment.js';
import { TurnsService } from './turns.service.js';

const log = createLogger({ service: 'responder-test', level: 'silent' });
const LIMITS: TurnLimits = { firstTokenTimeoutMs: 2_000, interTokenTimeoutMs: 2_000, turnTimeoutMs: 10_000 };
const READ: ReadTimeouts = {
  firstItemMs: 5_000,
  idleMs: 5_000,
  totalMs: 15_000,
  codes: { first: 'responder_lost', idle: 'responder_lost', total: 'turn_timeout' },
};

let server: NatsServerHandle;
let nats: NatsHandle;
let jetstream: JetStreamHandles;
let history: HistoryStore;
let config: ResponderConfig;
let inference: Subscription | undefined;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'responder-test', log });
  jetstream = await ensureJetStream(nats.nc);
  history = new HistoryStore(jetstream.js, jetstream.jsm);
  config = loadConfig(responderEnvSchema, { NATS_URL: server.url });
});
afterEach(() => {
  inference?.unsubscribe();
  inference = undefined;
});
afterAll(async () => {
  await nats?.drain();
  await server?.stop();
});

function service(): TurnsService {
  const metrics = createMetricsRegistry('responder');
  const guardrails = new Guardrails(
    new GuardrailPolicies({ file: undefined, classifier: undefined }),
    new GuardrailEvents(metrics, log),
  );
  const sentiment = new Sentiment(config, { log, metrics });
  return new TurnsService(config, nats, jetstream, history, log, metrics, guardrails, sentiment);
}

/**
 * Plays inference: accepts each generation and writes `chunks` for it (a function of the request, so a test
 * can see what it was asked); an undefined chunk list accepts and then stays silent.
 */
function inferenceAnswers(chunks: (request: GenerateRequest) => ChunkBody[] | undefined): GenerateRequest[] {
  const asked: GenerateRequest[] = [];
  inference = nats.nc.subscribe(Endpoints.inferenceGenerate.subject, {
    callback: (_error, msg) => {
      const request = decode(Endpoints.inferenceGenerate.request, msg.data, 'generate');
      asked.push(request);
      msg.respond(encode({ turnId: request.turnId, upstreamModel: 'up' }));
      const writer = new StreamWriter(nats, { stream: TurnStreams.chunks, turnId: request.turnId });
      for (const chunk of chunks(request) ?? []) void writer.write(chunk);
    },
  });
  return asked;
}

/** The reason of the next cancel of `turnId`. */
function nextCancel(turnId: string): Promise<CancelReason> {
  return new Promise((resolve) =>
    nats.nc.subscribe(TurnCancel.subject(turnId), {
      max: 1,
      callback: (_error, msg) => resolve(decode(TurnCancel.message, msg.data, 'cancel').reason),
    }),
  );
}

async function newConversation(): Promise<ConversationRecord> {
  const record: ConversationRecord = {
    id: newId('conversation'),
    ownerKeyId: 'key_test',
    model: 'm',
    createdAt: new Date().toISOString(),
  };
  await jetstream.conversations.put(record.id, encode(record));
  return record;
}

function conversationTurn(conversation: ConversationRecord, content: string): TurnStart {
  return {
    kind: 'conversation',
    turnId: newId('turn'),
    conversationId: conversation.id,
    userMessage: { id: newId('message'), content },
    model: conversation.model,
    params: { temperature: 0.2 },
    includeUsage: true,
    limits: LIMITS,
  };
}

function liveFrames(turnId: string): SequenceReader<typeof TurnStreams.liveFrames.item> {
  return new SequenceReader(subscriptionSource(nats.nc, TurnStreams.liveFrames.subject(turnId)), {
    stream: TurnStreams.liveFrames,
    timeouts: READ,
  });
}

async function all(frames: AsyncIterable<Frame>): Promise<Frame[]> {
  const read: Frame[] = [];
  for await (const frame of frames) read.push(frame);
  return read;
}

const textOf = (frames: Frame[]) => frames.map((f) => (f.type === 'delta' ? f.text : '')).join('');

describe('turns service', () => {
  it('turns - a conversation turn relays the reply as frames from 1, ends in done and stores both messages', async () => {
    const usage = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 };
    const asked = inferenceAnswers(() => [
      { type: 'delta', text: 'Hel' },
      { type: 'delta', text: 'lo' },
      { type: 'end', finishReason: 'stop', usage },
    ]);
    const conversation = await newConversation();
    const turn = conversationTurn(conversation, 'Hi there');
    expect(await service().start(turn)).toEqual({ turnId: turn.turnId });

    const frames = await all(replayFrames(jetstream.js, { turnId: turn.turnId, afterSeq: 0, timeouts: READ }));
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i + 1));
    expect(textOf(frames)).toBe('Hello');
    const done = frames.at(-1)!;
    expect(done).toMatchObject({ type: 'done', finishReason: 'stop', model: 'm', usage });
    const stored = await history.list(conversation.id);
    expect(stored.map((m) => [m.role, m.content])).toEqual([
      ['user', 'Hi there'],
      ['assistant', 'Hello'],
    ]);
    expect(done.type === 'done' && done.messageId).toBe(stored[1]!.id);
    // Inference was asked with the turn's parameters and limits, and the message last.
    expect(asked[0]).toMatchObject({ params: { temperature: 0.2 }, limits: LIMITS, conversationId: conversation.id });
    expect(asked[0]!.messages.at(-1)).toEqual({ role: 'user', content: 'Hi there' });
  });

  it('turns - with no inference replica the turn is refused with no_inference and nothing is stored', async () => {
    const conversation = await newConversation();
    await expect(service().start(conversationTurn(conversation, 'Hello?'))).rejects.toMatchObject({
      code: 'no_inference',
      retryAfterSeconds: 1,
    });
    expect(await history.list(conversation.id)).toEqual([]);
  });

  it('turns - an inference replica that goes silent ends the turn with its timeout and is told to stop', async () => {
    inferenceAnswers(() => undefined);
    const turnId = newId('turn');
    const frames = liveFrames(turnId);
    const cancelled = nextCancel(turnId);
    await service().start({
      kind: 'stateless',
      turnId,
      model: 'm',
      params: {},
      includeUsage: false,
      limits: { ...LIMITS, firstTokenTimeoutMs: 200 },
      messages: [{ role: 'user', content: 'Hello?' }],
    });
    expect(await all(frames)).toEqual([
      { type: 'error', seq: 1, error: expect.objectContaining({ code: 'first_token_timeout', retryable: true }) },
    ]);
    expect(await cancelled).toBe('timeout');
  });

  it("turns - an error chunk becomes the turn's error frame, Retry-After included", async () => {
    const error = new ParleyError('rate_limited', 'the upstream is rate limiting', { retryAfterSeconds: 7 });
    inferenceAnswers(() => [{ type: 'error', error: error.toInfo() }]);
    const conversation = await newConversation();
    const turn = conversationTurn(conversation, 'Hello');
    await service().start(turn);
    const frames = await all(replayFrames(jetstream.js, { turnId: turn.turnId, afterSeq: 0, timeouts: READ }));
    expect(frames).toEqual([{ type: 'error', seq: 1, error: error.toInfo() }]);
    // The user message was accepted, so it stays; no reply was stored.
    expect((await history.list(conversation.id)).map((m) => m.role)).toEqual(['user']);
  });

  it('turns - shutdown ends a running turn with shutting_down after its grace, and stops the generation', async () => {
    inferenceAnswers(() => [{ type: 'delta', text: 'Partial' }]);
    const turns = service();
    const turnId = newId('turn');
    const frames = liveFrames(turnId);
    const cancelled = nextCancel(turnId);
    await turns.start({
      kind: 'stateless',
      turnId,
      model: 'm',
      params: {},
      includeUsage: false,
      limits: LIMITS,
      messages: [{ role: 'user', content: 'Hello' }],
    });
    const reading = all(frames);
    await turns.drain(100);
    expect(await reading).toEqual([
      { type: 'delta', seq: 1, text: 'Partial' },
      { type: 'error', seq: 2, error: expect.objectContaining({ code: 'shutting_down', retryable: true }) },
    ]);
    expect(await cancelled).toBe('shutdown');
    await expect(turns.start({ ...conversationTurn(await newConversation(), 'late') })).rejects.toMatchObject({
      code: 'shutting_down',
    });
  });

  it('turns - a conversation erased while its turn ran keeps nothing of it', async () => {
    const conversation = await newConversation();
    inferenceAnswers(() => [
      { type: 'delta', text: 'Hello' },
      { type: 'end', finishReason: 'stop' },
    ]);
    // The record goes first in an erasure; the turn finds it gone when it would store the reply.
    const turn = conversationTurn(conversation, 'Hi');
    await jetstream.conversations.purge(conversation.id);
    const reading = all(liveFramesOfStored(turn.turnId));
    await service().start(turn);
    const frames = await reading;
    expect(frames.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    expect(frames.at(-1)).not.toHaveProperty('messageId');
    // No reply is stored. (The user message still is: stopping that write is the erasure work's.)
    expect((await history.list(conversation.id)).map((m) => m.role)).not.toContain('assistant');
    const kept = await all(
      replayFrames(jetstream.js, { turnId: turn.turnId, afterSeq: 0, timeouts: { ...READ, firstItemMs: 300 } }),
    ).catch((e: ParleyError) => e.code);
    expect(kept).toBe('responder_lost');
  });
});

/** A stored turn's frames as they are published (core subscription on the stored subject). */
function liveFramesOfStored(turnId: string): SequenceReader<typeof TurnStreams.frames.item> {
  return new SequenceReader(subscriptionSource(nats.nc, TurnStreams.frames.subject(turnId)), {
    stream: TurnStreams.frames,
    timeouts: READ,
  });
}
