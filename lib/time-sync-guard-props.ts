import { Duration, TimeZone, Token } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { CHECK_TIMEOUT } from './constructs/guard-function';
import {
  DEFAULTS,
  type HopLimitScope,
  problemWith,
  propName,
  rows,
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
 * environment variable, or sizing the infrastructure around them.
 */
export interface TimeSyncGuardProps {
  /**
   * CloudWatch namespace of the fleet metrics (metrics carry only the dimension `service=timesync-guard`).
   * @default 'TimeSyncGuard'
   */
  readonly metricNamespace?: string;
  /**
   * Instances carrying this tag key (any value except `false`) are counted but never checked or changed;
   * IAM denies the remediation on them as well.
   * @default 'timesync-guard:opt-out'
   */
  readonly optOutTagKey?: string;
  /**
   * |offset| above this many seconds is the finding OffsetOverThreshold. Range 0.001–300.
   * @default 1
   */
  readonly maxOffsetSeconds?: number;
  /**
   * Clock error bound above this many seconds is the finding ClockErrorBoundOverThreshold. Range 0.001–300.
   * @default 1
   */
  readonly maxClockErrorBoundSeconds?: number;
  /**
   * SSM Run Command MaxConcurrency of the remediation document: a count (1–99999) or a percent (1%–100%).
   * The read-only collector always runs at 100%: it changes nothing and ends in seconds.
   * @default '50%'
   */
  readonly remediationMaxConcurrency?: string;
  /**
   * SSM Run Command MaxErrors of the remediation document: a count (0–99999) or a percent (0%–100%).
   * Past it, SSM stops the command and the engine sends no further wave: the automatic brake on a
   * bad night. The read-only collector always runs with 100%.
   * @default '10%'
   */
  readonly remediationMaxErrors?: string;
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
   * SSM Run Command delivery timeout in seconds (integer 30–2592000).
   * @default 600
   */
  readonly commandTimeoutSeconds?: number;
  /**
   * EventBridge Scheduler expression of the fleet check: `rate(…)` or a `cron(…)` that fires every
   * day at evenly spaced times. Its interval (whole minutes, at most 12 hours) sizes the alarm
   * periods and the heartbeat window (twice it).
   * @default 'rate(1 hour)'
   */
  readonly checkSchedule?: string;
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
   * EventBridge Scheduler expression of the nightly remediation.
   * @default 'cron(0 2 * * ? *)'
   */
  readonly remediationSchedule?: string;
  /**
   * false: deploy without the remediation schedule and its heartbeat alarm (the check runs; the
   * state machine is still deployed, so a run can be started by hand).
   * @default true
   */
  readonly remediationEnabled?: boolean;
  /**
   * Plan and report (audit events, summary) but change nothing.
   * @default false
   */
  readonly dryRun?: boolean;
  /**
   * IMDS PUT response hop limit the remediation raises to (never lowers). Integer 2–64.
   * @default 2
   */
  readonly hopLimitTarget?: number;
  /**
   * Which instances get the hop limit raised: `containers` (guests that run containers, except
   * Kubernetes nodes and ECS container instances: they are reported with the finding
   * `imds-hop-limit-orchestrator-node` and keep hop limit 1, as the EKS best practices ask with
   * IRSA / Pod Identity), `containers-and-orchestrators` (those nodes too) or `all`.
   * @default 'containers'
   */
  readonly hopLimitScope?: HopLimitScope;
  /**
   * Enable the metadata endpoint where it is disabled on an instance with an instance profile.
   * @default false
   */
  readonly enableMetadataEndpoint?: boolean;
  /**
   * Run the in-guest time-sync remediation document.
   * @default true
   */
  readonly fixTimeSync?: boolean;
  /**
   * Cap on instances changed per run (count, integer 0–1,000,000). The default lets one night fix a
   * 10,000-instance fleet; lower it to roll out gradually.
   * @default 10000
   */
  readonly maxChangesPerRun?: number;
  /**
   * Cap on instances changed per run (percent of the fleet, 0–100).
   * @default 100
   */
  readonly maxChangesPercent?: number;
  /**
   * Install chrony with the OS package manager on Linux instances with no time daemon.
   * @default false
   */
  readonly installChrony?: boolean;
  /**
   * Windows: also reconfigure domain members (normally left to the domain time hierarchy).
   * @default false
   */
  readonly forceDomainMembers?: boolean;
  /**
   * Step a large offset (`chronyc makestep`) after switching to Amazon Time Sync.
   * @default false
   */
  readonly stepLargeOffset?: boolean;
  /**
   * Add the PTP hardware clock refclock where the device exists.
   * @default false
   */
  readonly usePhc?: boolean;
  /**
   * Where the check found a system-wide HTTP(S) proxy whose NO_PROXY misses 169.254.169.254
   * (finding `proxy-without-no-proxy`), add `169.254.169.254,169.254.170.2,fd00:ec2::254` to
   * NO_PROXY and no_proxy in the guest: in the file that sets the proxy on Linux, in the machine
   * environment on Windows. Running services keep their old environment until they restart (on
   * Windows, until the next reboot), so this is opt-in.
   * @default false
   */
  readonly fixNoProxy?: boolean;
  /**
   * EventBridge `source` of the audit events on the default bus (must not start with `aws.`).
   * @default 'timesync-guard'
   */
  readonly eventSource?: string;
  /**
   * Remediate invocations per run after which the run fails (integer 1–1000).
   * @default 60
   */
  readonly remediationMaxIterations?: number;
  /**
   * Check every instance within minutes of its launch (EC2 `running` events → SQS → a launch-check
   * Lambda running the hourly check's engine on just those instances). See docs/launch-check.md.
   * Off by default so that an existing deployment changes only when asked.
   * @default false
   */
  readonly launchCheck?: boolean;
  /**
   * Seconds the launch check waits, from the `running` event, for the instance's SSM agent to come
   * Online (retries with backoff); after it the instance is reported as not reachable. Integer 0–3600.
   * @default 600
   */
  readonly launchSsmWaitSeconds?: number;
  /**
   * Start the remediation state machine (the nightly plan, caps and pacing) for launches the check
   * finds at risk. Off: a launch check only reports.
   * @default false
   */
  readonly remediateOnLaunch?: boolean;
  /**
   * Window of the RemediationCompleted heartbeat alarm (whole minutes, at most 1 day).
   * @default Duration.days(1)
   */
  readonly remediationHeartbeatWindow?: Duration;
  /**
   * E-mail addresses subscribed to the alarm topic (each confirms by e-mail). Excludes `alarmTopic`.
   * @default - no subscription
   */
  readonly alarmEmails?: string[];
  /**
   * An existing topic for alarms and run summaries instead of a new one. Excludes `alarmEmails`.
   * Its key policy (if encrypted) must let CloudWatch use the key.
   * @default - a new topic, TLS only, encrypted with a new customer-managed KMS key
   */
  readonly alarmTopic?: ITopic;
  /**
   * InstancesNotChecked alarms when above this count (integer ≥ 0).
   * @default 0
   */
  readonly notCheckedThreshold?: number;
  /**
   * Reserved concurrency of each of the two Lambdas (integer 1–1000), e.g. 1 to make even a manual
   * invocation wait for a running one. Without it the stack deploys on accounts still at the
   * new-account concurrency quota of 10 (where any reservation fails: unreserved concurrency may
   * not drop below 10). Overlap stays impossible without it: the nightly runs have the state
   * machine's overlap guard, and scheduled checks cannot overlap because the check interval must
   * then be at least the check timeout (15 min; validated).
   * @default - no reservation
   */
  readonly reservedConcurrency?: number;
  /**
   * Retention of the Lambda and state machine log groups (the per-instance records live there).
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
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
const SPECIAL: ReadonlySet<SettingKey> = new Set(['checkSchedule', 'remediationSchedule', 'timeZone', 'remediationHeartbeatWindowMinutes', 'logRetentionDays']);

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
