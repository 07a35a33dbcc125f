import { describe, expect, it } from 'vitest';
import { parseInline, parseMarkdown, safeUrl } from './markdown.js';

describe('markdown', () => {
  it('markdown - paragraphs, headings, lists and code blocks', () => {
    const blocks = parseMarkdown(
      '# Title\n\nFirst line\nsecond line\n\n- one\n- two\n  more\n\n3. three\n4. four\n\n```ts\nlet a = 1 < 2;\n```',
    );
    expect(blocks).toEqual([
      { t: 'h', c: ['Title'] },
      { t: 'p', c: ['First line', { t: 'br' }, 'second line'] },
      { t: 'ul', items: [['one'], ['two', { t: 'br' }, 'more']], start: 1 },
      { t: 'ol', items: [['three'], ['four']], start: 3 },
      { t: 'pre', text: 'let a = 1 < 2;' },
    ]);
  });

  it('markdown - an unclosed fence (a reply still streaming) runs to the end', () => {
    expect(parseMarkdown('Run:\n```\nnpm ci')).toEqual([
      { t: 'p', c: ['Run:'] },
      { t: 'pre', text: 'npm ci' },
    ]);
  });

  it('markdown - emphasis, code and links nest', () => {
    expect(parseInline('a **bold _and em_** `x*y*` [the *docs*](https://example.com/a) end')).toEqual([
      'a ',
      { t: 'b', c: ['bold ', { t: 'i', c: ['and em'] }] },
      ' ',
      { t: 'code', text: 'x*y*' },
      ' ',
      { t: 'a', href: 'https://example.com/a', c: ['the ', { t: 'i', c: ['docs'] }] },
      ' end',
    ]);
    expect(parseInline('see https://example.com/x.')).toEqual([
      'see ',
      { t: 'a', href: 'https://example.com/x', c: ['https://example.com/x'] },
      '.',
    ]);
    expect(parseInline('snake_case_name stays')).toEqual(['snake_case_name stays']);
  });

  it('markdown - raw HTML stays text; unsafe links lose their target; images become links', () => {
    expect(parseMarkdown('<script>alert(1)</script>')).toEqual([{ t: 'p', c: ['<script>alert(1)</script>'] }]);
    expect(parseInline('[click](javascript:alert(1))')).toEqual(['click']);
    expect(parseInline('[x](data:text/html,<b>hi</b>)')).toEqual(['[x](data:text/html,<b>hi</b>)']);
    expect(parseInline('[rel](/relative)')).toEqual(['rel']);
    expect(parseInline('![cat](https://evil.example/t.png)')).toEqual([
      { t: 'a', href: 'https://evil.example/t.png', c: ['cat'] },
    ]);
    expect(parseInline('![x](javascript:alert(1))')).toEqual(['x']);
  });

  it('markdown - only http(s) and mailto URLs are allowed', () => {
    expect(safeUrl('https://a.example/p?q=1')).toBe('https://a.example/p?q=1');
    expect(safeUrl('mailto:help@a.example')).toBe('mailto:help@a.example');
    for (const bad of [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      ' javascript:alert(1)',
      'data:text/html,x',
      'vbscript:x',
      '//evil.example',
      'file:///etc/passwd',
    ]) {
      expect(safeUrl(bad), bad).toBeUndefined();
    }
  });
});
