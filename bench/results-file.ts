/**
 * Additive updates of bench/results.json and bench/README.md: a measurement that runs on its own
 * (cold load, memory) merges its key and its README section without touching anything else.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const RESULTS = join(__dirname, 'results.json');
const README = join(__dirname, 'README.md');

/** Sets the given top-level keys of results.json, keeping every other key as it is. */
export function mergeResults(keys: Record<string, unknown>, path = RESULTS): void {
  let current: Record<string, unknown> = {};
  try {
    current = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    // no file yet: start one
  }
  writeFileSync(path, `${JSON.stringify({ ...current, ...keys }, null, 2)}\n`);
}

/**
 * Replaces the text between `<!-- NAME:start -->` and `<!-- NAME:end -->` in the README (with the
 * date and machine); does nothing when the markers are missing.
 */
export function replaceReadmeSection(name: string, body: string, path = README): boolean {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return false;
  }
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return false;
  const stamp = `(${new Date().toISOString().slice(0, 10)}, ${process.platform}/${process.arch}, Node ${process.version})`;
  writeFileSync(path, `${text.slice(0, a)}${start}\n${body}\n\n${stamp}\n${text.slice(b)}`);
  return true;
}
