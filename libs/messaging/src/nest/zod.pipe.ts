import type { PipeTransform } from '@nestjs/common';
import type { Endpoint } from '@parley/contracts';
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

/**
 * Validates the payload of an endpoint's request with the endpoint's own schema.
 * @example @MessagePattern(Endpoints.turnStart.subject) start(@Payload(requestOf(Endpoints.turnStart)) turn: TurnStart)
 */
export function requestOf<S extends z.ZodType>(endpoint: Endpoint<S>): ZodPipe<S> {
  return new ZodPipe(endpoint.request, endpoint.subject);
}
