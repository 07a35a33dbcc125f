/**
 * Visitor tokens: short JWTs (HS256, via `jose`) that name one widget key, one visitor and the origin they were
 * issued to. A visitor's conversations carry `externalUserId = visitor:<id>`, so the token reaches exactly those.
 */
import { randomBytes } from 'node:crypto';
import { ParleyError } from '@parley/contracts';
import { SignJWT, errors, jwtVerify } from 'jose';

const AUDIENCE = 'parley-widget';
const ISSUER = 'parley-gateway';
/** A JWT's shape: three base64url parts. API keys never look like this, so the two are told apart by form. */
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

export interface Visitor {
  /** The widget key's id: the owner of the visitor's conversations. */
  keyId: string;
  visitorId: string;
  /** `externalUserId` of every conversation the visitor starts. */
  externalUserId: string;
  origin: string;
  expiresAt: Date;
  issuedAt: Date;
}

export class VisitorTokens {
  private readonly secret: Uint8Array;

  /** Without a secret, one is made per process: tokens then die with it and differ between replicas. */
  constructor(
    secret: string | undefined,
    private readonly ttlSeconds: number,
  ) {
    this.secret = secret ? new TextEncoder().encode(secret) : randomBytes(32);
  }

  static looksLikeToken(value: string): boolean {
    return JWT_SHAPE.test(value);
  }

  async issue(keyId: string, origin: string, visitorId = `v${randomBytes(12).toString('hex')}`) {
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAt = issuedAt + this.ttlSeconds;
    const token = await new SignJWT({ wk: keyId, origin })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(visitorId)
      .setAudience(AUDIENCE)
      .setIssuer(ISSUER)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(this.secret);
    return {
      visitorToken: token,
      visitorId,
      expiresAt: new Date(expiresAt * 1000).toISOString(),
      renewAfter: new Date((issuedAt + this.ttlSeconds / 2) * 1000).toISOString(),
    };
  }

  /** The visitor a token names; `unauthorized` when it is forged, expired or malformed. */
  async verify(token: string): Promise<Visitor> {
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        algorithms: ['HS256'],
        audience: AUDIENCE,
        issuer: ISSUER,
      });
      const { sub, wk, origin, exp, iat } = payload;
      if (
        typeof sub !== 'string' ||
        !/^v[0-9a-f]{24}$/.test(sub) ||
        typeof wk !== 'string' ||
        typeof origin !== 'string'
      ) {
        throw new ParleyError('unauthorized', 'visitor token is malformed');
      }
      return {
        keyId: wk,
        visitorId: sub,
        externalUserId: `visitor:${sub}`,
        origin,
        expiresAt: new Date((exp ?? 0) * 1000),
        issuedAt: new Date((iat ?? 0) * 1000),
      };
    } catch (error) {
      if (error instanceof ParleyError) throw error;
      const expired = error instanceof errors.JWTExpired;
      throw new ParleyError('unauthorized', expired ? 'visitor token has expired' : 'visitor token is not valid', {
        cause: error,
      });
    }
  }
}
