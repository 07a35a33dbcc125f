import { describe, expect, it } from 'vitest';
import { childTraceparent, formatTraceparent, parseTraceparent, traceIdOf } from './trace-context.js';

describe('trace context', () => {
  it('trace context - a child keeps the trace id and gets a new span id', () => {
    const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const child = childTraceparent(parent);
    expect(traceIdOf(child)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(parseTraceparent(child)?.spanId).not.toBe('00f067aa0ba902b7');
    expect(parseTraceparent(child)?.sampled).toBe(true);
  });

  it('trace context - malformed or all-zero values start a new trace', () => {
    for (const bad of [undefined, '', 'garbage', '00-' + '0'.repeat(32) + '-00f067aa0ba902b7-01']) {
      expect(parseTraceparent(bad)).toBeUndefined();
      expect(parseTraceparent(childTraceparent(bad))).toBeDefined();
    }
  });

  it('trace context - format round-trips and keeps the sampled flag', () => {
    const context = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), sampled: false };
    expect(parseTraceparent(formatTraceparent(context))).toEqual(context);
  });
});
