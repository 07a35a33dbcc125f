// Browser-safe code stays browser-safe: lint, not convention, keeps frameworks and Node out of contracts and
// the widget (eslint.config.js). These lint sources that are not on disk, as if they were.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: new URL('../../..', import.meta.url).pathname });

/** The rules `source` breaks when it is the file at `path`. */
async function broken(path: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: path });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('platform boundaries', () => {
  it('contracts - importing NestJS, NATS, express or a Node built-in fails lint; zod does not', async () => {
    const file = 'libs/contracts/src/probe.ts';
    for (const banned of ['@nestjs/common', '@nats-io/transport-node', 'express']) {
      expect(await broken(file, `import { x } from '${banned}';\nexport const y = x;\n`)).toEqual([
        expect.stringMatching(/^@nx\/enforce-module-boundaries: .*not allowed to import/),
      ]);
    }
    for (const builtin of ['node:crypto', 'fs']) {
      expect(await broken(file, `import { x } from '${builtin}';\nexport const y = x;\n`)).toEqual([
        expect.stringMatching(/^no-restricted-imports: .*Node built-in/),
      ]);
    }
    expect(await broken(file, `import { z } from 'zod';\nexport const y = z.string();\n`)).toEqual([]);
  }, 60_000);

  it('widget - importing any package or a Node built-in fails lint; contracts types do not', async () => {
    const file = 'apps/widget/src/probe.ts';
    expect(await broken(file, `import { z } from 'zod';\nexport const y = z;\n`)).toEqual([
      expect.stringMatching(/^@nx\/enforce-module-boundaries: /),
    ]);
    expect(await broken(file, `import { x } from 'node:path';\nexport const y = x;\n`)).toEqual([
      expect.stringMatching(/^no-restricted-imports: /),
    ]);
    const typesOnly = `import type { Frame } from '@parley/contracts';\nexport type F = Frame;\n`;
    expect(await broken(file, typesOnly)).toEqual([]);
  }, 60_000);

  it('messaging - the NATS core imports no NestJS; its /nest entry point may', async () => {
    const nest = `import { Injectable } from '@nestjs/common';\nexport const y = Injectable;\n`;
    expect(await broken('libs/messaging/src/probe.ts', nest)).toEqual([
      expect.stringMatching(/^no-restricted-imports: .*libs\/messaging\/src\/nest/),
    ]);
    expect(await broken('libs/messaging/src/nest/probe.ts', nest)).toEqual([]);
  }, 60_000);
});
