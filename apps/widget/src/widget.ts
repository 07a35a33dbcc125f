/**
 * The chat widget: a launcher and a panel in a shadow root. One turn at a time; replies stream in as
 * Markdown, can be stopped, survive reloads (the turn is resumed from its first frame) and recover from
 * dropped connections by resuming after the last frame seen.
 */
import type { DeltaEvent, DoneEvent, ErrorEvent, HistoryMessage } from '@parley/contracts';
import { Api, ApiError } from './api.js';
import { strings, type Strings } from './i18n.js';
import { uuid } from './ids.js';
import { renderMarkdown } from './render.js';
import { readEvents } from './sse.js';
import { Store } from './store.js';
import { CSS } from './styles.js';

export interface Options {
  key: string;
  api: string;
  title?: string;
  greeting?: string;
  lang?: string;
  theme?: string;
  position?: string;
  accent?: string;
}

export interface MessageEvent {
  role: 'user' | 'assistant';
  text: string;
  turnId?: string;
  finishReason?: string;
}

type Listener = (detail: unknown) => void;

/** Renewing a session a minute before it expires leaves room for clock skew. */
const EXPIRY_MARGIN_MS = 60_000;
const RESUME_ATTEMPTS = 4;

const ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>';

const TEMPLATE = `<button class="launcher" aria-expanded="false" aria-controls="p" aria-haspopup="dialog">${ICON}</button>
<section class="panel" id="p" role="dialog" aria-labelledby="t" hidden>
<header><h2 id="t"></h2><button class="reset" type="button"></button><button class="close" type="button">✕</button></header>
<div class="log" tabindex="0"></div>
<form><textarea rows="1"></textarea><button class="send" type="submit"></button></form>
<div class="sr live" aria-live="polite"></div>
</section>`;

export class Widget {
  private readonly t: Strings;
  private readonly api: Api;
  private readonly store: Store;
  private readonly host = document.createElement('div');
  private readonly $: <E extends HTMLElement>(selector: string) => E;
  private readonly listeners = new Map<string, Set<Listener>>();
  private loaded?: Promise<void>;
  private active?: { controller: AbortController; conversationId?: string; turnId?: string };
  private unavailable = false;

  constructor(private readonly options: Options) {
    this.t = strings(options.lang);
    this.api = new Api(options.api, options.key);
    this.store = new Store(`parley:${options.key}`);
    const shadow = this.host.attachShadow({ mode: 'open' });
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
    shadow.innerHTML = TEMPLATE;
    this.$ = (selector) => shadow.querySelector(selector)!;
    this.label();
    this.theme();
    this.bind();
    document.body.append(this.host);
    if (this.store.load().open) this.open(false);
  }

  on(event: string, listener: Listener): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener);
    this.listeners.set(event, set);
    return () => set.delete(listener);
  }

  open(focus = true): void {
    this.$('.panel').hidden = false;
    this.$('.launcher').setAttribute('aria-expanded', 'true');
    this.store.update({ open: true });
    if (focus) this.$('textarea').focus();
    this.loaded ??= this.load();
    this.emit('open', {});
  }

  close(): void {
    this.$('.panel').hidden = true;
    const launcher = this.$('.launcher');
    launcher.setAttribute('aria-expanded', 'false');
    this.store.update({ open: false });
    launcher.focus();
    this.emit('close', {});
  }

  /** Starts a new conversation (the old one stays stored on the server). */
  reset(): void {
    this.active?.controller.abort();
    this.active = undefined;
    this.store.update({ conversationId: undefined, pending: undefined });
    this.$('.log').replaceChildren();
    this.greet();
    this.busy(false);
    this.$('textarea').focus();
  }

  private label(): void {
    const { t, options } = this;
    this.$('.launcher').setAttribute('aria-label', t.open);
    this.$('h2').textContent = options.title || t.title;
    this.$('.panel').setAttribute('aria-label', options.title || t.title);
    this.$('.reset').textContent = t.reset;
    this.$('.close').setAttribute('aria-label', t.close);
    this.$('.log').setAttribute('aria-label', t.log);
    const input = this.$<HTMLTextAreaElement>('textarea');
    input.setAttribute('aria-label', t.input);
    input.placeholder = t.placeholder;
    this.busy(false);
  }

  private theme(): void {
    const { host, options } = this;
    if (options.position === 'left') host.dataset.position = 'left';
    if (options.accent) host.style.setProperty('--parley-accent', options.accent);
    const dark = matchMedia('(prefers-color-scheme: dark)');
    const apply = () =>
      (host.dataset.theme = options.theme === 'dark' || (options.theme !== 'light' && dark.matches) ? 'dark' : 'light');
    apply();
    dark.addEventListener('change', apply);
    // Phones: keep the panel (and its input) inside the part of the screen the on-screen keyboard leaves.
    const viewport = window.visualViewport;
    viewport?.addEventListener('resize', () => {
      host.style.setProperty('--vvh', `${viewport.height}px`);
      host.style.setProperty('--vvt', `${viewport.offsetTop}px`);
    });
  }

  private bind(): void {
    const input = this.$<HTMLTextAreaElement>('textarea');
    this.$('.launcher').addEventListener('click', () => this.open());
    this.$('.close').addEventListener('click', () => this.close());
    this.$('.reset').addEventListener('click', () => this.reset());
    this.$('.panel').addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.close();
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    });
    input.addEventListener('input', () => {
      input.style.height = 'auto';
      input.style.height = `${input.scrollHeight}px`;
    });
    this.$('form').addEventListener('submit', (e) => {
      e.preventDefault();
      if (this.active) void this.stop();
      else this.submit();
    });
  }

  private submit(): void {
    const input = this.$<HTMLTextAreaElement>('textarea');
    const text = input.value.trim();
    if (!text || this.active || this.unavailable) return;
    input.value = '';
    input.style.height = '';
    this.bubble('user', text);
    this.emit('message', { role: 'user', text } satisfies MessageEvent);
    void this.turn(text);
  }

  /** Restores the conversation (and a reply still being generated) after a page load. */
  private async load(): Promise<void> {
    const { conversationId, pending } = this.store.load();
    if (!conversationId) return this.greet();
    try {
      await this.session();
      const conversation = await this.api.conversation(conversationId);
      this.greet();
      for (const m of conversation.messages) this.showStored(m);
      if (pending && !conversation.messages.some((m) => m.turnId === pending.turnId && m.role === 'assistant')) {
        const controller = new AbortController();
        this.active = { controller, conversationId, turnId: pending.turnId };
        this.busy(true);
        await this.follow(conversationId, pending.turnId, undefined, this.bubble('assistant'));
      } else if (pending) this.store.update({ pending: undefined });
    } catch (error) {
      // A conversation that is gone (erased, expired) or a session that cannot be had: start over.
      this.store.update({ conversationId: undefined, pending: undefined });
      this.$('.log').replaceChildren();
      this.greet();
      if (error instanceof ApiError && error.status === 403) this.disable();
    }
  }

  private showStored(m: HistoryMessage): void {
    if (m.role === 'user' || m.role === 'assistant') this.bubble(m.role, m.content);
  }

  private greet(): void {
    if (!this.$('.log').childElementCount) this.bubble('assistant', this.options.greeting || this.t.greeting);
  }

  /** A valid visitor token: kept, renewed after half its life, or new. */
  private async session(): Promise<void> {
    const saved = this.store.load();
    const now = Date.now();
    const valid = saved.token && saved.expiresAt && Date.parse(saved.expiresAt) - EXPIRY_MARGIN_MS > now;
    if (valid && saved.renewAfter && Date.parse(saved.renewAfter) > now) {
      this.api.token = saved.token!;
      return;
    }
    const session = await this.api.session(valid ? saved.token : undefined);
    const { visitorToken: token, renewAfter, expiresAt } = session;
    // A token for another visitor means the old one lapsed: its conversation is no longer ours.
    this.store.update({ token, renewAfter, expiresAt, ...(valid ? {} : { conversationId: undefined }) });
    this.api.token = token;
  }

  private async turn(text: string, retried = false): Promise<void> {
    const controller = new AbortController();
    this.active = { controller };
    this.busy(true);
    const bubble = this.bubble('assistant');
    try {
      await this.session();
      let { conversationId } = this.store.load();
      if (!conversationId) {
        conversationId = (await this.api.createConversation()).id;
        this.store.update({ conversationId });
      }
      this.active.conversationId = conversationId;
      const res = await this.api.send(conversationId, text, uuid(), controller.signal);
      const turnId = res.headers.get('X-Parley-Turn-Id') ?? '';
      this.active.turnId = turnId;
      this.store.update({ pending: { turnId } });
      await this.follow(conversationId, turnId, res, bubble, text);
    } catch (error) {
      if (controller.signal.aborted) return;
      bubble.remove();
      if (error instanceof ApiError && error.status === 401 && !retried) {
        // The token stopped working (secret rotated, key re-issued): a fresh session, a fresh conversation.
        this.store.update({ token: undefined, expiresAt: undefined, conversationId: undefined });
        this.active = undefined;
        return this.turn(text, true);
      }
      if (error instanceof ApiError && error.status === 404) this.store.update({ conversationId: undefined });
      this.fail(error, text);
    }
  }

  /** Reads a turn's events to the end, resuming after the last frame seen when the connection drops. */
  private async follow(
    conversationId: string,
    turnId: string,
    first: Response | undefined,
    bubble: HTMLElement,
    text?: string,
  ): Promise<void> {
    const signal = this.active!.controller.signal;
    let reply = '';
    let after = 0;
    let response = first;
    for (let attempt = 0; attempt <= RESUME_ATTEMPTS; attempt++) {
      try {
        response ??= await this.api.events(conversationId, turnId, after, signal);
        for await (const event of readEvents(response.body!)) {
          attempt = 0;
          const seq = Number(event.id);
          // Frame 1 starts the reply; after the frames expire the whole stored reply arrives as frame 1.
          if (seq === 1) reply = '';
          if (seq) after = seq;
          if (event.event === 'delta') {
            reply += (JSON.parse(event.data) as DeltaEvent).text;
            this.paint(bubble, reply);
          } else if (event.event === 'done') {
            return this.finish(bubble, reply, turnId, (JSON.parse(event.data) as DoneEvent).finishReason);
          } else if (event.event === 'error') {
            const { error } = JSON.parse(event.data) as ErrorEvent;
            if (!reply) bubble.remove();
            return this.fail(new ApiError(error.code, error.message, error.retryable), text);
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ApiError && !error.retryable) {
          if (!reply) bubble.remove();
          return this.fail(error, text);
        }
      }
      response = undefined;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
    }
    if (!reply) bubble.remove();
    this.fail(new ApiError('network_error', 'connection lost', true), text);
  }

  private finish(bubble: HTMLElement, reply: string, turnId: string, finishReason?: string): void {
    this.paint(bubble, reply, true);
    if (finishReason === 'cancelled') this.note(this.t.stopped);
    this.$('.live').textContent = bubble.textContent ?? '';
    this.settle();
    this.emit('message', { role: 'assistant', text: reply, turnId, finishReason } satisfies MessageEvent);
  }

  private fail(error: unknown, retryText?: string): void {
    this.settle();
    const retryable = error instanceof ApiError ? error.retryable : true;
    if (error instanceof ApiError && error.code === 'origin_not_allowed') return this.disable();
    const text = this.failureText(error);
    const note = this.note(text, true);
    if (retryable && retryText) {
      const retry = document.createElement('button');
      retry.type = 'button';
      retry.textContent = this.t.retry;
      retry.addEventListener('click', () => {
        note.remove();
        void this.turn(retryText);
      });
      note.append(' ', retry);
      retry.focus();
    }
    this.$('.live').textContent = text;
    this.emit('error', { code: error instanceof ApiError ? error.code : 'internal_error', retryable });
  }

  /** What the visitor is told: a limit says so, so they wait instead of retrying at once; a guardrail, its text. */
  private failureText(error: unknown): string {
    const code = error instanceof ApiError ? error.code : undefined;
    if (code === 'rate_limited') return this.t.limited;
    if (code === 'budget_exhausted') return this.t.exhausted;
    // A guardrail refused the message: its text is the operator's, written for the visitor.
    if (code === 'content_blocked' && error instanceof ApiError && error.message) return error.message;
    return this.t.failed;
  }

  private async stop(): Promise<void> {
    const active = this.active;
    if (!active) return;
    if (active.conversationId && active.turnId) {
      // The turn ends with `done` (cancelled) on its stream, so what was said so far is kept and stored.
      try {
        await this.api.cancel(active.conversationId, active.turnId);
        return;
      } catch {
        // Fall through: stop reading.
      }
    }
    active.controller.abort();
    this.settle();
    this.note(this.t.stopped);
  }

  private settle(): void {
    this.active = undefined;
    this.store.update({ pending: undefined });
    this.busy(false);
  }

  private disable(): void {
    this.unavailable = true;
    this.note(this.t.unavailable, true);
    this.$<HTMLTextAreaElement>('textarea').disabled = true;
    this.$<HTMLButtonElement>('.send').disabled = true;
  }

  private busy(busy: boolean): void {
    const send = this.$('.send');
    send.textContent = busy ? this.t.stop : this.t.send;
    send.className = busy ? 'send stop' : 'send';
  }

  private bubble(role: 'user' | 'assistant', text?: string): HTMLElement {
    const bubble = document.createElement('div');
    bubble.className = `msg ${role}`;
    const who = document.createElement('span');
    who.className = 'sr';
    who.textContent = `${role === 'user' ? this.t.you : this.t.assistant}: `;
    if (text === undefined) {
      bubble.innerHTML = '<span class="typing"><i></i><i></i><i></i></span>';
      bubble.firstElementChild!.setAttribute('aria-label', this.t.typing);
      bubble.setAttribute('aria-busy', 'true');
    } else if (role === 'user') bubble.textContent = text;
    else bubble.append(renderMarkdown(text));
    bubble.prepend(who);
    this.append(bubble);
    return bubble;
  }

  private paintScheduled = new WeakMap<HTMLElement, string>();

  /** Renders the reply so far, at most once per frame however fast tokens arrive. */
  private paint(bubble: HTMLElement, text: string, now = false): void {
    const scheduled = this.paintScheduled.has(bubble);
    this.paintScheduled.set(bubble, text);
    const draw = () => {
      // A frame scheduled earlier finds nothing to do once a direct paint has drawn the latest text.
      const latest = this.paintScheduled.get(bubble);
      if (latest === undefined) return;
      this.paintScheduled.delete(bubble);
      const who = bubble.querySelector('.sr');
      bubble.replaceChildren(...(who ? [who] : []), renderMarkdown(latest));
      bubble.removeAttribute('aria-busy');
      this.scroll();
    };
    if (now) draw();
    else if (!scheduled) requestAnimationFrame(draw);
  }

  private note(text: string, error = false): HTMLElement {
    const note = document.createElement('div');
    note.className = error ? 'note error' : 'note';
    note.textContent = text;
    this.append(note);
    return note;
  }

  private append(node: HTMLElement): void {
    this.$('.log').append(node);
    this.scroll();
  }

  private scroll(): void {
    const log = this.$('.log');
    log.scrollTop = log.scrollHeight;
  }

  private emit(event: string, detail: unknown): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        listener(detail);
      } catch (error) {
        console.error('[parley] listener failed', error);
      }
    }
  }
}
