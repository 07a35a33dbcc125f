/**
 * `Idempotency-Key` on a conversation message: the first request with a key claims it for its turn, atomically
 * across gateway replicas (key-value `create`); a retry with the same key and body re-attaches to that turn;
 * the same key with another body is a 422. A turn that never started gives its key back.
 */
import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { IdempotencyRecordSchema, ParleyError, type IdempotencyRecord } from '@parley/contracts';
import { decode, encode, type JetStreamHandles } from '@parley/messaging';
import type { Request } from 'express';
import { Tokens } from '../tokens.js';

/** A claim released by another request just as this one tried: tried again this many times. */
const CLAIM_ATTEMPTS = 3;
/** `Idempotency-Key`: printable ASCII, as Stripe and the IETF draft use it. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The request's `Idempotency-Key`, if it has one; a malformed key is a 400. */
export function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw new ParleyError('invalid_request', 'Idempotency-Key must be 1 to 255 printable characters', {
      param: 'Idempotency-Key',
    });
  }
  return key;
}

export interface Claim {
  /** The turn an earlier request with this key started; absent when this request is the first. */
  existing?: IdempotencyRecord;
  /** Gives the key back, so a retry is free to try again (for a turn that never started). */
  release(): Promise<void>;
}

@Injectable()
export class IdempotencyService {
  constructor(@Inject(Tokens.jetstream) private readonly jetstream: JetStreamHandles) {}

  /** Claims `key` for `turnId`, or returns the earlier claim made with the same body. */
  async claim({
    conversationId,
    ownerKeyId,
    key,
    body,
    turnId,
  }: {
    conversationId: string;
    ownerKeyId: string;
    key: string;
    body: unknown;
    turnId: string;
  }): Promise<Claim> {
    const { idempotency } = this.jetstream;
    const kvKey = `${conversationId}.${sha256(`${ownerKeyId}\n${key}`).slice(0, 40)}`;
    const bodyDigest = sha256(JSON.stringify(body));
    const claim: IdempotencyRecord = { turnId, bodyDigest, createdAt: new Date().toISOString() };
    const release = () => idempotency.purge(kvKey).catch(() => undefined);
    for (let attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt++) {
      try {
        await idempotency.create(kvKey, encode(claim));
        return { release };
      } catch {
        const entry = await idempotency.get(kvKey);
        // Released between our create and get: claim it again.
        if (!entry || entry.operation !== 'PUT') continue;
        const existing = decode(IdempotencyRecordSchema, entry.value, 'idempotency record');
        if (existing.bodyDigest !== bodyDigest) {
          throw new ParleyError('idempotency_key_reused', 'this Idempotency-Key was used with a different request', {
            param: 'Idempotency-Key',
          });
        }
        return { existing, release };
      }
    }
    throw new ParleyError('service_unavailable', 'the Idempotency-Key could not be claimed; try again', {
      retryAfterSeconds: 1,
    });
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
