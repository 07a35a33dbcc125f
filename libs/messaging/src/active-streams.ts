/**
 * The streams a service replica is running (generations, turns), so that shutdown can let them finish within
 * a grace period and then end the rest, each with its own terminal message.
 */
export class ActiveStreams<T> {
  private readonly running = new Map<string, { entry: T; done: Promise<void> }>();
  private stopping = false;

  /** True once {@link drain} started: new work should be refused (`shutting_down`). */
  get isStopping(): boolean {
    return this.stopping;
  }

  has(id: string): boolean {
    return this.running.has(id);
  }

  /** Runs `work` for `id` and forgets it when it settles. */
  track(id: string, entry: T, work: () => Promise<void>): void {
    const done = work().finally(() => this.running.delete(id));
    this.running.set(id, { entry, done });
  }

  /** Waits up to `graceMs` for everything running; then calls `end` on what is left and waits for it. */
  async drain(graceMs: number, end: (entry: T) => void): Promise<void> {
    this.stopping = true;
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), graceMs)));
    try {
      if ((await Promise.race([all, expired])) === 'expired') {
        for (const { entry } of this.running.values()) end(entry);
        await all;
      }
    } finally {
      clearTimeout(timer);
    }
  }
}
