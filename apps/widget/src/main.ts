/**
 * Entry point of `widget.js`: `<script src=".../widget.js" data-parley-key="pk_..." async></script>`.
 * Options come from `data-` attributes; `window.Parley` offers open(), close(), reset() and on(event, fn).
 */
import { Widget } from './widget.js';

declare global {
  interface Window {
    Parley?: {
      open(): void;
      close(): void;
      reset(): void;
      on(event: string, fn: (detail: unknown) => void): () => void;
    };
  }
}

function start(): void {
  const script = (document.currentScript ??
    document.querySelector('script[data-parley-key]')) as HTMLScriptElement | null;
  const data = script?.dataset ?? {};
  if (!script || !data.parleyKey) {
    console.error('[parley] widget.js needs data-parley-key="pk_..." on its script tag');
    return;
  }
  if (window.Parley) return;
  const boot = () => {
    const widget = new Widget({
      key: data.parleyKey!,
      api: (data.parleyApi || new URL(script.src, location.href).origin).replace(/\/$/, ''),
      title: data.title,
      greeting: data.greeting,
      lang: data.lang,
      theme: data.theme,
      position: data.position,
      accent: data.accent,
    });
    window.Parley = {
      open: () => widget.open(),
      close: () => widget.close(),
      reset: () => widget.reset(),
      on: (event, fn) => widget.on(event, fn),
    };
    window.dispatchEvent(new CustomEvent('parley:ready'));
  };
  if (document.body) boot();
  else document.addEventListener('DOMContentLoaded', boot, { once: true });
}

start();
