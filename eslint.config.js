// Lint: TypeScript rules plus Nx module boundaries driven by the project tags in each project.json.
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

const sharedOnly = [
  { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'platform:universal', onlyDependOnLibsWithTags: ['platform:universal'] },
  { sourceTag: 'platform:browser', onlyDependOnLibsWithTags: ['platform:browser', 'platform:universal'] },
  { sourceTag: 'platform:node', onlyDependOnLibsWithTags: ['platform:node', 'platform:universal'] },
];

// Code that runs in a browser as well as in Node (contracts) or only in a browser (the widget) imports no
// framework: npm packages by an allow-list (a new dependency is a decision, not an accident), Node's built-in
// modules not at all (the rule below; Nx's rule sees only npm packages).
const platformPackages = [
  { sourceTag: 'platform:universal', allowedExternalImports: ['zod'] },
  { sourceTag: 'platform:browser', allowedExternalImports: [] },
];

/** The source folders of the projects with one of `tags` (from each project.json). */
function sourcesTagged(...tags) {
  const roots = ['apps', 'libs', 'tools', 'tests'].flatMap((dir) =>
    readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `${dir}/${entry.name}`),
  );
  return roots.filter((root) => {
    try {
      const project = JSON.parse(readFileSync(`${root}/project.json`, 'utf8'));
      return (project.tags ?? []).some((tag) => tags.includes(tag));
    } catch {
      return false;
    }
  });
}
const nodeBuiltins = ['node:*', ...builtinModules.filter((name) => !name.startsWith('_'))];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.nx/**', '.parley/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            ...sharedOnly,
            ...platformPackages,
            { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:responder', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:inference', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:tooling', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:widget', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:testing', onlyDependOnLibsWithTags: ['scope:shared', 'scope:testing'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportAllDeclaration', message: 'Use explicit named exports.' },
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` object with a derived type.' },
      ],
    },
  },
  {
    files: sourcesTagged('platform:universal', 'platform:browser').map((root) => `${root}/src/**/*.ts`),
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: nodeBuiltins, message: 'Browser-safe code uses no Node built-in module.' }] },
      ],
    },
  },
  {
    // The NATS core of @parley/messaging works without NestJS; its Nest adapter is the `/nest` entry point.
    files: ['libs/messaging/src/**/*.ts'],
    ignores: ['libs/messaging/src/nest/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@nestjs/*'], message: 'NestJS belongs in libs/messaging/src/nest.' }] },
      ],
    },
  },
  {
    // Application code reads configuration through @parley/config, never process.env directly.
    files: ['apps/*/src/**/*.ts', 'libs/*/src/**/*.ts'],
    // libs/testing passes PATH and HOME (only those) on to the processes it spawns.
    ignores: [
      'libs/config/src/**',
      'libs/testing/src/**',
      '**/*.spec.ts',
      '**/*.test-kit.ts',
      'apps/llm-sim/src/main.ts',
    ],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through @parley/config.' },
      ],
    },
  },
  {
    // Tests may use the shared test harness from any scope.
    files: ['**/*.spec.ts', '**/*.test-kit.ts', '**/test/**/*.ts', 'tests/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          depConstraints: [
            ...sharedOnly,
            { sourceTag: '*', onlyDependOnLibsWithTags: ['scope:shared', 'scope:testing'] },
          ],
        },
      ],
    },
  },
);
