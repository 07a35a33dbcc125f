/**
 * Line-oriented capture of a child process's output, with a way to await a line that matches.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Lines kept per process (oldest dropped). */
const MAX_LINES = 5_000;

export class ProcessOutput {
  readonly lines: string[] = [];
  private readonly listeners = new Set<(line: string) => void>();

  constructor(child: ChildProcess) {
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        if (this.lines.length > MAX_LINES) this.lines.shift();
        for (const listener of this.listeners) listener(line);
      });
    }
  }

  tail(count = 20): string {
    return this.lines.slice(-count).join('\n');
  }

  /**
   * Resolves with the first line (seen before or after the call) that `match` accepts; rejects when the
   * process exits first or `timeoutMs` passes, with the output's tail in the message.
   */
  waitFor<T>(
    what: string,
    match: (line: string) => T | undefined,
    { timeoutMs, exited }: { timeoutMs: number; exited: Promise<unknown> },
  ): Promise<T> {
    for (const line of this.lines) {
      const found = match(line);
      if (found !== undefined) return Promise.resolve(found);
    }
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
      void exited.then(() => {
        if (!this.listeners.has(listener)) return;
        cleanup();
        reject(new Error(`process exited while waiting for ${what}; output:\n${this.tail()}`));
      });
    });
  }
}

/** Parses a JSON log line; undefined for anything else. */
export function jsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
