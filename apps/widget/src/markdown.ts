/**
 * The Markdown subset replies are shown in: paragraphs, headings (shown as bold lines), lists, emphasis,
 * inline code, code blocks and links. Model output is untrusted (OWASP LLM05), so this parses into plain data
 * and the renderer builds DOM nodes from it with text nodes only: raw HTML stays text, there is no way to
 * emit an element or attribute that is not listed here, links must be http(s) or mailto, and images become
 * links (nothing is loaded from another host). Written here rather than taken from a library because
 * marked plus a sanitizer would be over the widget's 15 KB budget on their own, and building DOM from a
 * closed set of node types makes injection impossible by construction rather than by filtering.
 */

export type Inline =
  | string
  | { t: 'b' | 'i'; c: Inline[] }
  | { t: 'code'; text: string }
  | { t: 'a'; href: string; c: Inline[] }
  | { t: 'br' };

export type Block =
  { t: 'p' | 'h'; c: Inline[] } | { t: 'ul' | 'ol'; items: Inline[][]; start: number } | { t: 'pre'; text: string };

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const HEADING = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/;
const BULLET = /^ {0,3}[-*+]\s+(.*)$/;
const ORDERED = /^ {0,3}(\d{1,9})[.)]\s+(.*)$/;
const CONTINUATION = /^ {2,}\S/;

/** Parses `text` (complete or still streaming: an open code fence runs to the end) into blocks. */
export function parseMarkdown(text: string): Block[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let paragraph: string[] = [];
  const flush = () => {
    if (paragraph.length) blocks.push({ t: 'p', c: parseInline(paragraph.join('\n')) });
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = FENCE.exec(line);
    if (fence) {
      flush();
      const body: string[] = [];
      while (++i < lines.length && !lines[i]!.trimStart().startsWith(fence[1]!)) body.push(lines[i]!);
      blocks.push({ t: 'pre', text: body.join('\n') });
      continue;
    }
    if (!line.trim()) {
      flush();
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flush();
      blocks.push({ t: 'h', c: parseInline(heading[1]!) });
      continue;
    }
    const bullet = BULLET.exec(line);
    const ordered = bullet ? undefined : ORDERED.exec(line);
    if (bullet || ordered) {
      flush();
      const kind = bullet ? 'ul' : 'ol';
      const pattern = bullet ? BULLET : ORDERED;
      const items: string[] = [];
      for (; i < lines.length; i++) {
        const item = pattern.exec(lines[i]!);
        if (item) items.push(item[item.length - 1]!);
        else if (CONTINUATION.test(lines[i]!) && items.length) items[items.length - 1] += `\n${lines[i]!.trim()}`;
        else break;
      }
      i--;
      blocks.push({ t: kind, items: items.map(parseInline), start: ordered ? Number(ordered[1]) : 1 });
      continue;
    }
    paragraph.push(line);
  }
  flush();
  return blocks;
}

// One alternative per inline form, tried left to right: code, strong, emphasis, link or image, bare URL.
const INLINE =
  /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|\*\*(?=\S)([\s\S]*?\S)\*\*|__(?=\S)([\s\S]*?\S)__|\*(?=[^\s*])([\s\S]*?[^\s*])\*|(?<![\w])_(?=\S)([\s\S]*?\S)_(?![\w])|(!?)\[([^\]\n]*)\]\(\s*<?([^\s()<>]*(?:\([^\s()<>]*\)[^\s()<>]*)*)>?(?:\s+"[^"\n]*")?\s*\)|(https?:\/\/[^\s<>]*[^\s<>.,;:!?'")\]*_])/g;

export function parseInline(text: string): Inline[] {
  const out: Inline[] = [];
  const pushText = (s: string) => {
    s.split('\n').forEach((part, n) => {
      if (n) out.push({ t: 'br' });
      if (part) out.push(part);
    });
  };
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    pushText(text.slice(last, m.index));
    last = m.index + m[0].length;
    const [, , code, strong1, strong2, em1, em2, bang, label, href, bare] = m;
    if (code !== undefined) out.push({ t: 'code', text: code.trim() || code });
    else if (strong1 !== undefined || strong2 !== undefined) out.push({ t: 'b', c: parseInline(strong1 ?? strong2!) });
    else if (em1 !== undefined || em2 !== undefined) out.push({ t: 'i', c: parseInline(em1 ?? em2!) });
    else if (href !== undefined) {
      const safe = safeUrl(href);
      // An image is shown as a link to it: nothing is fetched from a host the page did not choose.
      const content = bang ? [label || safe || 'image'] : parseInline(label ?? '');
      if (safe) out.push({ t: 'a', href: safe, c: content });
      else out.push(...content);
    } else if (bare !== undefined) {
      const safe = safeUrl(bare);
      out.push(safe ? { t: 'a', href: safe, c: [bare] } : bare);
    }
  }
  pushText(text.slice(last));
  return out;
}

/** `url` normalised if it is absolute http(s) or mailto; anything else (javascript:, data:, relative) is refused. */
export function safeUrl(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return ['http:', 'https:', 'mailto:'].includes(parsed.protocol) ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}
