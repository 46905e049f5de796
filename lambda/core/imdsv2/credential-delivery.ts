/**
 * CloudTrail's record of how each instance got its role credentials (docs/imdsv2.md): every call
 * signed with instance-role credentials carries `userIdentity.sessionContext.ec2RoleDelivery`
 * (`1.0`: delivered over IMDSv1, `2.0`: IMDSv2) and its session name (the last part of the
 * assumed-role ARN) is the instance id. Pure: the query text, the parsing of its rows (untrusted:
 * anything that is not an instance session is dropped) and the stored evidence.
 */

/** CloudTrail error codes of calls that failed for a reason a wrong clock causes (or a stale credential). */
export const CLOCK_FAILURE_CODES = ['RequestExpired', 'SignatureDoesNotMatch', 'ExpiredToken'] as const;
export type ClockFailureCode = (typeof CLOCK_FAILURE_CODES)[number];

/** Days of CloudTrail the daily query reads. */
export const CREDENTIAL_LOOKBACK_DAYS = 14;
/** The evidence is queried again once older than this. */
export const CREDENTIAL_EVIDENCE_MAX_AGE_MS = 24 * 3_600_000;

/** Where the trail is queried: a CloudTrail Lake event data store, or a CloudWatch Logs group the trail delivers to. */
export type CloudTrailSource = { readonly kind: 'lake'; readonly eventDataStoreArn: string } | { readonly kind: 'logs'; readonly logGroupName: string };

/** One instance's counts in the window. */
export interface CredentialCounts {
  /** Calls signed with credentials delivered over IMDSv1 (`ec2RoleDelivery = 1.0`). */
  readonly imdsv1Deliveries: number;
  /** Failed calls by error code. */
  readonly failed: Readonly<Partial<Record<ClockFailureCode, number>>>;
}

/** The stored result of one query. */
export interface CredentialEvidence {
  readonly version: 1;
  /** Which source answered (a change of setting refreshes). */
  readonly source: string;
  /** ISO time the query ran; its window is the {@link CREDENTIAL_LOOKBACK_DAYS} days before. */
  readonly takenAt: string;
  readonly byInstance: Readonly<Record<string, CredentialCounts>>;
  /** A query started but not finished by the end of its run: the next run reads its results. */
  readonly pendingQueryId?: string;
}

const INSTANCE_ID = /^i-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;

/** The instance id of an instance-role session ARN (`arn:aws:sts::1:assumed-role/role/i-0abc…`), else undefined. */
export function instanceIdOfSession(arn: string | undefined): string | undefined {
  if (typeof arn !== 'string' || !/^arn:[\w-]+:sts::\d{12}:assumed-role\//.test(arn)) return undefined;
  const last = arn.split('/').pop() ?? '';
  return INSTANCE_ID.test(last) ? last : undefined;
}

/** A stable name of the source (stored with the evidence). */
export function sourceKey(s: CloudTrailSource): string {
  return s.kind === 'lake' ? `lake:${s.eventDataStoreArn}` : `logs:${s.logGroupName}`;
}

const fmt = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

/**
 * The query of the window ending `now`: one row per (session ARN, delivery, error code) with its
 * count. Only instance-role sessions that used IMDSv1 credentials or failed with a clock-shaped
 * error are returned, so the answer stays small.
 */
export function credentialQuery(source: CloudTrailSource, now: number): { readonly text: string; readonly start: number; readonly end: number } {
  const start = now - CREDENTIAL_LOOKBACK_DAYS * 86_400_000;
  const codes = CLOCK_FAILURE_CODES.map((c) => `'${c}'`).join(', ');
  if (source.kind === 'lake') {
    const store = source.eventDataStoreArn.split('/').pop() ?? '';
    const text =
      `SELECT userIdentity.arn AS arn, userIdentity.sessionContext.ec2RoleDelivery AS delivery, errorCode AS errorCode, COUNT(*) AS n FROM ${store} ` +
      `WHERE eventTime >= '${fmt(start)}' AND eventTime < '${fmt(now)}' AND userIdentity.type = 'AssumedRole' AND userIdentity.arn LIKE '%/i-%' ` +
      `AND (userIdentity.sessionContext.ec2RoleDelivery = '1.0' OR errorCode IN (${codes})) ` +
      'GROUP BY userIdentity.arn, userIdentity.sessionContext.ec2RoleDelivery, errorCode';
    return { text, start, end: now };
  }
  const text =
    'filter userIdentity.type = "AssumedRole" and userIdentity.arn like "/i-" ' +
    `and (userIdentity.sessionContext.ec2RoleDelivery = "1.0" or errorCode in [${CLOCK_FAILURE_CODES.map((c) => `"${c}"`).join(', ')}]) ` +
    '| stats count(*) as n by userIdentity.arn as arn, userIdentity.sessionContext.ec2RoleDelivery as delivery, errorCode as errorCode';
  return { text, start, end: now };
}

/** Folds the query's rows (field → value) into counts per instance; rows that are not instance sessions are dropped. */
export function countsFromRows(rows: readonly Readonly<Record<string, string | undefined>>[]): Record<string, CredentialCounts> {
  const out: Record<string, { imdsv1Deliveries: number; failed: Partial<Record<ClockFailureCode, number>> }> = {};
  for (const row of rows) {
    const id = instanceIdOfSession(row['arn']);
    const n = Number(row['n']);
    if (!id || !Number.isFinite(n) || n <= 0 || !Number.isInteger(n)) continue;
    const c = (out[id] ??= { imdsv1Deliveries: 0, failed: {} });
    if (row['delivery'] === '1.0') c.imdsv1Deliveries += n;
    const code = row['errorCode'] as ClockFailureCode | undefined;
    if (code !== undefined && (CLOCK_FAILURE_CODES as readonly string[]).includes(code)) c.failed[code] = (c.failed[code] ?? 0) + n;
  }
  return out;
}

/** Parses stored evidence; undefined for anything that is not one. */
export function parseEvidence(text: string | undefined): CredentialEvidence | undefined {
  if (!text) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const e = v as Partial<CredentialEvidence> | null;
  if (!e || e.version !== 1 || typeof e.source !== 'string' || typeof e.takenAt !== 'string' || !Number.isFinite(Date.parse(e.takenAt))) return undefined;
  if (!e.byInstance || typeof e.byInstance !== 'object') return undefined;
  for (const [id, c] of Object.entries(e.byInstance)) {
    if (!INSTANCE_ID.test(id) || !c || typeof c.imdsv1Deliveries !== 'number' || !Number.isFinite(c.imdsv1Deliveries) || c.imdsv1Deliveries < 0) return undefined;
    if (!c.failed || typeof c.failed !== 'object' || !Object.values(c.failed).every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) return undefined;
  }
  if (e.pendingQueryId !== undefined && typeof e.pendingQueryId !== 'string') return undefined;
  return e as CredentialEvidence;
}

/** True when the evidence can serve a run at `now` (same source, younger than a day, not from the future). */
export function evidenceIsFresh(e: CredentialEvidence | undefined, source: CloudTrailSource, now: number): e is CredentialEvidence {
  if (!e || e.source !== sourceKey(source)) return false;
  const age = now - Date.parse(e.takenAt);
  return age >= -5 * 60_000 && age < CREDENTIAL_EVIDENCE_MAX_AGE_MS;
}

/** Total failed calls of one instance. */
export function failedCalls(c: CredentialCounts | undefined): number {
  return c ? Object.values(c.failed).reduce((a, b) => a + (b ?? 0), 0) : 0;
}

/**
 * "Confirmed impact": instances whose calls failed with a clock-shaped error in the window AND whose
 * measured |offset| is over the threshold this run (SigV4 refuses requests about 5 minutes off, so
 * failures on a host measured in time are another cause: a stale credential, a bad signer).
 */
export function confirmedImpact(
  byInstance: Readonly<Record<string, CredentialCounts>>,
  offsets: ReadonlyMap<string, number | null | undefined>,
  maxOffsetSeconds: number,
): string[] {
  const out: string[] = [];
  for (const [id, c] of Object.entries(byInstance)) {
    const off = offsets.get(id);
    if (failedCalls(c) > 0 && typeof off === 'number' && Number.isFinite(off) && Math.abs(off) > maxOffsetSeconds) out.push(id);
  }
  return out.sort();
}

/** Per-instance log fields: `filter imdsv1CredentialDeliveries > 0`. */
export function credentialLogFields(c: CredentialCounts | undefined): Record<string, unknown> {
  if (!c) return {};
  const failed = failedCalls(c);
  return { ...(c.imdsv1Deliveries > 0 ? { imdsv1CredentialDeliveries: c.imdsv1Deliveries } : {}), ...(failed > 0 ? { clockFailedCalls: failed, clockFailedCodes: Object.keys(c.failed).sort().join(',') } : {}) };
}

/** The CloudTrail metrics (fleet level), published by each check that has evidence. */
export const CREDENTIAL_METRICS = {
  /** Instances with clock-shaped failed calls in the window whose measured |offset| is over the threshold now. */
  confirmedImpact: 'ClockImpactConfirmed',
  /** Instances with any call signed with IMDSv1-delivered credentials in the window. */
  imdsv1Credentials: 'Imdsv1CredentialInstances',
} as const;
