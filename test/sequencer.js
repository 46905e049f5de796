/**
 * Jest runs the longest test files first so that no long file starts last and holds the run open
 * while the other workers sit idle. Jest orders by the durations it cached on earlier runs, and
 * without them (a fresh clone, as in CI) by file size, which puts the short files that wait on pwsh,
 * chronyd or a spawned synth near the end. Here a file's duration comes from Jest's cache when it
 * has one, else from test/durations.json (seconds each file took in a measured full run; only the
 * order matters); a file in neither (a new one) runs first, as Jest runs files it has no time for.
 *
 * Refresh the table from a JSON report: `npx jest --json --outputFile=r.json` then
 * `node test/sequencer.js r.json`.
 */
'use strict';
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const ROOT = join(__dirname, '..');
const TABLE = join(__dirname, 'durations.json');

function readTable() {
  try {
    return JSON.parse(readFileSync(TABLE, 'utf8'));
  } catch {
    return {};
  }
}

/**
 * A test file's key in the table: its path from the repository root. A report written in another
 * clone names files under that clone, so the key is the part from a `test/` folder on that names a
 * file of this tree (a table keyed `../other-clone/test/…` would match nothing and order nothing).
 */
function tableKey(file) {
  const own = relative(ROOT, file);
  if (!own.startsWith('..')) return own;
  const parts = file.split(/[\\/]/);
  for (let i = parts.length - 2; i >= 0; i--) {
    if (parts[i] !== 'test') continue;
    const key = parts.slice(i).join('/');
    if (existsSync(join(ROOT, key))) return key;
  }
  return own;
}

if (require.main === module) {
  const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const rows = report.testResults
    .map((t) => [tableKey(t.name), Math.max(1, Math.round((t.endTime - t.startTime) / 1000))])
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  writeFileSync(TABLE, `${JSON.stringify(Object.fromEntries(rows), null, 1)}\n`);
  process.stdout.write(`${TABLE}: ${rows.length} files\n`);
} else {
  const Sequencer = require('@jest/test-sequencer').default;
  const table = readTable();
  module.exports = class LongestFirst extends Sequencer {
    time(test) {
      const cached = super.time(test);
      if (cached !== undefined) return cached;
      const s = table[relative(ROOT, test.path)];
      return s === undefined ? undefined : s * 1000;
    }
  };
  module.exports.tableKey = tableKey;
  module.exports.readTable = readTable;
}
