import { Duration, TimeZone, Token } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { HopLimitScope } from '../lambda/core/settings';

/** Default check schedule: hourly. */
export const DEFAULT_CHECK_SCHEDULE = 'rate(1 hour)';
/** Default remediation schedule: 02:00 every day, in {@link TimeSyncGuardProps.timeZone}. */
export const DEFAULT_REMEDIATION_SCHEDULE = 'cron(0 2 * * ? *)';
/** Default cap on remediate invocations per run: 60 × 15 min = 15 h, inside the 23 h run timeout. */
export const DEFAULT_REMEDIATION_MAX_ITERATIONS = 60;

/**
 * Configuration of {@link TimeSyncGuard}. Every field mirrors a setting of `lambda/core/settings.ts`
 * (passed to the Lambdas as environment variables) or sizes the infrastructure around them.
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
  readonly commandMaxConcurrency?: string;
  /**
   * SSM Run Command MaxErrors of the remediation document: a count (0–99999) or a percent (0%–100%).
   * Past it, SSM stops the command and the engine sends no further wave: the automatic brake on a
   * bad night. The read-only collector always runs with 100%.
   * @default '10%'
   */
  readonly commandMaxErrors?: string;
  /**
   * SSM Run Command delivery timeout in seconds (integer 30–2592000).
   * @default 600
   */
  readonly commandTimeoutSeconds?: number;
  /**
   * EventBridge Scheduler expression of the fleet check: `rate(…)` or `cron(…)`.
   * @default 'rate(1 hour)'
   */
  readonly checkSchedule?: string;
  /**
   * Time between two checks; sizes the alarm periods (and the heartbeat window, twice it).
   * Required when `checkSchedule` is a `cron(…)` expression. Whole minutes, at most 12 hours.
   * @default - derived from the `rate(…)` of `checkSchedule`
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
   * Which instances get the hop limit raised: those whose guest runs containers, or all.
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
   * Retention of the Lambda and state machine log groups (the per-instance records live there).
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
}

/** A props value the constructor rejects. */
export class TimeSyncGuardPropsError extends Error {
  constructor(message: string) {
    super(`TimeSyncGuard: ${message}`);
    this.name = 'TimeSyncGuardPropsError';
  }
}

// Same grammar as parseSettings (lambda/core/settings.ts) so a deploy never ships a value the Lambda rejects.
const CONCURRENCY = /^([1-9]\d{0,4}|([1-9]\d?|100)%)$/;
const ERRORS = /^(\d{1,5}|(\d{1,2}|100)%)$/;
const EMAIL = /^[^\s@,;]+@[^\s@,;]+\.[^\s@,;]+$/;
const TAG_KEY = /^[\p{L}\p{N}_.:/=+\-@]{1,128}$/u;
const NAMESPACE = /^[A-Za-z0-9._\-/#]{1,255}$/;
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\(\s*\S+(\s+\S+){5}\s*\)$/;

const unresolved = (v: unknown): boolean => Token.isUnresolved(v);

function range(name: string, v: number | undefined, min: number, max: number, integer: boolean): void {
  if (v === undefined || unresolved(v)) return;
  if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new TimeSyncGuardPropsError(`${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${v}`);
  }
}

function match(name: string, v: string | undefined, re: RegExp, what: string): void {
  if (v === undefined || unresolved(v)) return;
  if (!re.test(v)) throw new TimeSyncGuardPropsError(`${name} must be ${what}, got ${JSON.stringify(v)}`);
}

function wholeMinutes(name: string, d: Duration | undefined, max: Duration): void {
  if (d === undefined || d.isUnresolved()) return;
  const s = d.toSeconds();
  if (s < 60 || s % 60 !== 0 || s > max.toSeconds()) {
    throw new TimeSyncGuardPropsError(`${name} must be whole minutes between 1 minute and ${max.toHumanString()}, got ${d.toHumanString()}`);
  }
}

/** The interval of a `rate(…)` expression; undefined for cron. */
export function rateInterval(expression: string): Duration | undefined {
  const m = RATE.exec(expression);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2].startsWith('minute')) return Duration.minutes(n);
  if (m[2].startsWith('hour')) return Duration.hours(n);
  return Duration.days(n);
}

function scheduleExpression(name: string, v: string | undefined): void {
  if (v === undefined || unresolved(v)) return;
  const rate = RATE.exec(v);
  if (rate && Number(rate[1]) >= 1) return;
  if (CRON.test(v)) return;
  throw new TimeSyncGuardPropsError(`${name} must be 'rate(N minutes|hours|days)' with N ≥ 1 or 'cron(m h dom mon dow year)', got ${JSON.stringify(v)}`);
}

/** Maximum check interval: the heartbeat window is twice it, and an alarm window cannot exceed a day. */
export const MAX_CHECK_INTERVAL = Duration.hours(12);

/**
 * Validates props (skipping CDK tokens) and returns the check interval the alarms use.
 * Throws {@link TimeSyncGuardPropsError} naming the offending prop(s).
 */
export function validateTimeSyncGuardProps(props: TimeSyncGuardProps): Duration {
  match('metricNamespace', props.metricNamespace, NAMESPACE, 'a CloudWatch namespace (letters, digits, . - _ / #; 1–255 characters)');
  if (props.metricNamespace !== undefined && !unresolved(props.metricNamespace) && props.metricNamespace.startsWith('AWS/')) {
    throw new TimeSyncGuardPropsError('metricNamespace must not start with AWS/ (reserved for AWS services)');
  }
  match('optOutTagKey', props.optOutTagKey, TAG_KEY, 'a tag key (1–128 letters, digits, _ . : / = + - @)');
  if (props.optOutTagKey !== undefined && !unresolved(props.optOutTagKey) && props.optOutTagKey.toLowerCase().startsWith('aws:')) {
    throw new TimeSyncGuardPropsError('optOutTagKey must not start with aws: (reserved)');
  }
  range('maxOffsetSeconds', props.maxOffsetSeconds, 0.001, 300, false);
  range('maxClockErrorBoundSeconds', props.maxClockErrorBoundSeconds, 0.001, 300, false);
  match('commandMaxConcurrency', props.commandMaxConcurrency, CONCURRENCY, "a count 1–99999 or a percent 1%–100% (e.g. '50%')");
  match('commandMaxErrors', props.commandMaxErrors, ERRORS, "a count 0–99999 or a percent 0%–100% (e.g. '10')");
  range('commandTimeoutSeconds', props.commandTimeoutSeconds, 30, 2_592_000, true);
  range('hopLimitTarget', props.hopLimitTarget, 2, 64, true);
  if (props.hopLimitScope !== undefined && !unresolved(props.hopLimitScope) && props.hopLimitScope !== 'containers' && props.hopLimitScope !== 'all') {
    throw new TimeSyncGuardPropsError(`hopLimitScope must be 'containers' or 'all', got ${JSON.stringify(props.hopLimitScope)}`);
  }
  range('maxChangesPerRun', props.maxChangesPerRun, 0, 1_000_000, true);
  range('maxChangesPercent', props.maxChangesPercent, 0, 100, false);
  range('remediationMaxIterations', props.remediationMaxIterations, 1, 1000, true);
  range('launchSsmWaitSeconds', props.launchSsmWaitSeconds, 0, 3600, true);
  range('notCheckedThreshold', props.notCheckedThreshold, 0, 1_000_000, true);
  if (props.eventSource !== undefined && !unresolved(props.eventSource)) {
    if (props.eventSource.length < 1 || props.eventSource.length > 256 || /\s/.test(props.eventSource) || props.eventSource.startsWith('aws.')) {
      throw new TimeSyncGuardPropsError(`eventSource must be 1–256 characters without spaces and not start with aws., got ${JSON.stringify(props.eventSource)}`);
    }
  }
  if (props.alarmEmails !== undefined && props.alarmTopic !== undefined) {
    throw new TimeSyncGuardPropsError('alarmEmails and alarmTopic are mutually exclusive: subscribe the addresses to your own topic, or let the construct create one');
  }
  for (const email of props.alarmEmails ?? []) {
    match('alarmEmails', email, EMAIL, 'a list of e-mail addresses');
  }
  if (props.timeZone !== undefined && !unresolved(props.timeZone.timezoneName)) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: props.timeZone.timezoneName });
    } catch {
      throw new TimeSyncGuardPropsError(`timeZone must be an IANA time zone name, got ${JSON.stringify(props.timeZone.timezoneName)}`);
    }
  }
  scheduleExpression('checkSchedule', props.checkSchedule);
  scheduleExpression('remediationSchedule', props.remediationSchedule);
  wholeMinutes('checkInterval', props.checkInterval, MAX_CHECK_INTERVAL);
  wholeMinutes('remediationHeartbeatWindow', props.remediationHeartbeatWindow, Duration.days(1));

  if (props.checkInterval !== undefined) return props.checkInterval;
  const schedule = props.checkSchedule ?? DEFAULT_CHECK_SCHEDULE;
  const derived = unresolved(schedule) ? undefined : rateInterval(schedule);
  if (derived === undefined) {
    throw new TimeSyncGuardPropsError('checkInterval is required when checkSchedule is not a rate(…) expression (it sizes the alarm periods and the heartbeat)');
  }
  wholeMinutes('checkSchedule (its rate)', derived, MAX_CHECK_INTERVAL);
  return derived;
}
