/**
 * The built widget script, read once at start, with its content hash (the version in `/widget.js?v=`) and
 * gzip and brotli encodings made ahead, so serving it costs a lookup.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export interface WidgetScript {
  version: string;
  identity: Buffer;
  gzip: Buffer;
  br: Buffer;
}

/**
 * The widget as `npm run build` lays it out beside the gateway's bundle (dist/apps/gateway/main.js):
 * dist/apps/widget/widget.js.
 */
export const DEFAULT_WIDGET_FILE = new URL('../widget/widget.js', import.meta.url);

/** The script at `file`, or undefined when it is not there (the gateway then answers 404 for it). */
export function loadWidgetScript(file: string | URL): WidgetScript | undefined {
  let identity: Buffer;
  try {
    identity = readFileSync(file);
  } catch {
    return undefined;
  }
  return {
    version: createHash('sha256').update(identity).digest('hex').slice(0, 16),
    identity,
    gzip: gzipSync(identity, { level: 9 }),
    br: brotliCompressSync(identity, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
  };
}
