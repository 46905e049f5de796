import { existsSync } from 'node:fs';
import { join } from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const sequencer = require('../sequencer.js') as { tableKey(file: string): string; readTable(): Record<string, number> };
const ROOT = join(__dirname, '..', '..');

describe('the longest-first sequencer (test/sequencer.js)', () => {
  it('keys every file of its durations table by a test file of this tree, so the table orders a fresh clone', () => {
    const keys = Object.keys(sequencer.readTable());
    expect(keys.length).toBeGreaterThan(50);
    expect(keys.filter((k) => !k.startsWith('test/') || !k.endsWith('.test.ts') || !existsSync(join(ROOT, k)))).toEqual([]);
  });

  it('keys a report written in another clone by the path from test/', () => {
    expect(sequencer.tableKey('/tmp/other-clone/test/guest/remediate-linux.test.ts')).toBe('test/guest/remediate-linux.test.ts');
    expect(sequencer.tableKey(join(ROOT, 'test', 'ci', 'sequencer.test.ts'))).toBe('test/ci/sequencer.test.ts');
  });
});
