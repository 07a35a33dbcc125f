import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';
import { FaultKind, type SimFault, type SimKnobs } from './config.js';
import { destroyAfterFlush, HttpError, readJsonBody, sendJson, untilAborted, writeWithBackpressure } from './http.js';
import {
  ChatCompletionRequestSchema,
  chunk,
  completion,
  type CompletionMeta,
  faultErrorBody,
  FinishReason,
  SSE_DONE,
  sseData,
  usageChunk,
  usageOf,
  type ChatCompletionRequest,
} from './openai-format.js';
import { RequestStatus, type SimRequestRecord } from './records.js';
import { countPromptTokens, generateReplyTokens, splitReplyText } from './reply.js';
import { fragments, jsonReply, planToolCall, toolResultReply, type SimToolCall } from './structured.js';
import type { SimMetrics } from './metrics.js';
import type { SimState } from './state.js';

/** What the server hands a chat completion handler for one request. */
export interface CompletionContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Aborts when the connection closes; every timer of the request listens to it. */
  signal: AbortSignal;
  record: SimRequestRecord;
  state: SimState;
  /** Marks that the simulator itself drops the connection, so the record does not count it as a client abort. */
  closingOnPurpose(): void;
  /** Where the time to first token is counted (`GET /metrics`). */
  metrics: SimMetrics;
}

/** The faults that act on the connection rather than the status line. */
type ConnectionFault = Exclude<
  SimFault,
  { kind: typeof FaultKind.status | typeof FaultKind.hang | typeof FaultKind.drop }
>;

interface Plan {
  meta: CompletionMeta;
  knobs: SimKnobs;
  /** Tokens to send before a cut or stall; all of `tokens` otherwise. For a tool call: fragments of its arguments. */
  sent: string[];
  /** The tool call the reply is, instead of text. */
  toolCall: SimToolCall | null;
  tokens: string[];
  finishReason: FinishReason;
  promptTokens: number;
  fault: ConnectionFault | null;
  includeUsage: boolean;
  /** `performance.now()` when the request arrived: deadlines are absolute so timer lateness does not add up. */
  start: number;
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } as const;

/**
 * Serves `POST /v1/chat/completions`: validates the body, applies any injected fault and replies streamed or
 * whole on the configured timeline.
 *
 * @throws HttpError for a body that is not JSON or not a valid request.
 */
export async function handleChatCompletion(ctx: CompletionContext): Promise<void> {
  const start = performance.now();
  const { record, state } = ctx;
  const body = await readJsonBody(ctx.req);
  record.body = body;
  const parsed = ChatCompletionRequestSchema.safeParse(body);
  if (!parsed.success) throw HttpError.fromZod(parsed.error);

  const fault = state.takeFault();
  record.fault = fault?.kind ?? null;
  if (fault?.kind === FaultKind.status) {
    record.status = RequestStatus.faulted;
    const headers: Record<string, string> =
      fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
    sendJson(ctx.res, fault.status, faultErrorBody(fault.status), headers);
    return;
  }
  if (fault?.kind === FaultKind.hang) {
    record.status = RequestStatus.faulted;
    await untilAborted(ctx.signal);
    return;
  }
  if (fault?.kind === FaultKind.drop) {
    record.status = RequestStatus.faulted;
    ctx.closingOnPurpose();
    ctx.req.socket.destroy();
    return;
  }

  const plan = planReply({ request: parsed.data, knobs: state.knobs, fault, id: record.id, start });
  await (parsed.data.stream === true ? streamReply(ctx, plan) : wholeReply(ctx, plan));
}

function planReply(options: {
  request: ChatCompletionRequest;
  knobs: SimKnobs;
  fault: ConnectionFault | null;
  id: string;
  start: number;
}): Plan {
  const { request, knobs, fault, id, start } = options;
  const { seed } = knobs;
  const { messages } = request;
  const toolCall = planToolCall({ seed, tools: request.tools, toolChoice: request.tool_choice, messages });
  const json = toolCall ? null : jsonReply({ seed, format: request.response_format, messages });
  const toolText = toolResultReply(messages);
  let reply: string[];
  if (toolCall) reply = fragments(toolCall.arguments);
  else if (json !== null) reply = fragments(json);
  else if (toolText !== null) reply = splitReplyText(toolText);
  else if (knobs.replyText !== null) reply = splitReplyText(knobs.replyText);
  else reply = generateReplyTokens({ seed, messages, count: knobs.tokens });
  // OpenAI deprecated max_tokens in favour of max_completion_tokens; the newer field wins when both are sent.
  const limit = request.max_completion_tokens ?? request.max_tokens ?? Number.POSITIVE_INFINITY;
  const tokens = reply.length > limit ? reply.slice(0, limit) : reply;
  const sentCount = fault === null ? tokens.length : Math.min(tokens.length, fault.afterTokens);
  return {
    meta: { id, created: Math.floor(Date.now() / 1000), model: request.model },
    knobs,
    tokens,
    sent: tokens.slice(0, sentCount),
    toolCall,
    finishReason: reply.length > limit ? FinishReason.length : toolCall ? FinishReason.toolCalls : FinishReason.stop,
    promptTokens: countPromptTokens(request.messages),
    fault,
    includeUsage: request.stream_options?.include_usage === true,
    start,
  };
}

/** Waits until `deadline` (a `performance.now()` value); when already late, still yields so streams share the loop. */
async function sleepUntil(deadline: number, signal: AbortSignal): Promise<void> {
  const ms = Math.ceil(deadline - performance.now());
  await (ms > 0 ? delay(ms, undefined, { signal }) : nextTurn(undefined, { signal }));
}

/** Groups tokens into chunks of `burst` tokens; the last chunk may be shorter. */
function inChunks(tokens: readonly string[], burst: number): string[][] {
  const chunks: string[][] = [];
  for (let i = 0; i < tokens.length; i += burst) chunks.push(tokens.slice(i, i + burst));
  return chunks;
}

/**
 * When the `count`th token (1-based) is generated: the first after the time to first token, each further one
 * an inter-token delay later. A chunk goes out when its last token is ready, so a chunk of N tokens follows the
 * previous one after N inter-token delays.
 */
function tokenReadyAt(plan: Plan, count: number): number {
  return plan.start + plan.knobs.ttftMs + Math.max(0, count - 1) * plan.knobs.interTokenMs;
}

async function streamReply(ctx: CompletionContext, plan: Plan): Promise<void> {
  const { res, signal, record } = ctx;
  const { meta } = plan;
  res.writeHead(200, SSE_HEADERS);
  // Headers go out now, as vLLM's do; the body waits for the first token.
  res.flushHeaders();

  const { toolCall } = plan;
  // As OpenAI streams a tool call: the first chunk names it, the following ones carry pieces of its arguments.
  const roleChunk = sseData(
    chunk(
      meta,
      toolCall
        ? {
            role: 'assistant',
            content: null,
            tool_calls: [
              { index: 0, id: toolCall.id, type: 'function', function: { name: toolCall.name, arguments: '' } },
            ],
          }
        : { role: 'assistant', content: '' },
    ),
  );
  let sentCount = 0;
  for (const tokens of inChunks(plan.sent, plan.knobs.burst)) {
    await sleepUntil(tokenReadyAt(plan, sentCount + tokens.length), signal);
    const text = tokens.join('');
    const content = sseData(
      chunk(meta, toolCall ? { tool_calls: [{ index: 0, function: { arguments: text } }] } : { content: text }),
    );
    await writeWithBackpressure(res, sentCount === 0 ? roleChunk + content : content, signal);
    if (sentCount === 0) ctx.metrics.firstToken((performance.now() - plan.start) / 1000);
    sentCount += tokens.length;
    record.completionTokens = sentCount;
  }

  if (plan.fault !== null) {
    // A cut or an error before any token still waits for the first one, so it looks like a replica failing
    // mid-prefill rather than a refused request; a stall at zero tokens is a hung replica and holds from the start.
    if (sentCount === 0 && plan.fault.kind !== FaultKind.stall) await sleepUntil(tokenReadyAt(plan, 1), signal);
    await applyConnectionFault(ctx, plan.fault);
    return;
  }

  let tail = '';
  if (sentCount === 0) {
    await sleepUntil(tokenReadyAt(plan, 1), signal);
    tail += roleChunk;
  }
  tail += sseData(chunk(meta, {}, plan.finishReason));
  if (plan.includeUsage) tail += sseData(usageChunk(meta, usageOf(plan.promptTokens, sentCount)));
  res.end(tail + SSE_DONE);
}

async function wholeReply(ctx: CompletionContext, plan: Plan): Promise<void> {
  await sleepUntil(tokenReadyAt(plan, plan.sent.length), ctx.signal);
  ctx.record.completionTokens = plan.sent.length;
  if (plan.fault?.kind === FaultKind.error) {
    // Whole replies cannot fail halfway: the error is the response.
    ctx.record.status = RequestStatus.faulted;
    sendJson(ctx.res, 500, faultErrorBody(500));
    return;
  }
  if (plan.fault !== null) {
    await applyConnectionFault(ctx, plan.fault);
    return;
  }
  const text = plan.tokens.join('');
  const usage = usageOf(plan.promptTokens, plan.tokens.length);
  const { toolCall, finishReason } = plan;
  const reply = toolCall
    ? {
        content: null,
        toolCalls: [{ id: toolCall.id, type: 'function' as const, function: { name: toolCall.name, arguments: text } }],
      }
    : { content: text };
  sendJson(ctx.res, 200, completion(plan.meta, { ...reply, finishReason, usage }));
}

/** Cuts the connection, ends the stream with an error event, or stalls it until the client gives up. */
async function applyConnectionFault(ctx: CompletionContext, fault: ConnectionFault): Promise<void> {
  ctx.record.status = RequestStatus.faulted;
  if (fault.kind === FaultKind.error) {
    ctx.res.end(sseData(faultErrorBody(500)) + SSE_DONE);
    return;
  }
  if (fault.kind === FaultKind.cut) {
    ctx.closingOnPurpose();
    await destroyAfterFlush(ctx.res);
    return;
  }
  await untilAborted(ctx.signal);
}
