/**
 * Gated IMDSv2 enforcement, pure decisions: which instances the nightly run switches to
 * `HttpTokens=required` (only `ready` ones, within the caps), which enforced instances the check
 * still watches (the rollback window), and which of those to roll back (any rejected IMDSv1 call).
 * The phase in lambda/engine and the check act on these; nothing here does I/O.
 */
import { IMDSV2_MODES, type Imdsv2Mode } from '../settings/schema';
import type { InstanceEvaluation } from '../types';
import { hopLimitScopeCovers } from '../remediation/plan';
import { type Imdsv2Readiness, IMDSV2_ROLLED_BACK_PREFIX } from './readiness';

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
  | { readonly kind: 'enforced'; readonly at: number }
  | { readonly kind: 'rolled-back'; readonly at: number }
  /** Present but not ours to read (edited by hand): never watched, never enforced again. */
  | { readonly kind: 'unreadable'; readonly value: string };

/** Reads the value of `timesync-guard:imdsv2-enforced`; undefined when the tag is absent. */
export function parseEnforcedTag(value: string | undefined): EnforcedTag | undefined {
  if (value === undefined) return undefined;
  const rolled = value.startsWith(IMDSV2_ROLLED_BACK_PREFIX);
  const at = Date.parse(rolled ? value.slice(IMDSV2_ROLLED_BACK_PREFIX.length) : value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(rolled ? value.slice(IMDSV2_ROLLED_BACK_PREFIX.length) : value) || !Number.isFinite(at)) return { kind: 'unreadable', value };
  return rolled ? { kind: 'rolled-back', at } : { kind: 'enforced', at };
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

/** The rollback decision for one watched instance. */
export interface RollbackDecision {
  readonly instanceId: string;
  readonly rejectedCalls: number;
}

/**
 * Which watched instances to roll back: any rejected IMDSv1 call since enforcement means something
 * on the instance broke. An unreadable metric is not a rejection (nothing unread is acted on); the
 * next run looks again.
 */
export function decideRollbacks(watched: readonly Watched[], rejected: ReadonlyMap<string, number | undefined>): RollbackDecision[] {
  const out: RollbackDecision[] = [];
  for (const w of watched) {
    const n = rejected.get(w.instanceId);
    if (typeof n === 'number' && Number.isFinite(n) && n > 0) out.push({ instanceId: w.instanceId, rejectedCalls: n });
  }
  return out;
}

/** The tag value written on enforcement / rollback. */
export function enforcedTagValue(now: number, rolledBack = false): string {
  const iso = new Date(now).toISOString();
  return rolledBack ? `${IMDSV2_ROLLED_BACK_PREFIX}${iso}` : iso;
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
