/**
 * Line-oriented capture of a child process's output, with a way to await a line that matches and the
 * process's end. Everything keys on `close`, not `exit`: `exit` can fire while the last lines are still in
 * the pipe, and a line printed just before exiting must not be reported as missing.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Lines kept per process (oldest dropped). */
const MAX_LINES = 5_000;
/** Lines of output quoted in error messages. */
const TAIL_LINES = 20;

/** How a child process ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Children not yet ended. They are killed when the test process exits, so that none outlives it as an
 * orphan holding a port: vitest ends its workers with SIGTERM, which skips `exit` handlers, so SIGTERM is
 * caught too (only while children live), and raised again once they are killed.
 */
const live = new Set<ChildProcess>();

function killLive(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

function onSigterm(): void {
  killLive();
  process.removeListener('SIGTERM', onSigterm);
  if (process.listenerCount('SIGTERM') === 0) process.kill(process.pid, 'SIGTERM');
}

function track(child: ChildProcess): void {
  if (live.size === 0) {
    process.once('exit', killLive);
    process.on('SIGTERM', onSigterm);
  }
  live.add(child);
  child.once('close', () => {
    live.delete(child);
    if (live.size > 0) return;
    process.removeListener('exit', killLive);
    process.removeListener('SIGTERM', onSigterm);
  });
}

export class ProcessOutput {
  readonly lines: string[] = [];
  /** Settles once the process has ended and its output is fully read, also when it never started. */
  readonly closed: Promise<ExitStatus>;
  private readonly listeners = new Set<(line: string) => void>();
  private startError: Error | undefined;
  private status: ExitStatus | undefined;

  constructor(child: ChildProcess) {
    track(child);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        if (this.lines.length > MAX_LINES) this.lines.shift();
        for (const listener of this.listeners) listener(line);
      });
    }
    // Without a listener an `error` event (e.g. ENOENT) would crash the test runner.
    child.on('error', (error) => {
      if (child.pid === undefined) this.startError = error;
    });
    this.closed = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.status = { code, signal };
        resolve(this.status);
      });
    });
  }

  /** Why the process could not be started (e.g. ENOENT), if it could not. */
  get spawnError(): Error | undefined {
    return this.startError;
  }

  /** The last lines of output, one per line, for error messages. */
  tail(count = TAIL_LINES): string {
    return this.lines.slice(-count).join('\n') || '(no output)';
  }

  /** "exited with code 1", "was killed by SIGKILL", "could not be started (spawn x ENOENT)". */
  describeEnd(): string {
    if (this.spawnError) return `could not be started (${this.spawnError.message})`;
    if (!this.status) return 'is running';
    return this.status.signal ? `was killed by ${this.status.signal}` : `exited with code ${this.status.code}`;
  }

  /**
   * Resolves with the first line (seen before or after the call) that `match` accepts; rejects when the
   * process ends first or `timeoutMs` passes, with the output's tail in the message.
   */
  waitFor<T>(what: string, match: (line: string) => T | undefined, timeoutMs: number): Promise<T> {
    for (const line of this.lines) {
      const found = match(line);
      if (found !== undefined) return Promise.resolve(found);
    }
    if (this.status) return Promise.reject(this.endedError(what));
    return new Promise<T>((resolve, reject) => {
      const listener = (line: string) => {
        const found = match(line);
        if (found === undefined) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; output:\n${this.tail()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      this.listeners.add(listener);
      void this.closed.then(() => {
        if (!this.listeners.has(listener)) return;
        cleanup();
        reject(this.endedError(what));
      });
    });
  }

  private endedError(what: string): Error {
    return new Error(`the process ${this.describeEnd()} while waiting for ${what}; output:\n${this.tail()}`, {
      cause: this.spawnError,
    });
  }
}

/** Parses a JSON log line; undefined for anything else. */
export function jsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
