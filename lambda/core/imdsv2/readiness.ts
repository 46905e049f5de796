/**
 * IMDSv2 readiness from real usage: per instance, the daily Sums of `AWS/EC2` `MetadataNoToken`
 * (successful IMDSv1 calls) over a lookback window say whether switching `HttpTokens` to `required`
 * would break anything. Pure: the adapter fetches the sums, this judges them.
 *
 * Why a full window of datapoints and not "no datapoint = no call": CloudWatch keeps no point for a
 * day on which the instance published nothing (stopped, not yet launched), and silence is not proof
 * of an IMDSv2-only guest. A weekly job that ran on a day we cannot see would break after the switch.
 */

/** Tag the enforcement puts on each instance it switched (`<ISO date>` or `rolled-back:<ISO date>`). */
export const IMDSV2_ENFORCED_TAG_KEY = 'timesync-guard:imdsv2-enforced';
/** Value prefix of the enforcement tag once an instance was rolled back (never enforced again). */
export const IMDSV2_ROLLED_BACK_PREFIX = 'rolled-back:';

/** The CloudWatch namespace and metrics EC2 publishes per instance (dimension `InstanceId`). */
export const IMDS_METRICS = {
  namespace: 'AWS/EC2',
  /** Successful IMDSv1 calls (Sum). */
  noToken: 'MetadataNoToken',
  /** IMDSv1 calls refused because tokens are required (Sum). */
  noTokenRejected: 'MetadataNoTokenRejected',
  dimension: 'InstanceId',
} as const;

/**
 * SSM Agent releases before this one tried IMDSv1 first and so produce `MetadataNoToken` themselves
 * (amazon-ssm-agent issue 319): on an instance that uses IMDSv1 the agent is a likely source.
 */
export const SSM_AGENT_IMDSV2_FIRST = '3.0.431.0';

export const IMDSV2_STATES = ['uses-imdsv1', 'ready', 'not-enough-history', 'already-required'] as const;
export type Imdsv2State = (typeof IMDSV2_STATES)[number];

const DAY_MS = 86_400_000;

/** The window of one readiness assessment: whole UTC days plus today so far. */
export interface ReadinessWindow {
  /** Start of the first whole day (ms, 00:00 UTC). */
  readonly start: number;
  /** When the data was read (ms): end of the window. */
  readonly end: number;
  /** The whole days (YYYY-MM-DD) that must each have a datapoint for `ready`. */
  readonly days: readonly string[];
}

/** The day (YYYY-MM-DD, UTC) of a time. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * The lookback window ending now: `lookbackDays` whole UTC days before today, plus today so far
 * (a call this morning counts, but today's partial day is never required to have data).
 */
export function readinessWindow(now: number, lookbackDays: number): ReadinessWindow {
  const n = Math.max(1, Math.floor(lookbackDays));
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const start = today - n * DAY_MS;
  const days: string[] = [];
  for (let d = start; d < today; d += DAY_MS) days.push(utcDay(d));
  return { start, end: now, days };
}

/** What the judge needs about one instance. */
export interface ReadinessInput {
  readonly instanceId: string;
  /** `HttpTokens` as the EC2 API reports it now. */
  readonly httpTokens?: 'optional' | 'required';
  /** LaunchTime from DescribeInstances (ISO), reset by a stop/start. */
  readonly launchTime?: string;
  /** SSM Agent version (DescribeInstanceInformation), when managed. */
  readonly agentVersion?: string;
  /**
   * Daily Sums of MetadataNoToken by day (YYYY-MM-DD); `undefined` when the metric could not be read
   * for this instance (never judged ready then).
   */
  readonly daily: Readonly<Record<string, number>> | undefined;
  /**
   * Calls in the window signed with role credentials delivered over IMDSv1 (CloudTrail
   * `ec2RoleDelivery = 1.0`, lambda/core/imdsv2/credential-delivery.ts): any is `uses-imdsv1`
   * whatever MetadataNoToken says; `null` when CloudTrail is configured but could not be read
   * (never `ready` then). @default - CloudTrail not configured: no effect
   */
  readonly imdsv1CredentialDeliveries?: number | null;
}

/** The judgement of one instance. */
export interface Imdsv2Readiness {
  readonly instanceId: string;
  readonly state: Imdsv2State;
  /** IMDSv1 calls in the window (uses-imdsv1). */
  readonly imdsv1Calls?: number;
  /** Day of the last IMDSv1 call (uses-imdsv1). */
  readonly lastImdsv1Day?: string;
  /** Whole days of the window with a datapoint. */
  readonly daysWithData?: number;
  /** Why (not-enough-history): `younger-than-window`, `gaps`, `metrics-unreadable`, `cloudtrail-unreadable`, `tokens-unknown`, `launch-time-unknown`, `not-in-snapshot`, `snapshot-refused`. */
  readonly reason?: string;
  /** A likely source of the IMDSv1 calls (uses-imdsv1), e.g. `ssm-agent-3.0.222.0`. */
  readonly likelySource?: string;
}

/**
 * Compares dotted numeric versions (`3.0.431.0`); a part that is not a number compares as 0.
 * Returns < 0, 0, > 0.
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let k = 0; k < Math.max(pa.length, pb.length); k++) {
    const d = (pa[k] ?? 0) - (pb[k] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** True when this SSM Agent version predates the IMDSv2-first agent. Unparseable → false (not named). */
export function agentTriesImdsv1First(agentVersion: string | undefined): boolean {
  if (!agentVersion || !/^\d+(\.\d+)*$/.test(agentVersion)) return false;
  return compareVersions(agentVersion, SSM_AGENT_IMDSV2_FIRST) < 0;
}

/**
 * Judges one instance. Order: `already-required` (the EC2 API says so) → `uses-imdsv1` (any call in
 * the window, whatever the gaps) → `not-enough-history` (younger than the window, a day without a
 * datapoint, or unreadable) → `ready`.
 */
export function assessReadiness(input: ReadinessInput, window: ReadinessWindow): Imdsv2Readiness {
  const base = { instanceId: input.instanceId };
  if (input.httpTokens === 'required') return { ...base, state: 'already-required' };
  const v1Credentials = input.imdsv1CredentialDeliveries;
  if (typeof v1Credentials === 'number' && v1Credentials > 0) {
    return { ...base, state: 'uses-imdsv1', imdsv1Calls: v1Credentials, likelySource: 'cloudtrail-ec2RoleDelivery-1.0' };
  }
  if (v1Credentials === null) return { ...base, state: 'not-enough-history', reason: 'cloudtrail-unreadable' };
  if (input.daily === undefined) return { ...base, state: 'not-enough-history', reason: 'metrics-unreadable' };
  let calls = 0;
  let last: string | undefined;
  const first = utcDay(window.start);
  for (const [day, sum] of Object.entries(input.daily)) {
    if (day < first || !Number.isFinite(sum) || sum <= 0) continue;
    calls += sum;
    if (last === undefined || day > last) last = day;
  }
  const daysWithData = window.days.filter((d) => input.daily![d] !== undefined && Number.isFinite(input.daily![d])).length;
  if (calls > 0) {
    return {
      ...base,
      state: 'uses-imdsv1',
      imdsv1Calls: calls,
      lastImdsv1Day: last!,
      daysWithData,
      ...(agentTriesImdsv1First(input.agentVersion) ? { likelySource: `ssm-agent-${input.agentVersion}` } : {}),
    };
  }
  // Tokens not reported: we cannot tell optional from required, so nothing is claimed ready.
  if (input.httpTokens !== 'optional') return { ...base, state: 'not-enough-history', reason: 'tokens-unknown', daysWithData };
  const launched = input.launchTime !== undefined ? Date.parse(input.launchTime) : Number.NaN;
  if (!Number.isFinite(launched)) return { ...base, state: 'not-enough-history', reason: 'launch-time-unknown', daysWithData };
  if (launched > window.start) return { ...base, state: 'not-enough-history', reason: 'younger-than-window', daysWithData };
  if (daysWithData < window.days.length) return { ...base, state: 'not-enough-history', reason: 'gaps', daysWithData };
  return { ...base, state: 'ready', daysWithData };
}

/** Instances per state: the fleet metrics (no per-instance dimension). */
export function countReadiness(list: Iterable<Pick<Imdsv2Readiness, 'state'>>): Record<Imdsv2State, number> {
  const out = Object.fromEntries(IMDSV2_STATES.map((s) => [s, 0])) as Record<Imdsv2State, number>;
  for (const r of list) out[r.state]++;
  return out;
}

/** The remediate side's fresh read of one instance just before it is switched. */
export type FreshUsage = 'clean' | 'uses-imdsv1' | 'gaps' | 'unreadable';

/**
 * Judges the remediate side's own fresh `MetadataNoToken` read of an instance it is about to
 * switch: the readiness it planned from came from a stored snapshot (written by another role, read
 * from S3), so the switch rests on this read instead. `clean` only when every whole day of the
 * window has a datapoint and no call was made in the window (today so far included), as for `ready`.
 */
export function judgeFreshUsage(daily: Readonly<Record<string, number>> | undefined, window: ReadinessWindow): FreshUsage {
  if (daily === undefined) return 'unreadable';
  const first = utcDay(window.start);
  for (const [day, sum] of Object.entries(daily)) if (day >= first && Number.isFinite(sum) && sum > 0) return 'uses-imdsv1';
  return window.days.every((d) => Number.isFinite(daily[d])) ? 'clean' : 'gaps';
}
