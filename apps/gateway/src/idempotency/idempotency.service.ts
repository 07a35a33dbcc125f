/**
 * `Idempotency-Key` on a conversation message: the first request with a key claims it for its turn, atomically
 * across gateway replicas (key-value `create`), as `pending`, and marks it `started` once a responder accepted
 * the turn. A retry with the same key and body re-attaches to a started turn only: while the claim is pending it
 * waits for the first request's outcome, and a turn that never started gives its key back, so the retry makes
 * its own attempt. The same key with another body is a 422.
 */
import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { IdempotencyRecordSchema, ParleyError, type IdempotencyRecord } from '@parley/contracts';
import type { GatewayConfig } from '@parley/config';
import { decode, encode, type JetStreamHandles } from '@parley/messaging';
import type { KV, KvEntry } from '@nats-io/kv';
import type { Request } from 'express';
import { Tokens } from '../tokens.js';

/** A claim released by another request just as this one tried: tried again this many times. */
const CLAIM_ATTEMPTS = 3;
/** A pending claim is given up this long after the first request's own limit (its gateway died meanwhile). */
const PENDING_MARGIN_MS = 1_000;
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
  /** Marks the claim's turn as started: later requests with the key re-attach to it. */
  started(): Promise<void>;
}

@Injectable()
export class IdempotencyService {
  constructor(
    @Inject(Tokens.jetstream) private readonly jetstream: JetStreamHandles,
    @Inject(Tokens.config) private readonly config: GatewayConfig,
  ) {}

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
    const claim: IdempotencyRecord = { turnId, bodyDigest, createdAt: new Date().toISOString(), state: 'pending' };
    const release = () => idempotency.purge(kvKey).catch(() => undefined);
    // Not marked (NATS lost just then): a retry takes the key over once the pending claim's time is up.
    const started = () =>
      idempotency.put(kvKey, encode({ ...claim, state: 'started' } satisfies IdempotencyRecord)).then(
        () => undefined,
        () => undefined,
      );
    for (let attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt++) {
      try {
        await idempotency.create(kvKey, encode(claim));
        return { release, started };
      } catch {
        const entry = await this.settled(idempotency, kvKey, bodyDigest);
        // Released (a turn that never started): claim it again.
        if (!entry) continue;
        const existing = decode(IdempotencyRecordSchema, entry.value, 'idempotency record');
        if (existing.state !== 'pending') return { existing, release, started };
        // Still pending past the first request's limit: its gateway is gone, so this request takes the key over.
        await idempotency.update(kvKey, encode(claim), entry.revision);
        return { release, started };
      }
    }
    throw new ParleyError('service_unavailable', 'the Idempotency-Key could not be claimed; try again', {
      retryAfterSeconds: 1,
    });
  }

  /**
   * The claim on `kvKey` once it is no longer pending (started, or still pending when the first request's time
   * is up); undefined once it was released. A claim made with another body is a 422 at once.
   */
  private async settled(kv: KV, kvKey: string, bodyDigest: string): Promise<KvEntry | undefined> {
    const watcher = await kv.watch({ key: kvKey });
    const timer = setTimeout(() => watcher.stop(), this.config.PARLEY_REQUEST_TIMEOUT_MS + PENDING_MARGIN_MS);
    let last: KvEntry | undefined;
    try {
      for await (const entry of watcher) {
        if (entry.operation !== 'PUT') return undefined;
        last = entry;
        const record = decode(IdempotencyRecordSchema, entry.value, 'idempotency record');
        if (record.bodyDigest !== bodyDigest) {
          throw new ParleyError('idempotency_key_reused', 'this Idempotency-Key was used with a different request', {
            param: 'Idempotency-Key',
          });
        }
        if (record.state !== 'pending') return entry;
      }
      return last;
    } finally {
      clearTimeout(timer);
      watcher.stop();
    }
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
