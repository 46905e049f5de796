#!/usr/bin/env node
// Thin shim: the CLI is TypeScript, run through tsx so the same engine code serves CLI, Lambda and benchmark.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
// The npm package is the construct library (docs/library.md): it ships neither the CLI's sources nor tsx.
if (!existsSync(join(__dirname, 'cli.ts'))) {
  process.stderr.write('timesync-guard: the CLI runs from a clone of the repository (npm ci, then npx timesync-guard); the npm package is the construct library only (docs/library.md)\n');
  process.exit(2);
}
// Before the SDK loads: no 9-line notice about future SDK releases while the installed one supports this Node.
require('./node-support').quietSdkNodeNotice();
require('tsx/cjs');
require('./cli.ts').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`timesync-guard: ${err && err.message ? err.message : err}\n`); process.exitCode = 2; },
);
