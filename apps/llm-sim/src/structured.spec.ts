import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { mulberry32 } from './reply.js';
import { exampleOf, fragments, jsonReply, planToolCall, toolResultReply } from './structured.js';

const TOOLS = [
  {
    type: 'function',
    function: { name: 'lookup_order', parameters: { type: 'object', properties: { id: { type: 'string' } } } },
  },
  { type: 'function', function: { name: 'cancel_order' } },
];
const user = [{ role: 'user', content: 'Where is my order?' }];

describe('llm-sim structured replies', () => {
  it('structured - an example of a schema validates against it', () => {
    const Schema = z.object({
      name: z.string().min(12),
      kind: z.enum(['a', 'b']),
      count: z.number().int().min(3),
      tags: z.array(z.string()).min(2),
      flag: z.boolean(),
      note: z.string().nullable(),
      nested: z.object({ at: z.literal('here') }),
    });
    for (const seed of [1, 2, 3]) {
      expect(Schema.safeParse(exampleOf(z.toJSONSchema(Schema), mulberry32(seed))).error).toBeUndefined();
    }
  });

  it('structured - tools after a user message call the first tool, deterministically; none and a tool result do not', () => {
    const call = planToolCall({ seed: 42, tools: TOOLS, toolChoice: undefined, messages: user });
    expect(call).toEqual({
      id: expect.stringMatching(/^call_[0-9a-f]{8}$/),
      name: 'lookup_order',
      arguments: expect.any(String),
    });
    expect(JSON.parse(call!.arguments)).toEqual({ id: expect.any(String) });
    expect(planToolCall({ seed: 42, tools: TOOLS, toolChoice: undefined, messages: user })).toEqual(call);
    expect(planToolCall({ seed: 43, tools: TOOLS, toolChoice: undefined, messages: user })?.id).not.toBe(call!.id);
    const named = { type: 'function', function: { name: 'cancel_order' } };
    expect(planToolCall({ seed: 42, tools: TOOLS, toolChoice: named, messages: user })?.name).toBe('cancel_order');
    expect(planToolCall({ seed: 42, tools: TOOLS, toolChoice: 'none', messages: user })).toBeNull();
    const afterTool = [...user, { role: 'tool', content: '{"status":"shipped"}' }];
    expect(planToolCall({ seed: 42, tools: TOOLS, toolChoice: 'auto', messages: afterTool })).toBeNull();
    expect(toolResultReply(afterTool)).toBe('The tool returned: {"status":"shipped"}');
  });

  it('structured - JSON mode answers JSON text, in fragments that join to it', () => {
    const object = jsonReply({ seed: 42, format: { type: 'json_object' }, messages: user })!;
    expect(JSON.parse(object)).toEqual({ reply: expect.any(String) });
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
    const text = jsonReply({ seed: 42, format: { type: 'json_schema', json_schema: { schema } }, messages: user })!;
    expect(JSON.parse(text)).toEqual({ ok: expect.any(Boolean) });
    expect(jsonReply({ seed: 42, format: { type: 'text' }, messages: user })).toBeNull();
    expect(fragments(object).join('')).toBe(object);
    expect(fragments(object).length).toBeGreaterThan(1);
  });
});
