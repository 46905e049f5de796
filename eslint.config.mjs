// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', 'dist/**', 'coverage/**', '**/*.d.ts', 'jest.config.js', 'test/setup-env.js', 'test/global-setup.js', 'test/sequencer.js', 'bin/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // The two houses: infrastructure never imports the SDK, runtime never imports the CDK.
      'no-restricted-imports': 'off',
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['@aws-sdk/*', '@aws-lambda-powertools/*'] }] },
  },
  {
    files: ['lambda/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', 'cdk-nag'] }] },
  },
  {
    // The engines: orchestration against lambda/engine/ports.ts only — adapters implement the ports.
    files: ['lambda/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', 'cdk-nag'], message: 'lambda/ never imports the CDK.' },
            { group: ['@aws-sdk/*', '@smithy/*', '@aws-lambda-powertools/*'], message: 'lambda/engine talks to AWS only through lambda/engine/ports.ts.' },
            { group: ['**/aws/*', '**/aws', '**/handlers/*'], message: 'lambda/engine never imports adapters or handlers: put the interface in lambda/engine/ports.ts.' },
          ],
        },
      ],
    },
  },
  {
    // The pure core: no SDK, no adapters, no engines — only data in, data out (docs/development.md).
    files: ['lambda/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', 'cdk-nag'], message: 'lambda/ never imports the CDK.' },
            { group: ['@aws-sdk/*', '@smithy/*', '@aws-lambda-powertools/*'], message: 'lambda/core is pure: no SDK or Powertools.' },
            { group: ['**/aws/*', '**/aws', '**/engine/*', '**/engine/**', '**/handlers/*'], message: 'lambda/core never imports adapters, engines or handlers.' },
          ],
        },
      ],
    },
  },
);
