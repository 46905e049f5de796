/**
 * Gated IMDSv2 enforcement, pure decisions: which instances the nightly run switches to
 * `HttpTokens=required` (only `ready` ones, within the caps), which enforced instances the check
 * still watches (the rollback window), and what to do about rejected IMDSv1 calls on them (alert
 * by default; roll back only with `imdsv2AutoUndo` and rejections in two separate hours).
 * The phase in lambda/engine and the check act on these; nothing here does I/O.
 */
import { IMDSV2_MODES, type Imdsv2Mode } from '../settings/schema';
import type { InstanceEvaluation } from '../types';
import { hopLimitScopeCovers } from '../remediation/plan';
import { type Imdsv2Readiness, IMDSV2_ENFORCED_TAG_KEY, IMDSV2_ROLLED_BACK_PREFIX } from './readiness';

export { IMDSV2_MODES, type Imdsv2Mode };

/** Settings the decisions read. */
export interface EnforcementSettings {
  readonly imdsv2: Imdsv2Mode;
  readonly hopLimitTarget: number;
  readonly hopLimitScope: 'containers' | 'containers-and-orchestrators' | 'all';
  readonly dryRun?: boolean;
}

/** The enforcement tag as read from an instance. */
export type EnforcedTag =
  /**
   * A time, and when the value carries one, the record's MAC (`<ISO time>/<MAC>`): only a record
   * whose MAC verifies under the stack's key (lambda/engine/imdsv2-record.ts) was written by this
   * deployment. Anyone allowed ec2:CreateTags can write the time; nobody without the key the MAC.
   */
  | { readonly kind: 'enforced'; readonly at: number; readonly signed?: { readonly iso: string; readonly mac: string } }
  | { readonly kind: 'rolled-back'; readonly at: number }
  /** Present but not ours to read (edited by hand, or the key in two letter cases): never watched, never enforced again. */
  | { readonly kind: 'unreadable'; readonly value: string };

/** Separates the time from the MAC in the tag value (not in an ISO time; allowed in every EC2 tag value). */
export const ENFORCED_TAG_MAC_SEPARATOR = '/';

// Anchored, no nested quantifier: linear in the (256-character) tag value.
const ENFORCED_VALUE = /^(\d{4}-\d{2}-\d{2}T[0-9:.+Z-]{1,40})(?:\/([A-Za-z0-9_-]{16,128}))?$/;

/** Reads the value of `timesync-guard:imdsv2-enforced`; undefined when the tag is absent. */
export function parseEnforcedTag(value: string | undefined): EnforcedTag | undefined {
  if (value === undefined) return undefined;
  if (value.startsWith(IMDSV2_ROLLED_BACK_PREFIX)) {
    const rest = value.slice(IMDSV2_ROLLED_BACK_PREFIX.length);
    const at = Date.parse(rest);
    return /^\d{4}-\d{2}-\d{2}T/.test(rest) && Number.isFinite(at) ? { kind: 'rolled-back', at } : { kind: 'unreadable', value };
  }
  const m = ENFORCED_VALUE.exec(value);
  const at = m ? Date.parse(m[1]!) : Number.NaN;
  if (!m || !Number.isFinite(at)) return { kind: 'unreadable', value };
  return { kind: 'enforced', at, ...(m[2] !== undefined ? { signed: { iso: m[1]!, mac: m[2] } } : {}) };
}

/** The value {@link enforcedTagValueOf} gives when the key is present in several letter cases. */
export const AMBIGUOUS_ENFORCED_TAG = 'ambiguous:key-in-several-cases';

/**
 * The enforcement tag's value, its key matched as IAM matches `aws:ResourceTag/<key>`: whatever its
 * letter case. EC2 keys are case-sensitive, so two keys may differ only in case; then the value is
 * {@link AMBIGUOUS_ENFORCED_TAG} (unreadable): IAM would see either, the code trusts neither.
 */
export function enforcedTagValueOf(tags: readonly { readonly Key?: string; readonly Value?: string }[] | undefined): string | undefined {
  const key = IMDSV2_ENFORCED_TAG_KEY.toLowerCase();
  const values = (tags ?? []).filter((t) => typeof t.Key === 'string' && t.Key.toLowerCase() === key).map((t) => t.Value ?? '');
  if (values.length === 0) return undefined;
  return values.length === 1 ? values[0] : AMBIGUOUS_ENFORCED_TAG;
}

/** One instance to switch: tokens required, and the hop limit raised in the same call when set. */
export interface Imdsv2Change {
  readonly instanceId: string;
  /** Raise the hop limit to this in the same call (container hosts below the target). */
  readonly hopLimit?: number;
}

export type Imdsv2SkipReason =
  | 'mode-report'
  | 'not-ready'
  | 'opted-out'
  | 'previously-rolled-back'
  | 'tag-unreadable'
  | 'not-checked'
  | 'cap-reached';

export interface Imdsv2Plan {
  readonly enforce: readonly Imdsv2Change[];
  /** Ready instances not switched, and why (uses-imdsv1 etc. are not listed: they are the report). */
  readonly skipped: readonly { readonly instanceId: string; readonly reason: Imdsv2SkipReason }[];
}

/** What the plan needs about one instance besides its evaluation. */
export interface Imdsv2Candidate {
  readonly evaluation: InstanceEvaluation;
  readonly readiness: Imdsv2Readiness | undefined;
  readonly tag: EnforcedTag | undefined;
}

/**
 * Plans tonight's enforcement. Only `ready` instances, never opted-out ones, never an instance the
 * product rolled back before (its workload proved it needs IMDSv1), never one whose guest was not
 * checked this run (its containers are unknown, and tokens required with hop limit 1 breaks
 * containers). `capLeft` is what the hop-limit plan left of the run's caps: both share them.
 */
export function planImdsv2Enforcement(candidates: readonly Imdsv2Candidate[], settings: EnforcementSettings, capLeft: number): Imdsv2Plan {
  const enforce: Imdsv2Change[] = [];
  const skipped: { instanceId: string; reason: Imdsv2SkipReason }[] = [];
  if (settings.imdsv2 === 'off') return { enforce, skipped };
  let left = Math.max(0, Math.floor(capLeft));
  for (const c of candidates) {
    const e = c.evaluation;
    if (c.readiness?.state !== 'ready') continue;
    const skip = (reason: Imdsv2SkipReason): void => void skipped.push({ instanceId: e.instanceId, reason });
    if (settings.imdsv2 !== 'enforce') skip('mode-report');
    else if (e.status === 'opted-out' || e.checkState === 'opted-out') skip('opted-out');
    else if (c.tag?.kind === 'rolled-back') skip('previously-rolled-back');
    else if (c.tag?.kind === 'unreadable') skip('tag-unreadable');
    else if (e.checkState !== 'checked' || e.verdict?.containers === null || e.verdict?.containers === undefined) skip('not-checked');
    else if (left <= 0) skip('cap-reached');
    else {
      left--;
      const hop = e.imds.hopLimit ?? 1;
      const container = e.verdict.containers === true && hopLimitScopeCovers(settings.hopLimitScope, e);
      const raise = (settings.hopLimitScope === 'all' || container) && hop < settings.hopLimitTarget;
      enforce.push({ instanceId: e.instanceId, ...(raise ? { hopLimit: settings.hopLimitTarget } : {}) });
    }
  }
  return { enforce, skipped };
}

/** An enforced instance still inside its rollback window. */
export interface Watched {
  readonly instanceId: string;
  /** When it was enforced (ms). */
  readonly since: number;
}

/**
 * The instances the check watches: enforced by us (tag), tokens still required, and enforced less
 * than `windowHours` ago. After the window nothing is removed; the instance is simply not watched.
 */
export function watchList(
  instances: readonly { readonly instanceId: string; readonly httpTokens?: string; readonly tag: EnforcedTag | undefined }[],
  now: number,
  windowHours: number,
): Watched[] {
  const out: Watched[] = [];
  for (const i of instances) {
    if (i.tag?.kind !== 'enforced' || i.httpTokens !== 'required') continue;
    if (now - i.tag.at < windowHours * 3_600_000 && i.tag.at <= now + 5 * 60_000) out.push({ instanceId: i.instanceId, since: i.tag.at });
  }
  return out;
}

/** Rollback needs rejected calls in at least this many separate hourly periods (with `imdsv2AutoUndo`). */
export const AUTO_UNDO_MIN_HOURS = 2;

/** What the watch does about one watched instance with rejected IMDSv1 calls. */
export interface RollbackDecision {
  readonly instanceId: string;
  /** Rejected IMDSv1 calls since enforcement. */
  readonly rejectedCalls: number;
  /** Separate hourly periods with at least one rejected call. */
  readonly rejectedHours: number;
  /** `roll-back`: set tokens back to optional; `alert`: alarm and audit only. */
  readonly action: 'roll-back' | 'alert';
  /** Why (audit reason): `imdsv1-calls-rejected` (rolled back), `auto-undo-off`, `rejected-in-one-hour-only`. */
  readonly reason: 'imdsv1-calls-rejected' | 'auto-undo-off' | 'rejected-in-one-hour-only';
}

const HOUR_MS = 3_600_000;

/**
 * What to do about each watched instance, from its hourly `MetadataNoTokenRejected` sums (keyed by
 * the start of each hour). A rejected call on an instance we enforced is either a workload still on
 * IMDSv1 or someone probing it (an SSRF tries tokenless first): the two look the same. So by
 * default it is reported (alarm, audit) and never undone; with `autoUndo` the instance is rolled
 * back only when rejections came in at least {@link AUTO_UNDO_MIN_HOURS} separate hours since
 * enforcement, so that one burst cannot switch IMDSv1 back on. An unreadable metric is not a
 * rejection (nothing unread is acted on); the next run looks again.
 */
export function decideRollbacks(
  watched: readonly Watched[],
  hourly: ReadonlyMap<string, ReadonlyMap<number, number> | undefined>,
  autoUndo: boolean,
): RollbackDecision[] {
  const out: RollbackDecision[] = [];
  for (const w of watched) {
    const sums = hourly.get(w.instanceId);
    if (!sums) continue;
    const from = Math.floor(w.since / HOUR_MS) * HOUR_MS;
    let calls = 0;
    let hours = 0;
    for (const [t, n] of sums) {
      if (t < from || !Number.isFinite(n) || n <= 0) continue;
      calls += n;
      hours++;
    }
    if (calls <= 0) continue;
    const base = { instanceId: w.instanceId, rejectedCalls: calls, rejectedHours: hours };
    if (!autoUndo) out.push({ ...base, action: 'alert', reason: 'auto-undo-off' });
    else if (hours < AUTO_UNDO_MIN_HOURS) out.push({ ...base, action: 'alert', reason: 'rejected-in-one-hour-only' });
    else out.push({ ...base, action: 'roll-back', reason: 'imdsv1-calls-rejected' });
  }
  return out;
}

/**
 * The rollback mark written on the tag (`rolled-back:<ISO time>`). It carries no MAC: a forged mark
 * only keeps the guard from enforcing that instance, which the opt-out tag does for anyone too.
 * The enforcement record itself is signed: lambda/engine/imdsv2-record.ts.
 */
export function rolledBackTagValue(now: number): string {
  return `${IMDSV2_ROLLED_BACK_PREFIX}${new Date(now).toISOString()}`;
}

/**
 * Whether the account's default may become `HttpTokens=required` (accountDefaults: set): only in
 * `enforce` mode and only when every instance the check judged (opted-out ones aside) is `ready` or
 * `already-required`. One instance with unknown readiness, or none judged at all, keeps it closed:
 * a default read wrong would break the next launch of a workload that still uses IMDSv1.
 */
export function tokensGateFromReadiness(mode: Imdsv2Mode, candidates: readonly Imdsv2Candidate[]): { enforcementOn: boolean; fleetReadyForTokensRequired: boolean } {
  const judged = candidates.filter((c) => c.evaluation.status !== 'opted-out' && c.evaluation.checkState !== 'opted-out');
  const ready = judged.length > 0 && judged.every((c) => c.readiness?.state === 'ready' || c.readiness?.state === 'already-required');
  return { enforcementOn: mode === 'enforce', fleetReadyForTokensRequired: ready };
}
