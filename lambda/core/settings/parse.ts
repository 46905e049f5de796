/**
 * Reading and judging setting values by the schema's rows: the one implementation behind the
 * Lambda/CLI parser (environment strings), the CDK context reader (strings or typed cdk.json
 * values) and the construct's prop validation (typed values). Pure: throws only SettingsError.
 */
import {
  type CheckSettings,
  OTHER_TSG_VARIABLES,
  rows,
  reaches,
  type SettingKey,
  type SettingRow,
  type LaunchSettings,
  type Settings,
  SETTINGS,
} from './schema';

/** A setting the code cannot use: `setting` names it (variable, context key or prop), `problem` says why. */
export class SettingsError extends Error {
  constructor(
    public readonly setting: string,
    public readonly problem: string,
    message = `${setting}: ${problem}`,
  ) {
    super(message);
    this.name = 'SettingsError';
  }
}

/** What a valid value of the row looks like ("an integer in [2, 64]"). */
export function expected(row: SettingRow, quote = false): string {
  switch (row.type) {
    case 'number': return row.oneOf ? `one of ${row.oneOf.join(', ')}` : `${row.integer ? 'an integer' : 'a number'} in [${row.min}, ${row.max}]`;
    case 'boolean': return 'true or false';
    case 'enum': return row.values.map((v) => (quote ? `'${v}'` : v)).join(' or ');
    case 'list': return row.expected;
    case 'string': return row.expected ?? 'a non-empty string';
  }
}

/**
 * Judges a typed value: undefined when valid, else the problem as a phrase that follows the
 * setting's name ("must be an integer in [2, 64], got 1").
 */
export function problemWith(row: SettingRow, value: unknown): string | undefined {
  const got = `got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`;
  const mustBe = `must be ${expected(row, true)}, ${got}`;
  switch (row.type) {
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < row.min || value > row.max || (row.integer && !Number.isInteger(value))) return mustBe;
      return row.oneOf && !row.oneOf.includes(value) ? mustBe : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : mustBe;
    case 'enum':
      return typeof value === 'string' && (row.values as readonly string[]).includes(value) ? undefined : mustBe;
    case 'list': {
      if (!Array.isArray(value)) return mustBe;
      const bad = value.find((x) => typeof x !== 'string' || !row.pattern.test(x));
      return bad === undefined ? undefined : `must be ${row.expected}, got ${JSON.stringify(bad)}`;
    }
    case 'string':
      if (typeof value !== 'string' || value === '' || (row.pattern && !row.pattern.test(value))) return mustBe;
      return row.check?.(value);
  }
}

const TRUE = new Set(['true', '1', 'yes']);
const FALSE = new Set(['false', '0', 'no']);

/**
 * The one reading of a boolean string (environment variable, `-c key=value`): true/1/yes and
 * false/0/no in any case; undefined for anything else.
 */
export function booleanOf(raw: string): boolean | undefined {
  const b = raw.trim().toLowerCase();
  return TRUE.has(b) ? true : FALSE.has(b) ? false : undefined;
}

/**
 * Converts a string (an environment variable, a `-c key=value`) into the row's type. An empty
 * value is an error, never the default: a blank that silently meant "default" hid typos.
 */
export function fromString(row: SettingRow, raw: string): { value: unknown } | { problem: string } {
  const v = raw.trim();
  if (v === '') return { problem: 'is empty (remove it to use the default)' };
  switch (row.type) {
    case 'number': {
      const n = Number(v);
      return Number.isFinite(n) ? { value: n } : { problem: `expected ${expected(row)}` };
    }
    case 'boolean': {
      const b = booleanOf(v);
      return b === undefined ? { problem: `expected ${expected(row)}` } : { value: b };
    }
    case 'list': return { value: v.split(',').map((x) => x.trim()).filter((x) => x !== '') };
    default: return { value: v };
  }
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

const fold = (s: string): string => s.toLowerCase().replace(/[-_.\s]/g, '');

/**
 * The known name closest to a mistyped one: a case-, dash- or underscore-only difference first
 * (`dry-run` → `dryRun`), else the smallest edit distance within a third of the name's length.
 */
export function nearest(name: string, known: readonly string[]): string | undefined {
  const exact = known.find((k) => fold(k) === fold(name));
  if (exact !== undefined) return exact;
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = distance(fold(name), fold(k));
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

/** "unknown …; did you mean X?" */
export function unknownProblem(what: string, name: string, known: readonly string[]): string {
  const guess = nearest(name, known);
  return `unknown ${what}${guess ? `; did you mean ${guess}?` : ''}`;
}

type Env = Readonly<Record<string, string | undefined>>;

const KNOWN_VARIABLES: readonly string[] = [...rows().flatMap((r) => (r.env ? [r.env] : [])), ...OTHER_TSG_VARIABLES];

/** Throws for the first `TSG_*` variable no code reads (a typo would otherwise be ignored silently). */
export function rejectUnknownVariables(env: Env): void {
  for (const name of Object.keys(env)) {
    if (name.startsWith('TSG_') && env[name] !== undefined && !KNOWN_VARIABLES.includes(name)) {
      throw new SettingsError(name, unknownProblem('variable', name, KNOWN_VARIABLES));
    }
  }
}

/** A variable's message shows the raw value beside the name, so "must be …, got …" shortens to "expected …". */
function asVariableProblem(row: SettingRow, problem: string | undefined): string | undefined {
  return problem?.startsWith('must be ') ? `expected ${expected(row)}` : problem;
}

function parseFor(fn: 'check' | 'remediation' | 'launch', env: Env): Record<string, unknown> {
  rejectUnknownVariables(env);
  const out: Record<string, unknown> = {};
  for (const row of rows()) {
    if (!reaches(row, fn)) continue;
    const name = row.env!;
    const raw = env[name];
    if (raw === undefined) {
      if ('default' in row && row.default !== undefined) out[row.key] = row.default;
      continue;
    }
    const read = fromString(row, raw);
    const problem = 'problem' in read ? read.problem : asVariableProblem(row, problemWith(row, read.value));
    if (problem !== undefined) throw new SettingsError(name, problem, `${name}=${JSON.stringify(raw)}: ${problem}`);
    out[row.key] = (read as { value: unknown }).value;
  }
  return out;
}

/** Parses and validates the check's settings once; a bad or unknown variable fails the cold start naming it. */
export function parseCheckSettings(env: Env = process.env): CheckSettings {
  return parseFor('check', env) as unknown as CheckSettings;
}

/** Parses and validates every setting (the remediate function's: it re-checks before it fixes). */
export function parseSettings(env: Env = process.env): Settings {
  return parseFor('remediation', env) as unknown as Settings;
}

/** Parses the launch-check function's settings (the check's and the launch rows). */
export function parseLaunchSettings(env: Env = process.env): LaunchSettings {
  return parseFor('launch', env) as unknown as LaunchSettings;
}

/** The row of a key (typed access for callers outside this folder). */
export function row(key: SettingKey): SettingRow {
  return SETTINGS[key];
}
