import { Duration, TimeZone } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { contextKey, DEFAULTS, fromString, problemWith, propName, rows, scheduleIntervalMinutes, type SettingRow, SettingsError, unknownProblem } from '../lambda/core/settings';
import type { TimeSyncGuardProps } from './time-sync-guard-props';

/** Context keys kept from earlier versions outside the schema: accepted, checked, and warned about by the construct. */
const LEGACY_KEYS: Readonly<Record<string, string>> = { checkIntervalMinutes: 'checkInterval' };

/** Every context key the app reads (`-c key=value` or cdk.json `context`), from the settings schema. */
export const CONTEXT_KEYS: readonly string[] = rows().flatMap((r) => {
  const key = contextKey(r.key);
  return key === undefined ? [] : [key];
});

/** Former names still accepted (with a deprecation warning from the construct). */
const FORMER_KEYS: readonly string[] = [...rows().flatMap((r) => (contextKey(r.key) === undefined ? [] : (r.formerly ?? []))), ...Object.keys(LEGACY_KEYS)];

/** Context keys the CDK itself or its CLI sets without a `:` or `@` (those are always the CDK's). */
const CDK_KEYS: ReadonlySet<string> = new Set(['cli-telemetry', 'acknowledged-issue-numbers', 'notices']);

/** Default stack name of the app. */
export const DEFAULT_STACK_NAME = DEFAULTS.stackName;

/** A context value or key the app cannot use. */
export class ContextError extends SettingsError {
  constructor(key: string, value: unknown, problem: string) {
    // The message shows the value beside the key, so "must be X, got V" shortens to "expected X".
    const p = problem.startsWith('must be ') ? `expected ${problem.slice('must be '.length).replace(/, got .*$/s, '')}` : problem;
    super(key, p.startsWith('expected ') ? `${p}, got ${JSON.stringify(value)}` : p, `context ${key}=${JSON.stringify(value)}: ${p}`);
    this.name = 'ContextError';
  }
}

type Get = (key: string) => unknown;

/**
 * Throws for the first context key the app does not read, naming the nearest known one
 * (`dryrun` → "did you mean dryRun?"). Keys with `:` or a leading `@` are the CDK's own.
 */
export function rejectUnknownContextKeys(keys: readonly string[]): void {
  const known = [...CONTEXT_KEYS, ...FORMER_KEYS];
  for (const key of keys) {
    if (key.includes(':') || key.startsWith('@') || CDK_KEYS.has(key) || known.includes(key)) continue;
    throw new SettingsError(key, unknownProblem('context key', key, CONTEXT_KEYS), `context ${key}: ${unknownProblem('context key', key, CONTEXT_KEYS)}`);
  }
}

/** A context value in the row's type: `-c` gives strings, cdk.json gives typed values. */
function typed(row: SettingRow, key: string, v: unknown): unknown {
  if (typeof v === 'string') {
    const read = fromString(row, v);
    if ('problem' in read) throw new ContextError(key, v, read.problem);
    return read.value;
  }
  if (row.type === 'string' && typeof v === 'number') return String(v);
  if (row.type === 'list' && Array.isArray(v)) return v.map((x: unknown) => (typeof x === 'string' ? x.trim() : x)).filter((x) => x !== '');
  return v;
}

function checked(row: SettingRow, key: string, raw: unknown): unknown {
  const v = typed(row, key, raw);
  const problem = problemWith(row, v);
  if (problem !== undefined) throw new ContextError(key, raw, problem);
  return v;
}

/** A boolean outside the settings schema (`organization`), read exactly as every schema boolean is. */
const BOOLEAN_ROW: SettingRow = { type: 'boolean', scope: 'stack', doc: '' };

/**
 * Reads a boolean context key: `true`/`false` from cdk.json, or the strings every boolean setting
 * accepts (true/1/yes, false/0/no, any case) from `-c key=value`; undefined when absent. One parser
 * for every boolean key, so `organization=yes` means what `dryRun=yes` means.
 */
export function contextBoolean(key: string, raw: unknown): boolean | undefined {
  return raw === undefined || raw === null ? undefined : (checked(BOOLEAN_ROW, key, raw) as boolean);
}

/**
 * Reads the app's configuration from CDK context into construct props by the settings schema:
 * unknown keys, empty values and bad values fail synth with the key named. The props' own checks
 * (schedules, exclusivity) run in the TimeSyncGuard constructor. `alarmTopicArn` and `stackName`
 * are returned apart: the stack imports the topic (an import needs a stack scope).
 *
 * @param keys every context key present, for the unknown-key check (`app.node.getAllContext()`)
 */
export function guardPropsFromContext(get: Get, keys: readonly string[] = []): { stackName: string; alarmTopicArn?: string; props: TimeSyncGuardProps } {
  rejectUnknownContextKeys(keys);
  const props: Record<string, unknown> = {};
  let stackName: string = DEFAULT_STACK_NAME;
  let alarmTopicArn: string | undefined;
  for (const row of rows()) {
    const key = contextKey(row.key);
    if (key === undefined) continue;
    for (const name of [key, ...(row.formerly ?? [])]) {
      const raw = get(name);
      if (raw === undefined || raw === null) continue;
      const v = checked(row, name, raw);
      // A former key keeps its former prop name, so the construct warns about it.
      const prop = name === key ? propName(row.key) : name;
      switch (row.key) {
        case 'stackName': stackName = v as string; break;
        case 'alarmTopicArn': alarmTopicArn = v as string; break;
        case 'timeZone': props.timeZone = TimeZone.of(v as string); break;
        case 'remediationHeartbeatWindowMinutes': props.remediationHeartbeatWindow = Duration.minutes(v as number); break;
        // The schema row holds the values CloudWatch Logs accepts (checked above).
        case 'logRetentionDays': props.logRetention = v as RetentionDays; break;
        default: props[prop!] = v;
      }
    }
  }
  for (const [key, prop] of Object.entries(LEGACY_KEYS)) {
    const raw = get(key);
    if (raw === undefined || raw === null) continue;
    const minutes = checked({ type: 'number', scope: 'stack', doc: '', min: 1, max: 720, integer: true }, key, raw) as number;
    // Judged here too (the construct judges its prop), so the message names the key the user typed.
    const schedule = typeof props.checkSchedule === 'string' ? props.checkSchedule : DEFAULTS.checkSchedule;
    const derived = scheduleIntervalMinutes(schedule);
    if ('minutes' in derived && derived.minutes !== minutes) {
      throw new ContextError(key, raw, `contradicts checkSchedule ${schedule} (every ${derived.minutes} minutes); remove ${key}: the interval is derived from the schedule`);
    }
    props[prop] = Duration.minutes(minutes);
  }
  return { stackName, alarmTopicArn, props: props as TimeSyncGuardProps };
}
