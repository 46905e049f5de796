/**
 * The docs generated from bench/results.json, refreshed after the benchmark writes it. bin/docs.ts
 * reads the benchmark's figures (it imports bench/), so the benchmark runs it as its own process
 * instead of importing it: one direction of dependency, no import loop.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

/** Runs `bin/docs.ts` (what `npm run docs` runs) and returns the files it rewrote. Throws when it fails. */
export function writeGeneratedDocs(): string[] {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bin', 'docs.ts')], { cwd: ROOT, encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`bin/docs.ts failed (${r.status ?? r.signal}): ${r.stderr.slice(0, 2000)}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('rewrote'))
    .map((l) => l.replace(/^rewrote\s+/, '').trim());
}
