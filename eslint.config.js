// Lint: TypeScript rules plus Nx module boundaries driven by the project tags in each project.json.
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
        { selector: 'ExportAllDeclaration', message: 'Use explicit named exports (STYLE.md).' },
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` object with a derived type (STYLE.md).' },
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
