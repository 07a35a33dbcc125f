/** What the widget remembers per key across page loads on the same site (localStorage; in memory if blocked). */
export interface Saved {
  token?: string;
  renewAfter?: string;
  expiresAt?: string;
  conversationId?: string;
  /** A reply still being generated: resumed after a reload. */
  pending?: { turnId: string };
  open?: boolean;
}

export class Store {
  private memory: Saved = {};

  constructor(private readonly name: string) {}

  load(): Saved {
    try {
      return JSON.parse(localStorage.getItem(this.name) ?? '{}') as Saved;
    } catch {
      return this.memory;
    }
  }

  update(patch: Partial<Saved>): Saved {
    const next = { ...this.load(), ...patch };
    this.memory = next;
    try {
      localStorage.setItem(this.name, JSON.stringify(next));
    } catch {
      // Storage disabled (privacy mode): the conversation lasts as long as the page.
    }
    return next;
  }
}
