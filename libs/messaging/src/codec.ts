/**
 * JSON on the wire, validated with the contract's zod schema where it is received.
 */
import { ParleyError } from '@parley/contracts';
import type { z } from 'zod';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a message for NATS. */
export function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/**
 * Decodes and validates a message; anything that does not match the schema is an `invalid_request`.
 * @example const start = decode(TurnStartSchema, msg.data, 'turn start');
 */
export function decode<S extends z.ZodType>(schema: S, data: Uint8Array, what: string): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch (cause) {
    throw new ParleyError('invalid_request', `${what}: not JSON`, { cause });
  }
  return validate(schema, json, what);
}

/** Validates an already-parsed value against a schema. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new ParleyError('invalid_request', `${what}: ${issue?.message ?? 'invalid'}${where}`);
  }
  return result.data;
}
