import js from '@eslint/js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tseslint from 'typescript-eslint';

/** Packages the worker image does not install (`npm ci --omit=dev`): src/ must not import them. */
const devOnly = Object.keys(
  JSON.parse(readFileSync(path.join(import.meta.dirname, 'package.json'), 'utf8')).devDependencies,
);
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tooling/', '.venv/', '.local/', 'bench/results/', 'bench/tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // The runtime tree is what the worker image copies; the tools, tests and bench stay in the repository.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(tools|test|bench)(/|$)',
              message:
                'src/ is the runtime tree: it must not import the tools, tests or bench (see docs/ARCHITECTURE.md).',
            },
            {
              regex: `^(${devOnly.map(escape).join('|')})(/|$)`,
              message:
                'a devDependency is not installed in the worker image: src/ may import production dependencies only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // chai's property assertions (expect(x).to.be.true) are expressions by design.
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
);
