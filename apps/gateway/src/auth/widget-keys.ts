/**
 * Public widget keys (`pk_...`). Unlike API keys they are not secrets: they sit in every page that embeds the
 * widget. What protects them is the list of origins each key may be used from (checked on every request that
 * carries an `Origin`, and reflected in CORS), and that a visitor's token reaches only that visitor's
 * conversations.
 */
import { createHash } from 'node:crypto';

export interface WidgetKey {
  /** Owner of the key's conversations, like an API key's id; never the key itself. */
  keyId: string;
  origins: ReadonlySet<string>;
}

export class WidgetKeys {
  private readonly byKey = new Map<string, WidgetKey>();
  private readonly byId = new Map<string, WidgetKey>();
  private readonly anyOrigin = new Set<string>();

  constructor(entries: readonly { key: string; origins: readonly string[] }[] = []) {
    for (const { key, origins } of entries) {
      const widgetKey = { keyId: widgetKeyId(key), origins: new Set(origins) };
      this.byKey.set(key, widgetKey);
      this.byId.set(widgetKey.keyId, widgetKey);
      for (const origin of origins) this.anyOrigin.add(origin);
    }
  }

  get size(): number {
    return this.byKey.size;
  }

  find(key: string): WidgetKey | undefined {
    return this.byKey.get(key);
  }

  byKeyId(keyId: string): WidgetKey | undefined {
    return this.byId.get(keyId);
  }

  /** Whether some key may be used from `origin`: decides CORS before the request says which key it uses. */
  allowsSomewhere(origin: string): boolean {
    return this.anyOrigin.has(origin);
  }
}

function widgetKeyId(key: string): string {
  return `wk_${createHash('sha256').update(key, 'utf8').digest().subarray(0, 8).toString('hex')}`;
}
