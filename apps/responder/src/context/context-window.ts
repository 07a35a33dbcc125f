/**
 * Fits a conversation into the model's context window: system prompts always kept, then the newest
 * history that fits the token budget, then the new user message. Too large a new message (with the system
 * prompts) is refused before any upstream call.
 */
import { ParleyError, type ChatMessage } from '@parley/contracts';
import { PER_MESSAGE_OVERHEAD_TOKENS, type TokenCounter } from './token-counter.js';

export interface ContextInput {
  systemPrompts: string[];
  /** Oldest first. */
  history: ChatMessage[];
  userMessage: string;
  /** Tokens the prompt may use: the context window minus what is reserved for the reply. */
  budgetTokens: number;
  counter: TokenCounter;
}

export function fitContext({ systemPrompts, history, userMessage, budgetTokens, counter }: ContextInput): {
  messages: ChatMessage[];
  promptTokens: number;
  droppedMessages: number;
} {
  const cost = (content: string) => counter.count(content) + PER_MESSAGE_OVERHEAD_TOKENS;
  const system = systemPrompts
    .filter((p) => p.trim().length > 0)
    .map((content) => ({ role: 'system' as const, content }));
  let used = system.reduce((sum, m) => sum + cost(m.content), 0) + cost(userMessage);
  if (used > budgetTokens) {
    throw new ParleyError(
      'context_length_exceeded',
      `the message needs about ${used} tokens with the system prompt; the model accepts ${budgetTokens}`,
      { param: 'content' },
    );
  }
  let first = history.length;
  while (first > 0) {
    const next = cost(history[first - 1]!.content);
    if (used + next > budgetTokens) break;
    used += next;
    first -= 1;
  }
  return {
    messages: [...system, ...history.slice(first), { role: 'user', content: userMessage }],
    promptTokens: used,
    droppedMessages: first,
  };
}
