// The README's configuration table is the operator's reference: it must name every variable the services read
// (their schemas here, and Node's proxy variables inference passes on), each with the services that read it
// and the schema's default; and every variable the scripts read must be in one of the section's tables.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeNames, readmeTables, type TableRow } from '@parley/testing';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { PROXY_SWITCH, PROXY_VARIABLES } from './config.js';
import { gatewayEnvSchema, inferenceEnvSchema, responderEnvSchema } from './services.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

const SCHEMAS = { gateway: gatewayEnvSchema, responder: responderEnvSchema, inference: inferenceEnvSchema };
type Service = keyof typeof SCHEMAS;
const SERVICES = Object.keys(SCHEMAS) as Service[];
/** Read by inference's HTTP agent (`proxyEnvironment`), not by a schema. */
const PROXY_NAMES = [PROXY_SWITCH, ...PROXY_VARIABLES];

const keysOf = (schema: z.ZodObject) => Object.keys(schema.shape);
/** Each service's variables: its schema's keys, and the proxy variables for inference. */
const variablesOf: Record<Service, string[]> = {
  gateway: keysOf(gatewayEnvSchema),
  responder: keysOf(responderEnvSchema),
  inference: [...keysOf(inferenceEnvSchema), ...PROXY_NAMES],
};

const [configTable = [], ...otherTables] = readmeTables('Configuration');

/** The table's rows by variable name (a row may name several, e.g. `HTTP_PROXY`, `http_proxy`). */
function rowsByName(rows: TableRow[]): Map<string, TableRow> {
  return new Map(rows.flatMap((row) => codeNames(row.variable ?? '').map((name) => [name, row] as const)));
}

/** What is in `actual` and not in `expected`, and the other way round, sorted, for a readable failure. */
function difference(expected: Iterable<string>, actual: Iterable<string>) {
  const want = new Set(expected);
  const have = new Set(actual);
  return {
    missing: [...want].filter((name) => !have.has(name)).sort(),
    extra: [...have].filter((name) => !want.has(name)).sort(),
  };
}

describe('README configuration', () => {
  const rows = rowsByName(configTable);

  it('readme - the configuration table names every variable the services read, and no other', () => {
    const read = SERVICES.flatMap((service) => variablesOf[service]);
    expect(difference(read, rows.keys())).toEqual({ missing: [], extra: [] });
  });

  it('readme - each row names services that read the variable ("all": every service)', () => {
    const wrong = [...rows].flatMap(([name, row]) => {
      const cell = (row.service ?? '').trim();
      const named = cell === 'all' ? SERVICES : cell.split(/,\s*/);
      const unknown = named.filter(
        (s) => !SERVICES.includes(s as Service) || !variablesOf[s as Service].includes(name),
      );
      return unknown.length > 0 || named.length === 0 ? [`${name}: "${cell}"`] : [];
    });
    expect(wrong).toEqual([]);
  });

  it("readme - each row's default is the schema's", () => {
    const wrong: string[] = [];
    for (const service of SERVICES) {
      // Every variable has a default or is optional, so an empty environment gives each default.
      const defaults: Record<string, unknown> = SCHEMAS[service].parse({});
      for (const [name, value] of Object.entries(defaults)) {
        if (value === undefined) continue;
        const cell = rows.get(name)?.default ?? '';
        if (!cell.includes(`\`${String(value)}\``))
          wrong.push(`${name} (${service}): "${cell}" lacks \`${String(value)}\``);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('readme - every variable the scripts read is in a table of the configuration section', () => {
    const documented = new Set([...rows.keys(), ...otherTables.flatMap((table) => [...rowsByName(table).keys()])]);
    const scripts = readdirSync(join(ROOT, 'scripts')).filter(
      (file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'),
    );
    const read = scripts.flatMap((file) => {
      const source = readFileSync(join(ROOT, 'scripts', file), 'utf8');
      // `process.env.X`, `env.X` (a copy of it), and start.ts's `portOf('X', …)`.
      return [...source.matchAll(/\benv\.([A-Z][A-Z0-9_]+)|portOf\('([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1] ?? m[2]!);
    });
    expect(read.length).toBeGreaterThan(10);
    expect(difference(read, documented).missing).toEqual([]);
  });
});
