// The README's llm-sim table lists exactly the simulator's environment variables, with their defaults.
import { codeNames, readmeTables } from '@parley/testing';
import { expect, it } from 'vitest';
import { DEFAULT_SIM_CONFIG, SIM_CONFIG_SOURCES } from './config.js';

it('readme - the llm-sim table names every LLM_SIM_* variable with its default, and no other', () => {
  const table = readmeTables('Configuration').find((rows) =>
    rows.some((row) => row.variable?.includes('LLM_SIM_PORT')),
  );
  const documented = Object.fromEntries(
    (table ?? []).flatMap((row) => codeNames(row.variable ?? '').map((name) => [name, row.default ?? ''])),
  );
  const expected = Object.fromEntries(
    SIM_CONFIG_SOURCES.map(({ env, key }) => [env, `\`${String(DEFAULT_SIM_CONFIG[key])}\``]),
  );
  expect(documented).toEqual(expected);
});
