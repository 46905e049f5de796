import { Duration, TimeZone, Token } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { CHECK_TIMEOUT } from './constructs/function-timeouts';
import {
  DEFAULTS,
  problemWith,
  propName,
  rows,
  type SchemaProps,
  type SettingKey,
  SettingsError,
  scheduleIntervalMinutes,
  scheduleProblem,
} from '../lambda/core/settings';

/** Default check schedule: hourly. */
export const DEFAULT_CHECK_SCHEDULE = DEFAULTS.checkSchedule;
/** Default remediation schedule: 02:00 every day, in {@link TimeSyncGuardProps.timeZone}. */
export const DEFAULT_REMEDIATION_SCHEDULE = DEFAULTS.remediationSchedule;
/** Default cap on remediate invocations per run: 60 × 15 min = 15 h, inside the 23 h run timeout. */
export const DEFAULT_REMEDIATION_MAX_ITERATIONS = DEFAULTS.remediationMaxIterations;

/**
 * Configuration of {@link TimeSyncGuard}. Every field is a row of the settings schema
 * (`lambda/core/settings/schema.ts`): validated by that row, passed to the Lambdas as its
 * environment variable, or sizing the infrastructure around them. The plain-typed props are
 * {@link SchemaProps}, derived from the rows (their TSDoc is on the rows); the ones below carry a
 * CDK type or a former name.
 */
export interface TimeSyncGuardProps extends SchemaProps {
  /**
   * @deprecated use `remediationMaxConcurrency` (it only ever governed the remediation document).
   * @default - `remediationMaxConcurrency`
   */
  readonly commandMaxConcurrency?: string;
  /**
   * @deprecated use `remediationMaxErrors` (it only ever governed the remediation document).
   * @default - `remediationMaxErrors`
   */
  readonly commandMaxErrors?: string;
  /**
   * @deprecated the interval is derived from `checkSchedule`; a value that differs from it is rejected.
   * @default - derived from `checkSchedule`
   */
  readonly checkInterval?: Duration;
  /**
   * Time zone of both schedules (an IANA name), e.g. for a local maintenance window.
   * @default TimeZone.ETC_UTC
   */
  readonly timeZone?: TimeZone;
  /**
   * Window of the RemediationCompleted heartbeat alarm (whole minutes, at most 1 day).
   * @default Duration.days(1)
   */
  readonly remediationHeartbeatWindow?: Duration;
  /**
   * An existing topic for alarms and run summaries instead of a new one. Excludes `alarmEmails`.
   * Its key policy (if encrypted) must let CloudWatch use the key.
   * @default - a new topic, TLS only, encrypted with a new customer-managed KMS key
   */
  readonly alarmTopic?: ITopic;
  /**
   * Retention of the Lambda and state machine log groups (the per-instance records live there).
   * A year or more passes Control Tower's CT.CLOUDWATCH.PR.2 (docs/control-tower.md).
   * @default RetentionDays.ONE_YEAR
   */
  readonly logRetention?: RetentionDays;
  /**
   * CloudTrail's record of IMDSv1-delivered role credentials (docs/imdsv2.md#cloudtrails-view): a
   * CloudTrail Lake event data store or a trail's CloudWatch Logs group, queried once a day for the
   * last 14 days; an instance with any IMDSv1 delivery is never `ready` for IMDSv2. The context key
   * `cloudTrail` takes the event data store ARN or `log-group:<name>`. Needs `imdsv2` report or enforce.
   * @default - not queried
   */
  readonly cloudTrail?: CloudTrailSourceProps | string;
  /**
   * A VPC to run every function of the guard in (docs/vpc.md lists the endpoints it needs without
   * NAT). Excludes `vpcSubnetIds` and `vpcSecurityGroupIds`.
   * @default - the functions run outside any VPC (unless `vpcSubnetIds` is given)
   */
  readonly vpc?: IVpc;
  /**
   * The subnets of `vpc` the functions run in.
   * @default - the VPC's private subnets (CDK's default selection)
   */
  readonly vpcSubnets?: SubnetSelection;
  /**
   * Security groups of the functions in `vpc`.
   * @default - one new security group that allows outbound HTTPS (443) only
   */
  readonly securityGroups?: ISecurityGroup[];
}

/** A props value the constructor rejects; `setting` names the prop. */
export class TimeSyncGuardPropsError extends SettingsError {
  constructor(setting: string, problem: string, message = `${setting} ${problem}`) {
    super(setting, problem, `TimeSyncGuard: ${message}`);
    this.name = 'TimeSyncGuardPropsError';
  }
}

/** Props renamed since they were introduced: old name → new name. Accepted with a warning. */
export const RENAMED_PROPS: Readonly<Record<string, string>> = Object.fromEntries(
  rows().flatMap((r) => (r.formerly ?? []).map((old) => [old, propName(r.key) ?? r.key])),
);

/** Props given under a former name, as `old → new` pairs (the construct warns for each). */
export function deprecatedProps(props: TimeSyncGuardProps): { readonly old: string; readonly now: string }[] {
  const given = props as Record<string, unknown>;
  const out = Object.entries(RENAMED_PROPS).filter(([old]) => given[old] !== undefined).map(([old, now]) => ({ old, now }));
  if (props.checkInterval !== undefined) out.push({ old: 'checkInterval', now: 'checkSchedule (the interval is derived from it)' });
  return out;
}

/** The props with former names moved to the current ones; both at once is an error. */
export function currentProps(props: TimeSyncGuardProps): TimeSyncGuardProps {
  const out: Record<string, unknown> = { ...props };
  for (const [old, now] of Object.entries(RENAMED_PROPS)) {
    if (out[old] === undefined) continue;
    if (out[now] !== undefined) throw new TimeSyncGuardPropsError(old, `is the former name of ${now}: give only ${now}`);
    out[now] = out[old];
    delete out[old];
  }
  return out as TimeSyncGuardProps;
}

const unresolved = (v: unknown): boolean => Token.isUnresolved(v);

function wholeMinutes(name: string, d: Duration | undefined, max: Duration): void {
  if (d === undefined || d.isUnresolved()) return;
  const s = d.toSeconds();
  if (s < 60 || s % 60 !== 0 || s > max.toSeconds()) {
    throw new TimeSyncGuardPropsError(name, `must be whole minutes between 1 minute and ${max.toHumanString()}, got ${d.toHumanString()}`);
  }
}

/** The interval of a `rate(…)` expression; undefined for cron. */
export function rateInterval(expression: string): Duration | undefined {
  if (!expression.startsWith('rate(') || scheduleProblem(expression) !== undefined) return undefined;
  const r = scheduleIntervalMinutes(expression);
  return 'minutes' in r ? Duration.minutes(r.minutes) : undefined;
}

/** Maximum check interval: the heartbeat window is twice it, and an alarm window cannot exceed a day. */
export const MAX_CHECK_INTERVAL = Duration.hours(12);

/** Props whose value is not the row's plain type: validated below by their own rule. */
const SPECIAL: ReadonlySet<SettingKey> = new Set(['checkSchedule', 'remediationSchedule', 'timeZone', 'remediationHeartbeatWindowMinutes', 'logRetentionDays', 'cloudTrail']);

/** Where the trail is queried (docs/imdsv2.md#cloudtrails-view): exactly one of the two. */
export interface CloudTrailSourceProps {
  /**
   * ARN of a CloudTrail Lake event data store holding this account's management events.
   * @default - not CloudTrail Lake
   */
  readonly eventDataStoreArn?: string;
  /**
   * Name of the CloudWatch Logs group a trail delivers to (queried with Logs Insights).
   * @default - not a log group
   */
  readonly logGroupName?: string;
}

/**
 * The `cloudTrail` setting's value (`off`, an event data store ARN, `log-group:<name>`) from the
 * prop (object) or the context (that string); throws naming the prop when it is not exactly one
 * valid source.
 */
export function cloudTrailSetting(v: CloudTrailSourceProps | string | undefined): string {
  if (v === undefined) return 'off';
  const row = rows().find((r) => r.key === 'cloudTrail')!;
  let value: string;
  if (typeof v === 'string') value = v;
  else {
    const given = [v.eventDataStoreArn, v.logGroupName].filter((x) => x !== undefined);
    if (given.length !== 1) throw new TimeSyncGuardPropsError('cloudTrail', 'needs exactly one of eventDataStoreArn and logGroupName', 'cloudTrail: give exactly one of eventDataStoreArn (CloudTrail Lake) and logGroupName (a trail\'s log group)');
    value = v.eventDataStoreArn ?? `log-group:${v.logGroupName}`;
  }
  if (unresolved(value)) return value;
  const problem = problemWith(row, value);
  if (problem !== undefined) throw new TimeSyncGuardPropsError('cloudTrail', problem);
  return value;
}

/**
 * Validates props (skipping CDK tokens) by the settings schema and returns the check interval the
 * alarms use, derived from the check schedule. Throws {@link TimeSyncGuardPropsError} naming the prop.
 */
export function validateTimeSyncGuardProps(given: TimeSyncGuardProps): Duration {
  const props = currentProps(given);
  const values = props as Record<string, unknown>;
  for (const row of rows()) {
    const prop = propName(row.key);
    if (prop === undefined || SPECIAL.has(row.key)) continue;
    const v = values[prop];
    if (v === undefined || unresolved(v) || (Array.isArray(v) && v.some(unresolved))) continue;
    const problem = problemWith(row, v);
    if (problem !== undefined) throw new TimeSyncGuardPropsError(prop, problem);
  }
  if (cloudTrailSetting(props.cloudTrail) !== 'off' && props.imdsv2 === 'off') {
    throw new TimeSyncGuardPropsError('cloudTrail', 'needs imdsv2 report or enforce (the CloudTrail evidence feeds the IMDSv2 readiness)');
  }
  if (props.alarmEmails !== undefined && props.alarmTopic !== undefined) {
    throw new TimeSyncGuardPropsError('alarmEmails, alarmTopic', 'are mutually exclusive', 'alarmEmails and alarmTopic are mutually exclusive: subscribe the addresses to your own topic, or let the construct create one');
  }
  if (props.timeZone !== undefined && !unresolved(props.timeZone.timezoneName)) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: props.timeZone.timezoneName });
    } catch {
      throw new TimeSyncGuardPropsError('timeZone', `must be an IANA time zone name, got ${JSON.stringify(props.timeZone.timezoneName)}`);
    }
  }
  for (const name of ['checkSchedule', 'remediationSchedule'] as const) {
    const v = props[name];
    if (v === undefined || unresolved(v)) continue;
    const problem = typeof v === 'string' ? scheduleProblem(v) : 'expected a string';
    if (problem !== undefined) throw new TimeSyncGuardPropsError(name, `must be a valid schedule expression: ${problem}, got ${JSON.stringify(v)}`);
  }
  wholeMinutes('remediationHeartbeatWindow', props.remediationHeartbeatWindow, Duration.days(1));
  wholeMinutes('checkInterval', props.checkInterval, MAX_CHECK_INTERVAL);

  const schedule = props.checkSchedule ?? DEFAULT_CHECK_SCHEDULE;
  if (unresolved(schedule)) {
    if (props.checkInterval === undefined) throw new TimeSyncGuardPropsError('checkSchedule', 'is a token: give checkInterval as well (the alarms need the interval at synth time)');
    return props.checkInterval;
  }
  const derived = scheduleIntervalMinutes(schedule);
  if ('problem' in derived) throw new TimeSyncGuardPropsError('checkSchedule', derived.problem);
  const interval = Duration.minutes(derived.minutes);
  wholeMinutes(`checkSchedule (its interval, ${interval.toHumanString()})`, interval, MAX_CHECK_INTERVAL);
  if (props.checkInterval !== undefined && !props.checkInterval.isUnresolved() && props.checkInterval.toMinutes() !== derived.minutes) {
    throw new TimeSyncGuardPropsError('checkInterval', `contradicts checkSchedule: ${props.checkInterval.toHumanString()} given, the schedule runs every ${interval.toHumanString()} (remove checkInterval; it is derived)`);
  }
  if (props.reservedConcurrency === undefined && interval.toSeconds() < MIN_UNRESERVED_CHECK_INTERVAL.toSeconds()) {
    throw new TimeSyncGuardPropsError(
      'checkSchedule',
      `runs every ${interval.toHumanString()}, less than the check timeout (${MIN_UNRESERVED_CHECK_INTERVAL.toHumanString()}), so two scheduled checks could overlap: set reservedConcurrency (e.g. 1) or a schedule of at least ${MIN_UNRESERVED_CHECK_INTERVAL.toHumanString()}`,
    );
  }
  return interval;
}

/** Without reserved concurrency a scheduled check must not start before the previous one timed out. */
export const MIN_UNRESERVED_CHECK_INTERVAL = CHECK_TIMEOUT;
