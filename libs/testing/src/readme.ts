/**
 * The README's tables, for specs that keep it true to the code: the configuration table against the env
 * schemas, llm-sim's table against its settings.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const README = join(dirname(fileURLToPath(import.meta.url)), '../../../README.md');

/** One table row: each cell's text by its column's header, as written (backticks included). */
export type TableRow = Record<string, string>;

/** A row's cells: `|` separates them unless escaped as `\|`, which stands for a literal `|`. */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

/**
 * The Markdown tables in the README's `## <heading>` section (up to the next `## `), in order.
 * @throws Error when the section is missing, so a renamed heading fails the spec instead of passing it.
 * @example const [config] = readmeTables('Configuration');
 */
export function readmeTables(heading: string, markdown = readFileSync(README, 'utf8')): TableRow[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
  const section = lines.slice(start + 1, end < 0 ? undefined : end);
  const tables: TableRow[][] = [];
  for (let i = 0; i < section.length; i++) {
    if (!section[i]!.trim().startsWith('|')) continue;
    const header = cells(section[i]!);
    const rows: TableRow[] = [];
    // The line after the header is the |---| separator.
    for (i += 2; i < section.length && section[i]!.trim().startsWith('|'); i++) {
      const row = cells(section[i]!);
      rows.push(Object.fromEntries(header.map((name, column) => [name, row[column] ?? ''])));
    }
    tables.push(rows);
  }
  return tables;
}

/** The backticked names in a cell: `` `HTTP_PROXY`, `http_proxy` `` gives both. */
export function codeNames(cell: string): string[] {
  return [...cell.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)`/g)].map((match) => match[1]!);
}
