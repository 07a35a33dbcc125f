/**
 * What llm-sim answers when a request asks for structure rather than prose: a tool call (when `tools` are
 * offered and the model's turn follows a user message, or `tool_choice` demands one), a text answer built on a
 * tool's result (when the last message is one), or JSON (`response_format`). Every value is determined by the
 * seed and the request, so equal requests get equal answers.
 */
import { fnv1a, messageText, mulberry32, pickWord, type PromptMessage } from './reply.js';

/** A tool as requests offer it (OpenAI's function tool). */
export interface ToolLike {
  type: string;
  function?: { name: string; parameters?: unknown };
}

export type ToolChoiceLike = string | { type?: string; function?: { name: string } } | null | undefined;

/** `response_format` as requests send it: `text`, `json_object`, or `json_schema` with its schema. */
export type ResponseFormatLike = { type: string; json_schema?: { schema?: unknown } } | null | undefined;

/** The tool call llm-sim makes. */
export interface SimToolCall {
  id: string;
  name: string;
  /** JSON text that validates against the tool's `parameters`. */
  arguments: string;
}

/** Deepest nesting of a schema followed; deeper values are `null`, so a recursive schema still ends. */
const MAX_DEPTH = 8;

type Schema = Record<string, unknown>;

/**
 * A value that validates against a JSON Schema: the subset tools and structured outputs use (`type`, `enum`,
 * `const`, `properties` with `required`, `items`, `anyOf`/`oneOf`, `minItems`, `minimum`, `minLength`), with
 * strings taken from the simulator's words.
 */
export function exampleOf(schema: unknown, random: () => number, depth = 0): unknown {
  if (typeof schema !== 'object' || schema === null || depth > MAX_DEPTH) return null;
  const s = schema as Schema;
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[Math.floor(random() * s.enum.length)];
  const alternatives = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length > 0) return exampleOf(alternatives[0], random, depth + 1);
  const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string | undefined];
  // A nullable type (`["string", "null"]`) gets its non-null value.
  const type = types.find((t) => t !== 'null') ?? types[0] ?? (s.properties ? 'object' : undefined);
  switch (type) {
    case 'object': {
      const properties = (s.properties ?? {}) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, exampleOf(v, random, depth + 1)]));
    }
    case 'array': {
      const count = Math.max(1, typeof s.minItems === 'number' ? s.minItems : 1);
      return Array.from({ length: count }, () => exampleOf(s.items, random, depth + 1));
    }
    case 'string': {
      let text = pickWord(random);
      const minLength = typeof s.minLength === 'number' ? s.minLength : 0;
      while (text.length < minLength) text += ` ${pickWord(random)}`;
      return typeof s.maxLength === 'number' ? text.slice(0, s.maxLength) : text;
    }
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? Math.ceil(s.minimum) : 1 + Math.floor(random() * 9);
    case 'boolean':
      return random() < 0.5;
    case 'null':
      return null;
    default:
      return {};
  }
}

/** The request's seed for structured answers: the simulator's seed mixed with what the answer depends on. */
function randomFor(seed: number, key: string): () => number {
  return mulberry32(fnv1a(key, seed));
}

/**
 * The tool call the simulated model makes, or `null` for a text reply: a named `tool_choice` or `required`
 * always calls; `none` never; otherwise it calls the first tool when the last message is the user's.
 */
export function planToolCall(options: {
  seed: number;
  tools: readonly ToolLike[] | null | undefined;
  toolChoice: ToolChoiceLike;
  messages: readonly PromptMessage[];
}): SimToolCall | null {
  const { seed, tools, toolChoice, messages } = options;
  const functions = (tools ?? []).flatMap((t) => (t.type === 'function' && t.function ? [t.function] : []));
  if (functions.length === 0 || toolChoice === 'none') return null;
  const named = typeof toolChoice === 'object' && toolChoice !== null ? toolChoice.function?.name : undefined;
  if (named === undefined && toolChoice !== 'required' && messages.at(-1)?.role !== 'user') return null;
  const fn = functions.find((f) => f.name === named) ?? functions[0]!;
  const key = `${fn.name}\u0000${messages.map((m) => messageText(m)).join('\u0001')}`;
  const random = randomFor(seed, key);
  const id = `call_${fnv1a(key, seed).toString(16).padStart(8, '0')}`;
  return { id, name: fn.name, arguments: JSON.stringify(exampleOf(fn.parameters ?? { type: 'object' }, random)) };
}

/** The text answer to a tool's result: the model "reads" the result back. */
export function toolResultReply(messages: readonly PromptMessage[]): string | null {
  const last = messages.at(-1);
  if (last?.role !== 'tool') return null;
  return `The tool returned: ${messageText(last)}`;
}

/** The JSON text of a JSON-mode reply, or `null` when the format is text. */
export function jsonReply(options: {
  seed: number;
  format: ResponseFormatLike;
  messages: readonly PromptMessage[];
}): string | null {
  const { seed, format, messages } = options;
  if (!format || format.type === 'text') return null;
  const random = randomFor(seed, messages.map((m) => messageText(m)).join('\u0001'));
  if (format.type === 'json_schema') {
    return JSON.stringify(exampleOf(format.json_schema?.schema ?? { type: 'object' }, random));
  }
  return JSON.stringify({ reply: Array.from({ length: 3 }, () => pickWord(random)).join(' ') });
}

/** Characters per streamed fragment of JSON text (arguments or a JSON reply), which has no spaces to split at. */
const FRAGMENT_CHARS = 8;

/** JSON text in streamed fragments; `fragments.join('') === text`. */
export function fragments(text: string): string[] {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += FRAGMENT_CHARS) parts.push(text.slice(i, i + FRAGMENT_CHARS));
  return parts;
}
