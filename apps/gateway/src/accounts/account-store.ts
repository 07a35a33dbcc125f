/**
 * Projects and API keys, shared by every gateway replica through the `accounts` key-value bucket. Each replica
 * keeps the whole bucket in memory and follows it with a watch, so authenticating a request reads no store,
 * and a revocation, expiry or rotation made on one replica holds on every other within the watch's delivery
 * (milliseconds). Only digests of secrets are stored; a new secret is returned once, by the call that made it.
 *
 * Keys from the configuration (`PARLEY_API_KEYS`, `PARLEY_API_KEYS_FILE`, `PARLEY_ADMIN_API_KEYS`) are the
 * bootstrap: they belong to the `default` project, are listed, and are changed only by changing the
 * configuration.
 */
import { randomBytes } from 'node:crypto';
import type { KV, KvEntry } from '@nats-io/kv';
import {
  KeyRecordSchema,
  ParleyError,
  ProjectRecordSchema,
  type CreateKeyBody,
  type CreateProjectBody,
  type KeyCreated,
  type KeyRecord,
  type KeyView,
  type Limits,
  type PatchKeyBody,
  type PatchProjectBody,
  type ProjectRecord,
  type ProjectView,
  type Scope,
} from '@parley/contracts';
import { decode, encode } from '@parley/messaging';
import type { Logger } from '@parley/tracing';
import { digest } from '../auth/api-keys.js';

/** The project of the bootstrap keys, of widget keys, and of conversations made before projects existed. */
export const DEFAULT_PROJECT = 'default';

/** What a bootstrap key from `PARLEY_API_KEYS` may do. */
const BOOTSTRAP_SCOPES: Scope[] = ['chat', 'conversations', 'erase'];

/** A key and its project, as a request authenticated with it sees them. */
export interface Authenticated {
  key: KeyRecord;
  project: ProjectRecord;
  /** The key comes from the configuration, not the store. */
  configured: boolean;
}

const projectKey = (id: string) => `project.${id}`;
const keyKey = (id: string) => `key.${id}`;

/** A new secret: 32 random bytes, so guessing one is hopeless; `psk_` tells a Parley key apart in a leak scan. */
function newSecret(): string {
  return `psk_${randomBytes(32).toString('base64url')}`;
}

const hex = (secret: string) => digest(secret).toString('hex');

/** The record without the fields a patch set to `null`, with the others replaced. */
function patched<T extends object>(record: T, patch: object): T {
  const next: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (value === null) delete next[field];
    else next[field] = value;
  }
  return next as T;
}

export class AccountStore {
  private readonly projects = new Map<string, ProjectRecord>();
  private readonly keys = new Map<string, KeyRecord>();
  /** Revision of the last entry applied per bucket key, so the watch and the first read cannot undo each other. */
  private readonly revisions = new Map<string, number>();
  private readonly configured = new Map<string, KeyRecord>();
  /** Secret digest (hex) → key id, of stored and configured keys. */
  private byDigest = new Map<string, string>();
  private stopWatching: (() => void) | undefined;

  private constructor(
    private readonly kv: KV,
    private readonly log: Logger,
  ) {}

  /**
   * Reads the bucket, follows it, and makes sure the `default` project exists.
   * @param bootstrap digests of the configured keys by the scopes they get.
   */
  static async open(
    kv: KV,
    bootstrap: { apiKeys: readonly Buffer[]; adminKeys: readonly Buffer[] },
    log: Logger,
  ): Promise<AccountStore> {
    const store = new AccountStore(kv, log);
    const at = new Date(0).toISOString();
    const add = (keyDigest: Buffer, scopes: Scope[], name: string) => {
      const id = `key_${keyDigest.subarray(0, 8).toString('hex')}`;
      const existing = store.configured.get(id);
      store.configured.set(id, {
        id,
        project: DEFAULT_PROJECT,
        name,
        scopes: existing ? [...new Set([...existing.scopes, ...scopes])] : scopes,
        secrets: [{ digest: keyDigest.toString('hex') }],
        hint: '…',
        createdAt: at,
        updatedAt: at,
      });
    };
    for (const d of bootstrap.apiKeys) add(d, BOOTSTRAP_SCOPES, 'PARLEY_API_KEYS');
    for (const d of bootstrap.adminKeys) add(d, ['admin'], 'PARLEY_ADMIN_API_KEYS');
    store.reindex();
    await store.follow();
    if (!store.projects.has(DEFAULT_PROJECT)) {
      await store.createProject({ id: DEFAULT_PROJECT, name: 'Default' }).catch((error: unknown) => {
        // Another replica made it first.
        if (!(error instanceof ParleyError && error.code === 'invalid_request')) throw error;
      });
    }
    return store;
  }

  close(): void {
    this.stopWatching?.();
  }

  /** The key a secret belongs to, if it is valid now: not revoked, not expired, and the secret not rotated out. */
  authenticate(secret: string): Authenticated | undefined {
    const digestHex = hex(secret);
    const id = this.byDigest.get(digestHex);
    if (!id) return undefined;
    const configured = this.configured.get(id);
    const key = configured ?? this.keys.get(id);
    if (!key || key.revokedAt) return undefined;
    const now = Date.now();
    if (key.expiresAt && Date.parse(key.expiresAt) <= now) return undefined;
    const secretEntry = key.secrets.find((s) => s.digest === digestHex);
    if (!secretEntry || (secretEntry.validUntil && Date.parse(secretEntry.validUntil) <= now)) return undefined;
    const project = this.projects.get(key.project);
    if (!project) return undefined;
    return { key, project, configured: configured !== undefined };
  }

  project(id: string): ProjectRecord | undefined {
    return this.projects.get(id);
  }

  /** The limits of a project, for widget keys (which belong to the default project). */
  projectLimits(id: string): Limits | undefined {
    return this.projects.get(id)?.limits;
  }

  listProjects(): ProjectView[] {
    return [...this.projects.values()].sort((a, b) => a.id.localeCompare(b.id)).map(projectView);
  }

  getProject(id: string): ProjectView {
    return projectView(this.requireProject(id));
  }

  async createProject(body: CreateProjectBody): Promise<ProjectView> {
    const now = new Date().toISOString();
    const record: ProjectRecord = { ...body, name: body.name ?? body.id, createdAt: now, updatedAt: now };
    try {
      const revision = await this.kv.create(projectKey(body.id), encode(record));
      this.apply(projectKey(body.id), revision, record);
    } catch (error) {
      if (isExists(error)) throw new ParleyError('invalid_request', `project "${body.id}" exists`, { param: 'id' });
      throw error;
    }
    this.log.info({ project: body.id }, 'project created');
    return projectView(record);
  }

  async patchProject(id: string, patch: PatchProjectBody): Promise<ProjectView> {
    const record = await this.update(projectKey(id), ProjectRecordSchema, () => {
      const current = this.requireProject(id);
      return { ...patched(current, patch), updatedAt: new Date().toISOString() };
    });
    this.log.info({ project: id, fields: Object.keys(patch) }, 'project changed');
    return projectView(record);
  }

  listKeys(project?: string): KeyView[] {
    const all = [...this.configured.values(), ...this.keys.values()];
    return all
      .filter((key) => !project || key.project === project)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
      .map((key) => this.view(key));
  }

  getKey(id: string): KeyView {
    return this.view(this.requireKey(id));
  }

  async createKey(body: CreateKeyBody): Promise<KeyCreated> {
    this.requireProject(body.project, 'project');
    assertFuture(body.expiresAt);
    const secret = newSecret();
    const now = new Date().toISOString();
    const record: KeyRecord = {
      ...body,
      id: `key_${randomBytes(8).toString('hex')}`,
      secrets: [{ digest: hex(secret) }],
      hint: secret.slice(-4),
      createdAt: now,
      updatedAt: now,
    };
    const revision = await this.kv.create(keyKey(record.id), encode(record));
    this.apply(keyKey(record.id), revision, record);
    this.log.info({ keyId: record.id, project: record.project, scopes: record.scopes }, 'API key created');
    return { ...this.view(record), key: secret };
  }

  async patchKey(id: string, patch: PatchKeyBody): Promise<KeyView> {
    assertFuture(patch.expiresAt ?? undefined);
    const record = await this.updateKey(id, (key) => patched(key, patch));
    this.log.info({ keyId: id, fields: Object.keys(patch) }, 'API key changed');
    return this.view(record);
  }

  /**
   * A new secret for the key; the old one keeps working for `graceSeconds`. The key's id stays, and with it
   * its conversations, usage and limits.
   */
  async rotateKey(id: string, graceSeconds: number): Promise<KeyCreated> {
    const current = this.requireKey(id);
    if (current.revokedAt)
      throw new ParleyError('invalid_request', 'this key is revoked: create a new one', { param: 'id' });
    if (current.expiresAt && Date.parse(current.expiresAt) <= Date.now()) {
      throw new ParleyError('invalid_request', 'this key has expired: extend expiresAt first', { param: 'id' });
    }
    const secret = newSecret();
    const validUntil = new Date(Date.now() + graceSeconds * 1000).toISOString();
    const record = await this.updateKey(id, (key) => ({
      ...key,
      secrets: [{ digest: hex(secret) }, ...(graceSeconds > 0 ? [{ digest: key.secrets[0]!.digest, validUntil }] : [])],
      hint: secret.slice(-4),
    }));
    this.log.info({ keyId: id, graceSeconds }, 'API key rotated');
    return { ...this.view(record), key: secret };
  }

  /** Refused from now on, on every replica; the record stays, so its conversations and usage keep an owner. */
  async revokeKey(id: string): Promise<KeyView> {
    const record = await this.updateKey(id, (key) => ({
      ...key,
      revokedAt: key.revokedAt ?? new Date().toISOString(),
    }));
    this.log.info({ keyId: id }, 'API key revoked');
    return this.view(record);
  }

  private async updateKey(id: string, change: (key: KeyRecord) => KeyRecord): Promise<KeyRecord> {
    if (this.configured.has(id)) {
      throw new ParleyError(
        'invalid_request',
        'this key comes from the configuration: change PARLEY_API_KEYS instead',
        {
          param: 'id',
        },
      );
    }
    return this.update(keyKey(id), KeyRecordSchema, () => ({
      ...change(this.requireKey(id)),
      updatedAt: new Date().toISOString(),
    }));
  }

  /** Compare-and-set on the entry's revision, so two replicas changing one record cannot lose a change. */
  private async update<T extends ProjectRecord | KeyRecord>(
    bucketKey: string,
    schema: { parse(value: unknown): T },
    next: () => T,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const entry = await this.kv.get(bucketKey);
      if (entry && entry.operation === 'PUT') this.applyEntry(entry);
      const record = schema.parse(next());
      try {
        const revision = await this.kv.update(bucketKey, encode(record), entry?.revision ?? 0);
        this.apply(bucketKey, revision, record);
        return record;
      } catch (error) {
        if (attempt >= 3 || !isWrongRevision(error)) throw error;
      }
    }
  }

  private requireProject(id: string, param?: string): ProjectRecord {
    const project = this.projects.get(id);
    if (!project) throw new ParleyError('not_found', `no project "${id}"`, param ? { param } : {});
    return project;
  }

  private requireKey(id: string): KeyRecord {
    const key = this.configured.get(id) ?? this.keys.get(id);
    if (!key) throw new ParleyError('not_found', `no API key "${id}"`);
    return key;
  }

  private view(key: KeyRecord): KeyView {
    const { secrets, ...rest } = key;
    const previous = secrets[1]?.validUntil;
    return {
      object: 'api_key',
      ...rest,
      configured: this.configured.has(key.id),
      ...(previous && Date.parse(previous) > Date.now() ? { previousSecretValidUntil: previous } : {}),
    };
  }

  /** Reads every entry, then follows changes; the watch also replays the current values, applied by revision. */
  private async follow(): Promise<void> {
    const watch = await this.kv.watch({ key: '>' });
    this.stopWatching = () => watch.stop();
    void (async () => {
      for await (const entry of watch) {
        try {
          this.applyEntry(entry);
        } catch (error) {
          this.log.error({ err: error, entry: entry.key }, 'unreadable account record ignored');
        }
      }
    })();
    for await (const name of await this.kv.keys()) {
      const entry = await this.kv.get(name);
      if (entry && entry.operation === 'PUT') this.applyEntry(entry);
    }
  }

  private applyEntry(entry: KvEntry): void {
    if (entry.operation !== 'PUT') {
      this.apply(entry.key, entry.revision, undefined);
      return;
    }
    const schema = entry.key.startsWith('key.') ? KeyRecordSchema : ProjectRecordSchema;
    this.apply(entry.key, entry.revision, decode(schema, entry.value, 'account record'));
  }

  private apply(bucketKey: string, revision: number, record: ProjectRecord | KeyRecord | undefined): void {
    if ((this.revisions.get(bucketKey) ?? 0) >= revision) return;
    this.revisions.set(bucketKey, revision);
    const [kind, id = ''] = bucketKey.split(/\.(.*)/s);
    const map = kind === 'key' ? this.keys : this.projects;
    if (record) (map as Map<string, typeof record>).set(id, record);
    else map.delete(id);
    if (kind === 'key') this.reindex();
  }

  private reindex(): void {
    const index = new Map<string, string>();
    for (const key of [...this.keys.values(), ...this.configured.values()]) {
      for (const secret of key.secrets) index.set(secret.digest, key.id);
    }
    this.byDigest = index;
  }
}

/** A key that would be expired when made is a mistake, not a key. */
function assertFuture(expiresAt: string | undefined): void {
  if (expiresAt !== undefined && Date.parse(expiresAt) <= Date.now()) {
    throw new ParleyError('invalid_request', 'expiresAt must be in the future', { param: 'expiresAt' });
  }
}

function projectView(record: ProjectRecord): ProjectView {
  return { object: 'project', ...record };
}

function isExists(error: unknown): boolean {
  return error instanceof Error && /wrong last sequence|key exists/i.test(error.message);
}

function isWrongRevision(error: unknown): boolean {
  return error instanceof Error && /wrong last sequence/i.test(error.message);
}
