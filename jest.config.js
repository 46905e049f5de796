const os = require('node:os');

/** @type {import('jest').Config} */
module.exports = {
  // Jest's default (cores - 1) is one worker on the 2-core machines this runs on, and much of the
  // suite waits on real processes (chronyd, pwsh, shellcheck) rather than the CPU: two workers a
  // core keep both cores busy while others wait. JEST_MAX_WORKERS overrides it.
  maxWorkers: Number(process.env.JEST_MAX_WORKERS) || Math.max(2, 2 * (os.availableParallelism?.() ?? os.cpus().length)),
  // Longest files first, also in a fresh clone without Jest's cached timings (test/sequencer.js).
  testSequencer: '<rootDir>/test/sequencer.js',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest'] },
  globalSetup: '<rootDir>/test/global-setup.js',
  setupFiles: ['<rootDir>/test/setup-env.js'],
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean', 'aws-sdk-client-mock-jest'],
  testTimeout: 60000,
};
