// The README's error table is what clients branch on: it must list every error code, each under its status.
import { ErrorCodes, type ErrorCode } from '@parley/contracts';
import { codeNames, readmeTables } from '@parley/testing';
import { describe, expect, it } from 'vitest';

describe('README error codes', () => {
  it('errors - the README lists every error code under the status it is answered with', () => {
    const table = readmeTables('The HTTP API').find((rows) => rows[0]?.status !== undefined && rows[0]?.codes);
    expect(table).toBeDefined();
    const documented = new Map<string, number>();
    for (const row of table!) {
      // Codes are snake_case; the explanations beside them may name variables (`PARLEY_MAX_BODY_BYTES`).
      const codes = codeNames(row.codes!).filter((name) => /^[a-z_]+$/.test(name));
      for (const code of codes) documented.set(code, Number(row.status));
    }
    const expected = Object.entries(ErrorCodes).map(([code, { status }]) => [code as ErrorCode, status]);
    expect([...documented].sort()).toEqual(expected.sort());
  });
});
