import { Duration, TimeZone } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { TimeSyncGuardProps } from './time-sync-guard-props';

/** Context keys that hold a string as-is. */
const STRING_KEYS = ['metricNamespace', 'optOutTagKey', 'commandMaxConcurrency', 'commandMaxErrors', 'checkSchedule', 'remediationSchedule', 'eventSource', 'hopLimitScope'] as const;
/** Context keys that hold a number. */
const NUMBER_KEYS = ['maxOffsetSeconds', 'maxClockErrorBoundSeconds', 'commandTimeoutSeconds', 'hopLimitTarget', 'maxChangesPerRun', 'maxChangesPercent', 'remediationMaxIterations', 'notCheckedThreshold', 'launchSsmWaitSeconds'] as const;
/** Context keys that hold true/false. */
const BOOLEAN_KEYS = ['remediationEnabled', 'dryRun', 'enableMetadataEndpoint', 'fixTimeSync', 'installChrony', 'forceDomainMembers', 'stepLargeOffset', 'usePhc', 'launchCheck', 'remediateOnLaunch'] as const;
/** Keys that differ from the construct props (units or references). */
const OTHER_KEYS = ['stackName', 'timeZone', 'checkIntervalMinutes', 'remediationHeartbeatWindowMinutes', 'logRetentionDays', 'alarmEmails', 'alarmTopicArn'] as const;

/** Every context key the app reads (`-c key=value` or cdk.json `context`). */
export const CONTEXT_KEYS: readonly string[] = [...STRING_KEYS, ...NUMBER_KEYS, ...BOOLEAN_KEYS, ...OTHER_KEYS];

/** Default stack name of the app. */
export const DEFAULT_STACK_NAME = 'TimeSyncGuard';

/** A context value the app cannot use. */
export class ContextError extends Error {
  constructor(key: string, value: unknown, expected: string) {
    super(`context ${key}=${JSON.stringify(value)}: expected ${expected}`);
    this.name = 'ContextError';
  }
}

type Get = (key: string) => unknown;

function present(v: unknown): boolean {
  return v !== undefined && v !== null && !(typeof v === 'string' && v.trim() === '');
}

function toNumber(key: string, v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : NaN;
  if (!Number.isFinite(n)) throw new ContextError(key, v, 'a number');
  return n;
}

function toBoolean(key: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
  throw new ContextError(key, v, 'true or false');
}

function toStringList(key: string, v: unknown): string[] {
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.map((x: string) => x.trim()).filter((x) => x !== '');
  if (typeof v === 'string') return v.split(',').map((x) => x.trim()).filter((x) => x !== '');
  throw new ContextError(key, v, 'a comma-separated string or a list of strings');
}

const RETENTION_VALUES = new Set<number>(Object.values(RetentionDays).filter((x): x is number => typeof x === 'number'));

/**
 * Reads the app's configuration from CDK context (`-c key=value` strings or typed cdk.json values)
 * into construct props; unknown values fail synth with the key named. The props' own validation
 * (ranges, patterns, exclusivity) runs in the TimeSyncGuard constructor.
 * `alarmTopicArn` is returned apart: the stack imports it (an import needs a stack scope).
 */
export function guardPropsFromContext(get: Get): { stackName: string; alarmTopicArn?: string; props: TimeSyncGuardProps } {
  const props: Record<string, unknown> = {};
  for (const key of STRING_KEYS) {
    const v = get(key);
    if (!present(v)) continue;
    if (typeof v !== 'string') throw new ContextError(key, v, 'a string');
    props[key] = v.trim();
  }
  for (const key of NUMBER_KEYS) {
    const v = get(key);
    if (present(v)) props[key] = toNumber(key, v);
  }
  for (const key of BOOLEAN_KEYS) {
    const v = get(key);
    if (present(v)) props[key] = toBoolean(key, v);
  }
  const tz = get('timeZone');
  if (present(tz)) {
    if (typeof tz !== 'string') throw new ContextError('timeZone', tz, 'an IANA time zone name');
    props.timeZone = TimeZone.of(tz.trim());
  }
  const interval = get('checkIntervalMinutes');
  if (present(interval)) props.checkInterval = Duration.minutes(toNumber('checkIntervalMinutes', interval));
  const window = get('remediationHeartbeatWindowMinutes');
  if (present(window)) props.remediationHeartbeatWindow = Duration.minutes(toNumber('remediationHeartbeatWindowMinutes', window));
  const retention = get('logRetentionDays');
  if (present(retention)) {
    const days = toNumber('logRetentionDays', retention);
    if (!RETENTION_VALUES.has(days)) {
      throw new ContextError('logRetentionDays', retention, `one of ${[...RETENTION_VALUES].sort((a, b) => a - b).join(', ')}`);
    }
    props.logRetention = days as RetentionDays;
  }
  const emails = get('alarmEmails');
  if (present(emails)) props.alarmEmails = toStringList('alarmEmails', emails);
  const topicArn = get('alarmTopicArn');
  let alarmTopicArn: string | undefined;
  if (present(topicArn)) {
    if (typeof topicArn !== 'string' || !/^arn:[\w-]+:sns:[\w-]+:\d{12}:[\w-]{1,256}$/.test(topicArn.trim())) {
      throw new ContextError('alarmTopicArn', topicArn, 'an SNS topic ARN');
    }
    alarmTopicArn = topicArn.trim();
  }
  const stackName = get('stackName');
  if (present(stackName) && (typeof stackName !== 'string' || !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName))) {
    throw new ContextError('stackName', stackName, 'a CloudFormation stack name');
  }
  return { stackName: present(stackName) ? (stackName as string) : DEFAULT_STACK_NAME, alarmTopicArn, props: props as TimeSyncGuardProps };
}
