/** Builds DOM from parsed Markdown: elements from a closed list, text only through text nodes. */
import { parseMarkdown, type Block, type Inline } from './markdown.js';

export function renderMarkdown(text: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  for (const block of parseMarkdown(text)) fragment.append(renderBlock(block));
  return fragment;
}

function renderBlock(block: Block): Node {
  switch (block.t) {
    case 'pre': {
      const pre = el('pre');
      pre.append(el('code', block.text));
      return pre;
    }
    case 'h': {
      const p = el('p');
      p.append(inline({ t: 'b', c: block.c }));
      return p;
    }
    case 'p': {
      const p = el('p');
      p.append(...block.c.map(inline));
      return p;
    }
    default: {
      const list = el(block.t);
      if (block.t === 'ol' && block.start !== 1) list.setAttribute('start', String(block.start));
      for (const item of block.items) {
        const li = el('li');
        li.append(...item.map(inline));
        list.append(li);
      }
      return list;
    }
  }
}

function inline(node: Inline): Node {
  if (typeof node === 'string') return document.createTextNode(node);
  switch (node.t) {
    case 'br':
      return el('br');
    case 'code':
      return el('code', node.text);
    case 'a': {
      const a = el('a') as HTMLAnchorElement;
      a.href = node.href;
      a.target = '_blank';
      a.rel = 'noopener noreferrer nofollow';
      a.referrerPolicy = 'no-referrer';
      a.append(...node.c.map(inline));
      return a;
    }
    default: {
      const wrapper = el(node.t === 'b' ? 'strong' : 'em');
      wrapper.append(...node.c.map(inline));
      return wrapper;
    }
  }
}

function el(tag: string, text?: string): HTMLElement {
  const element = document.createElement(tag);
  if (text !== undefined) element.textContent = text;
  return element;
}
