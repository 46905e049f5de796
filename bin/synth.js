#!/usr/bin/env node
// `npm run synth -- [cdk synth options]`: runs `cdk synth -q` with the options (so `-c key=value`
// and `--context key=value` reach the app), then the summary of the assembly cdk wrote (its
// -o/--output, default cdk.out). npm appends the options to the end of a script, so a plain
// `cdk synth -q && node bin/synth-summary.js` would hand them to the summary instead.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const args = process.argv.slice(2);
const cdk = require.resolve('aws-cdk/bin/cdk');
const synth = spawnSync(process.execPath, [cdk, 'synth', '-q', ...args], { stdio: 'inherit' });
if (synth.status !== 0) {
  process.exitCode = synth.status ?? 1;
} else {
  const summary = spawnSync(process.execPath, [path.join(__dirname, 'synth-summary.js'), ...args], { stdio: 'inherit' });
  process.exitCode = summary.status ?? 1;
}
