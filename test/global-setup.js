/**
 * The real-daemon suites need Debian's chrony, faketime, shellcheck and iproute2. So that
 * `npm ci && npm test` passes on a fresh machine, install them when they are missing and we are
 * root with apt-get (as on the project's machines and in CI); otherwise stop with the command to run.
 * Nothing here starts a daemon.
 */
'use strict';
const { execSync, spawnSync } = require('node:child_process');

const NEEDED = [
  ['chronyd', 'chrony'],
  ['chronyc', 'chrony'],
  ['faketime', 'faketime'],
  ['shellcheck', 'shellcheck'],
  ['ip', 'iproute2'],
  ['unshare', 'util-linux'],
];

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd} || test -x /usr/sbin/${cmd}`], { stdio: 'ignore' }).status === 0;
}

function missingPackages() {
  return [...new Set(NEEDED.filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg))];
}

module.exports = async function globalSetup() {
  let missing = missingPackages();
  if (missing.length === 0) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && has('apt-get')) {
    process.stderr.write(`\n[test setup] installing ${missing.join(' ')} for the real-daemon tests (apt-get)\n`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      execSync('apt-get update -qq', { stdio: 'inherit', env });
      execSync(`apt-get install -y -qq ${missing.join(' ')}`, { stdio: ['ignore', 'ignore', 'inherit'], env });
    } catch (err) {
      process.stderr.write(`[test setup] apt-get failed: ${err.message}\n`);
    }
    missing = missingPackages();
  }
  if (missing.length > 0) {
    throw new Error(
      `the real-daemon tests need: ${missing.join(' ')}. Install them first, e.g. ` +
        `sudo apt-get install -y ${missing.join(' ')}`,
    );
  }
};
