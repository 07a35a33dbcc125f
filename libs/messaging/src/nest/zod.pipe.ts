import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { validate } from '../codec.js';

/**
 * Validates a message payload against its contract schema at the receiving boundary.
 * @example handle(@Payload(new ZodPipe(TurnStartSchema, 'turn start')) start: TurnStart) {}
 */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly what: string,
  ) {}

  transform(value: unknown): z.infer<S> {
    return validate(this.schema, value, this.what);
  }
}
