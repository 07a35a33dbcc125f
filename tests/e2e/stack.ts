/**
 * The whole product for integration tests: a private nats-server on a free port, llm-sim, and the built
 * inference, responder and gateway processes, all over real TCP. Each test file starts its own stack.
 */
import {
  LlmSimClient,
  startNatsServer,
  startRedisServer,
  startService,
  type NatsServerHandle,
  type ExitStatus,
  type RedisServerHandle,
  type ServiceHandle,
  type SimRecord,
} from '@parley/testing';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import OpenAI from 'openai';

export const API_KEY = 'pk-test-one-4f9c2a7e1b';
export const OTHER_KEY = 'pk-test-two-4f9c2a7e1b';
/** The bootstrap admin key of every stack's gateway. */
export const ADMIN_KEY = 'pk-test-admin-4f9c2a7e1b';
export const MODEL = 'sim-model';

type App = 'gateway' | 'responder' | 'inference';

export interface StackOptions {
  /** Extra environment for every service (timeouts, limits). */
  env?: Record<string, string>;
  /** llm-sim knobs at start. */
  sim?: Record<string, unknown>;
  /** How many llm-sim processes (default 1). */
  sims?: number;
  /** Extra environment for the gateway only, applied last (a fixed PORT, widget keys). */
  gatewayEnv?: Record<string, string>;
  /** A routing file for inference, given the sims' base URLs (`.../v1`). */
  routing?: (simBaseUrls: string[]) => string;
}

export class Stack {
  readonly services = new Map<App | 'llm-sim', ServiceHandle>();
  private readonly extra: ServiceHandle[] = [];
  nats!: NatsServerHandle;
  redis!: RedisServerHandle;
  gatewayUrl = '';
  simUrl = '';
  readonly simUrls: string[] = [];
  routingFile: string | undefined;

  private constructor(private readonly options: StackOptions) {}

  static async start(options: StackOptions = {}): Promise<Stack> {
    const stack = new Stack(options);
    try {
      [stack.nats, stack.redis] = await Promise.all([startNatsServer(), startRedisServer()]);
      for (let i = 0; i < (options.sims ?? 1); i++) {
        const sim = await startService('llm-sim', {
          env: { LLM_SIM_PORT: '0', LLM_SIM_TTFT_MS: '5', LLM_SIM_INTER_TOKEN_MS: '2', LLM_SIM_TOKENS: '12' },
        });
        stack.extra.push(sim);
        stack.simUrls.push(String(sim.ready.url));
      }
      stack.simUrl = stack.simUrls[0]!;
      if (options.sim) for (let i = 0; i < stack.simUrls.length; i++) await stack.configureSim(options.sim, i);
      if (options.routing) {
        stack.routingFile = join(mkdtempSync(join(tmpdir(), 'parley-routing-')), 'models.yaml');
        writeFileSync(stack.routingFile, options.routing(stack.simUrls.map((url) => `${url}/v1`)));
      }
      await Promise.all([stack.startApp('inference'), stack.startApp('responder')]);
      await stack.startApp('gateway');
      return stack;
    } catch (error) {
      await stack.stop();
      throw error;
    }
  }

  env(app: App): Record<string, string> {
    const common = { NATS_URL: this.nats.url, LOG_LEVEL: 'info', ...this.options.env };
    if (app === 'inference') {
      const inference = { ...common, PARLEY_OPS_PORT: '0' };
      if (this.routingFile) return { ...inference, PARLEY_MODELS_FILE: this.routingFile };
      return { ...inference, PARLEY_UPSTREAM_BASE_URL: `${this.simUrl}/v1`, PARLEY_UPSTREAM_MODEL: MODEL };
    }
    if (app === 'gateway')
      return {
        ...common,
        PORT: '0',
        HOST: '127.0.0.1',
        PARLEY_API_KEYS: `${API_KEY},${OTHER_KEY}`,
        PARLEY_ADMIN_API_KEYS: ADMIN_KEY,
        PARLEY_REDIS_URL: this.redis.url,
        ...this.options.gatewayEnv,
      };
    return { ...common, PARLEY_OPS_PORT: '0' };
  }

  /** `http://127.0.0.1:<port>` of a NATS-only service's operations port (/healthz, /readyz, /metrics). */
  opsUrl(app: 'responder' | 'inference'): string {
    return `http://127.0.0.1:${String(this.services.get(app)!.ready.opsPort)}`;
  }

  async startApp(app: App): Promise<ServiceHandle> {
    const handle = await startService(app, { env: this.env(app) });
    this.services.set(app, handle);
    if (app === 'gateway') this.gatewayUrl = `http://127.0.0.1:${String(handle.ready.port)}`;
    return handle;
  }

  /** Another gateway replica on the same NATS, with `env` over the stack's; stopped with the stack. */
  async startExtraGateway(env: Record<string, string> = {}): Promise<string> {
    const handle = await startService('gateway', { env: { ...this.env('gateway'), ...env } });
    this.extra.push(handle);
    return `http://127.0.0.1:${String(handle.ready.port)}`;
  }

  /** Stops the extra gateway at `url` (SIGKILL by default: a crash) and says how it ended. */
  async killGateway(url: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitStatus> {
    const handle = this.extra.find((s) => `http://127.0.0.1:${String(s.ready.port)}` === url);
    if (!handle) throw new Error(`no extra gateway at ${url}`);
    return handle.kill(signal);
  }

  /** Another replica of a NATS-only service on the same NATS, stopped with the stack; its handle can kill it. */
  async startReplica(app: 'responder' | 'inference'): Promise<ServiceHandle> {
    const handle = await startService(app, { env: this.env(app) });
    this.extra.push(handle);
    return handle;
  }

  async killApp(app: App, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.services.get(app)?.kill(signal);
    this.services.delete(app);
  }

  openai(key = API_KEY): OpenAI {
    return new OpenAI({ apiKey: key, baseURL: `${this.gatewayUrl}/v1`, maxRetries: 0, timeout: 20_000 });
  }

  /** A request to the gateway with the API key (unless `key: null`). */
  fetch(
    path: string,
    init: RequestInit & { key?: string | null; json?: unknown; baseUrl?: string } = {},
  ): Promise<Response> {
    const headers = new Headers(init.headers);
    const key = init.key === undefined ? API_KEY : init.key;
    if (key) headers.set('authorization', `Bearer ${key}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    return fetch(`${init.baseUrl ?? this.gatewayUrl}${path}`, {
      ...init,
      headers,
      body,
      signal: init.signal ?? AbortSignal.timeout(20_000),
    });
  }

  /** The control API of llm-sim number `sim` (0 unless the stack has several). */
  sim(sim = 0): LlmSimClient {
    return new LlmSimClient(this.simUrls[sim]!);
  }

  configureSim(patch: Record<string, unknown>, sim = 0): Promise<void> {
    return this.sim(sim).configure(patch);
  }

  simRequests(sim = 0): Promise<SimRecord[]> {
    return this.sim(sim).requests();
  }

  clearSimRequests(sim = 0): Promise<void> {
    return this.sim(sim).clearRequests();
  }

  async stop(): Promise<void> {
    const all = [...this.services.values(), ...this.extra];
    await Promise.all(all.map((s) => s.kill('SIGTERM').catch(() => undefined)));
    this.services.clear();
    await Promise.all([this.nats?.stop(), this.redis?.stop()]);
  }
}

/** Polls `check` until it returns a value, or fails after `timeoutMs` with `what`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

/** Reads a `text/event-stream` response into events as they arrive. */
export async function* readSse(res: Response): AsyncGenerator<SseEvent> {
  if (!res.body) throw new Error('no body');
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event: SseEvent = { event: 'message', id: undefined, data: '' };
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        const field = line.slice(0, colon);
        const value = line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event.event = value;
        else if (field === 'id') event.id = value;
        else if (field === 'data') event.data += value;
      }
      yield event;
    }
  }
}

/** All events of a conversation turn. */
export async function collectSse(res: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of readSse(res)) events.push(event);
  return events;
}

/** The repository's root, where `node scripts/<script>.ts` runs. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `node scripts/<script> <args>` as an operator runs it, with only PATH, HOME and `env`; never rejects on an
 * exit code, and fails the test when the script runs longer than `timeoutMs` (it is then killed).
 */
export async function runScript(
  script: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<ScriptRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [`scripts/${script}`, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      timeout: timeoutMs,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; killed?: boolean; stdout: string; stderr: string };
    if (failed.killed) {
      throw new Error(`${script} ${args.join(' ')} did not end within ${timeoutMs} ms`, { cause: error });
    }
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
