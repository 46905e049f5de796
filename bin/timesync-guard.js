#!/usr/bin/env node
// Thin shim: the CLI is TypeScript, run through tsx so the same engine code serves CLI, Lambda and benchmark.
'use strict';
// Before the SDK loads: no 9-line notice about future SDK releases while the installed one supports this Node.
require('./node-support').quietSdkNodeNotice();
require('tsx/cjs');
require('./cli.ts').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`timesync-guard: ${err && err.message ? err.message : err}\n`); process.exitCode = 2; },
);
