/**
 * Checks of a Dockerfile: base images pinned by version, the final stage runs as a non-root user and has a
 * HEALTHCHECK, production dependencies only, and the files it copies from the build context exist.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { imageProblems } from './k8s-policy.js';

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions with line continuations joined and comments dropped. */
export function instructions(text: string): Instruction[] {
  return text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/**
 * Problems of the Dockerfile `text`; `context` is the build context directory, for COPY sources.
 * @example dockerfileProblems(readFileSync('docker/Dockerfile', 'utf8'), '.')
 */
export function dockerfileProblems(text: string, context: string): string[] {
  const problems: string[] = [];
  const all = instructions(text);
  // Global ARG defaults (before the first FROM) may name the base image.
  const args = new Map<string, string>();
  const stages = new Set<string>();
  let final: Instruction[] = [];
  let seenFrom = false;
  for (const instruction of all) {
    if (instruction.keyword === 'ARG' && !seenFrom) {
      const [name = '', value = ''] = instruction.args.split('=');
      args.set(name, value);
    }
    if (instruction.keyword === 'FROM') {
      seenFrom = true;
      const parts = instruction.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      const image = parts[0]!.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, name: string) => args.get(name) ?? '');
      if (!stages.has(image)) problems.push(...imageProblems(image, `FROM ${parts[0]}`));
      if (parts[1]?.toUpperCase() === 'AS' && parts[2]) stages.add(parts[2]);
      final = [];
    }
    final.push(instruction);
    if (instruction.keyword === 'COPY' && !/--from=/.test(instruction.args)) {
      const sources = instruction.args
        .split(/\s+/)
        .filter((p) => !p.startsWith('--'))
        .slice(0, -1);
      for (const source of sources) {
        if (!existsSync(join(context, source))) problems.push(`COPY ${source}: not in the build context`);
      }
    }
  }
  const user = final
    .filter((i) => i.keyword === 'USER')
    .at(-1)
    ?.args.split(':')[0];
  if (!user || user === 'root' || user === '0') problems.push('the final stage does not switch to a non-root USER');
  if (!final.some((i) => i.keyword === 'HEALTHCHECK')) problems.push('the final stage has no HEALTHCHECK');
  const installs = all.filter((i) => i.keyword === 'RUN' && /\bnpm (ci|install)\b/.test(i.args));
  if (!installs.some((i) => /--omit=dev/.test(i.args))) problems.push('no production-only install (npm ci --omit=dev)');
  return problems;
}
