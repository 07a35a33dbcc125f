/**
 * A conversation's turns: sending a message (idempotent on `Idempotency-Key`) through the turn gate, resuming
 * a turn's frames from any gateway, and stopping a turn.
 */
import { Inject, Injectable } from '@nestjs/common';
import {
  Streams,
  TurnStreams,
  newId,
  type ConversationRecord,
  type Frame,
  type HistoryMessage,
  type SendMessageBody,
} from '@parley/contracts';
import { countSubject, type JetStreamHandles } from '@parley/messaging';
import type { Caller } from '../auth/caller.js';
import { IdempotencyService } from '../idempotency/idempotency.service.js';
import { Tokens } from '../tokens.js';
import { TurnClient } from '../turns/turn-client.service.js';
import { TurnGate } from '../turns/turn-gate.service.js';
import { ConversationsService } from './conversations.service.js';

/** A turn's frames as a route streams them; `close` stops reading (the turn itself goes on). */
export interface TurnFrames {
  turnId: string;
  frames: AsyncIterable<Frame>;
  close(): void;
}

@Injectable()
export class ConversationTurns {
  constructor(
    @Inject(TurnGate) private readonly gate: TurnGate,
    @Inject(TurnClient) private readonly turns: TurnClient,
    @Inject(IdempotencyService) private readonly idempotency: IdempotencyService,
    @Inject(ConversationsService) private readonly conversations: ConversationsService,
    @Inject(Tokens.jetstream) private readonly jetstream: JetStreamHandles,
  ) {}

  /**
   * Sends a user message and returns the reply's frames. With an idempotency key, a retry re-attaches to the
   * turn the first request started instead of starting another (`replayed`).
   */
  async send(
    caller: Caller,
    conversation: ConversationRecord,
    body: SendMessageBody,
    idempotencyKey: string | undefined,
  ): Promise<TurnFrames & { replayed: boolean; headers: Record<string, string> }> {
    const turnId = newId('turn');
    const claim = idempotencyKey
      ? await this.idempotency.claim({
          conversationId: conversation.id,
          ownerKeyId: caller.keyId,
          key: idempotencyKey,
          body,
          turnId,
        })
      : undefined;
    if (claim?.existing) return { ...this.replay(claim.existing.turnId, 0), replayed: true, headers: {} };
    let opened;
    try {
      opened = await this.gate.open(caller, {
        kind: 'conversation',
        turnId,
        conversationId: conversation.id,
        userMessage: { id: newId('message'), content: body.content },
        model: conversation.model,
        systemPrompt: joinPrompts(caller.systemPrompt, conversation.systemPrompt),
        params: {},
        includeUsage: true,
        // Pinned at the conversation's first reply: routing weight changes leave it on its arm.
        arm: conversation.arm,
      });
    } catch (error) {
      // Refused before it started, so nothing was stored: a retry with the same key must be free to try again.
      await claim?.release();
      throw error;
    }
    // Only now may a retry with the key re-attach: the turn exists.
    await claim?.started();
    await this.conversations.recordTurn({
      turnId,
      conversationId: conversation.id,
      ownerKeyId: caller.keyId,
      createdAt: new Date().toISOString(),
    });
    const { running, headers } = opened;
    return { turnId, frames: running.items, close: () => running.close(), replayed: false, headers };
  }

  /**
   * A turn's frames after `afterSeq`, exactly once and in order, from any gateway; once the frames expired,
   * the stored reply.
   */
  async resume(
    conversation: ConversationRecord,
    turnId: string,
    afterSeq: number,
  ): Promise<{ stored: HistoryMessage } | TurnFrames> {
    await this.conversations.assertTurn(conversation, turnId);
    const kept = await countSubject(this.jetstream.jsm, Streams.frames.name, TurnStreams.frames.subject(turnId));
    if (kept === 0) {
      const reply = (await this.conversations.messages(conversation.id)).find(
        (m) => m.turnId === turnId && m.role === 'assistant',
      );
      if (reply) return { stored: reply };
    }
    return this.replay(turnId, afterSeq);
  }

  /** Stops a turn: the upstream request is aborted, the partial reply is stored, the stream ends `cancelled`. */
  async cancel(conversation: ConversationRecord, turnId: string): Promise<void> {
    await this.conversations.assertTurn(conversation, turnId);
    this.turns.cancel(turnId, 'user');
  }

  private replay(turnId: string, afterSeq: number): TurnFrames {
    const frames = this.turns.replay(turnId, afterSeq);
    return { turnId, frames, close: () => frames.close() };
  }
}

/** The project's system prompt, then the conversation's own. */
function joinPrompts(...prompts: (string | undefined)[]): string | undefined {
  const present = prompts.filter((p): p is string => Boolean(p));
  return present.length > 0 ? present.join('\n\n') : undefined;
}
