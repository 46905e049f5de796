import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { isFirstParty, trimSourceMap, trimSourceMapFile, type RawSourceMap } from '../../bin/trim-source-map';
import { FUNCTION_BUNDLING, FUNCTION_NODE_OPTIONS, TRIM_SOURCE_MAP_SCRIPT } from '../../lib/function-bundling';

const map = (over: Partial<RawSourceMap>): RawSourceMap => ({ version: 3, sources: [], names: [], mappings: '', ...over });

describe('trimSourceMap', () => {
  it('keeps the mappings into our own sources, renumbered, and ends each dropped stretch with a column-only segment', () => {
    // Line 1: col 0 → ours.ts 0:0, col 5 → node_modules/x.js 0:0 (name 0), col 9 → ours.ts 1:0 (name 1).
    // Segments: AAAA = [0,0,0,0]; KCAAA = [5,1,0,0,0]; IDCAC = [4,-1,1,0,1].
    const trimmed = trimSourceMap(map({ sources: ['../../lambda/ours.ts', '../../node_modules/x.js'], names: ['sdkName', 'ourName'], mappings: 'AAAA,KCAAA,IDCAC' }));
    expect(trimmed.sources).toEqual(['../../lambda/ours.ts']);
    expect(trimmed.names).toEqual(['ourName']);
    // col 0 → 0:0:0; col 5 → unmapped; col 9 → source 0, line 1, col 0, name 0.
    expect(trimmed.mappings).toBe('AAAA,K,IACAA');
  });

  it('drops sourcesContent and keeps the other fields', () => {
    const trimmed = trimSourceMap(map({ sources: ['a.ts'], sourcesContent: ['x'], mappings: 'AAAA', file: 'index.js' }));
    expect(trimmed).toEqual({ version: 3, file: 'index.js', sources: ['a.ts'], names: [], mappings: 'AAAA' });
  });

  it.each([
    ['not a map', null],
    ['version 2', { version: 2, sources: [], mappings: '' }],
    ['a bad VLQ digit', { version: 3, sources: ['a.ts'], mappings: 'AA!A' }],
    ['an unterminated VLQ number', { version: 3, sources: ['a.ts'], mappings: 'AAAg' }],
    ['a segment of three fields', { version: 3, sources: ['a.ts'], mappings: 'AAA' }],
  ])('refuses %s rather than write a wrong map', (_what, bad) => {
    expect(() => trimSourceMap(bad as unknown as RawSourceMap)).toThrow();
  });

  it('tells our sources from dependencies', () => {
    expect(isFirstParty('../../lambda/engine/check.ts')).toBe(true);
    expect(isFirstParty('../../node_modules/@aws-sdk/client-ssm/dist-es/index.js')).toBe(false);
    expect(isFirstParty('node_modules\\x.js')).toBe(false);
  });
});

describe('a bundle built as the guard functions are, then trimmed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsg-trim-map-'));
  const bundle = join(dir, 'index.js');
  let sizes: { before: number; after: number };
  beforeAll(async () => {
    await build({ ...FUNCTION_BUNDLING, mainFields: [...FUNCTION_BUNDLING.mainFields], entryPoints: [join(__dirname, '..', 'fixtures', 'trim-source-map', 'entry.ts')], bundle: true, outfile: bundle, logLevel: 'silent' });
    // The construct's afterBundling hook runs the script as a command: so does this test.
    const before = statSync(`${bundle}.map`).size;
    const r = spawnSync(process.execPath, [TRIM_SOURCE_MAP_SCRIPT, `${bundle}.map`], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    sizes = { before, after: statSync(`${bundle}.map`).size };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps only our sources, a small part of the map', () => {
    const trimmed = JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as RawSourceMap;
    expect(trimmed.sources.length).toBeGreaterThan(0);
    expect(trimmed.sources.every((s) => !s.includes('node_modules'))).toBe(true);
    expect(sizes.after).toBeLessThan(sizes.before / 10);
  });

  it('still gives a readable stack trace of our own code under the deployed NODE_OPTIONS', () => {
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(bundle)}).boom()`], { env: { ...process.env, NODE_OPTIONS: FUNCTION_NODE_OPTIONS }, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('thrown from first-party code');
    expect(r.stderr).toMatch(/fixtures\/trim-source-map\/entry\.ts:8/);
  });

  it('is idempotent: trimming a trimmed map changes nothing', () => {
    const once = readFileSync(`${bundle}.map`, 'utf8');
    trimSourceMapFile(`${bundle}.map`);
    expect(readFileSync(`${bundle}.map`, 'utf8')).toBe(once);
  });
});
