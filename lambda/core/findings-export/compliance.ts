/**
 * One SSM-managed instance's check judgements as Systems Manager Compliance items of the type
 * `Custom:TimeSyncGuard` (Fleet Manager, Explorer and Config's managed-instance compliance show
 * them). PutComplianceItems' default upload type, COMPLETE, replaces every item of the type on the
 * resource: the list sent is the whole truth, so an item not in it disappears. Pure.
 *
 * Limits (PutComplianceItems API reference): ≤ 10,000 items per call, item Id ≤ 100 and Title ≤ 500
 * characters, Details ≤ 20 pairs, ItemContentHash ≤ 256 characters (MD5 or SHA-256: SSM ignores
 * a put whose hash equals the stored one), ExecutionSummary.ExecutionId ≤ 100 and ExecutionType ≤ 50.
 */
import { createHash } from 'node:crypto';
import { CHECKS, type CheckId, type CheckJudgement, SEVERITY_LABELS, type SeverityLabel } from './checks';

export const COMPLIANCE_TYPE = 'Custom:TimeSyncGuard';
export const COMPLIANCE_EXECUTION_TYPE = 'timesync-guard-check';

export type ComplianceSeverity = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'INFORMATIONAL' | 'UNSPECIFIED';

/** One item (the SDK's `ComplianceItemEntry` accepts it). */
export interface ComplianceItem {
  readonly Id: CheckId;
  readonly Title: string;
  readonly Severity: ComplianceSeverity;
  readonly Status: 'COMPLIANT' | 'NON_COMPLIANT';
  readonly Details?: Readonly<Record<string, string>>;
}

/** A check's last known state, as kept between runs: `P` passed, `F:<severity>` failed. */
export type StoredItemState = 'P' | `F:${SeverityLabel}`;

/** The stored form of one instance's items: `check=state` pairs, sorted, joined by `;`. */
export function itemsSignature(states: ReadonlyMap<CheckId, StoredItemState>): string {
  return [...states.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([c, s]) => `${c}=${s}`)
    .join(';');
}

/** Parses a stored signature; undefined for anything that is not one (then the instance is put again). */
export function parseItemsSignature(text: unknown): Map<CheckId, StoredItemState> | undefined {
  if (typeof text !== 'string' || text.length > 400) return undefined;
  const out = new Map<CheckId, StoredItemState>();
  if (text === '') return out;
  for (const pair of text.split(';')) {
    const [check, state] = pair.split('=');
    if (!check || !Object.prototype.hasOwnProperty.call(CHECKS, check)) return undefined;
    if (state !== 'P' && !(state?.startsWith('F:') && (SEVERITY_LABELS as readonly string[]).includes(state.slice(2)))) return undefined;
    out.set(check as CheckId, state as StoredItemState);
  }
  return out;
}

/** The stored state of a judgement. */
export function itemState(j: Pick<CheckJudgement, 'status' | 'severity'>): StoredItemState {
  return j.status === 'PASSED' ? 'P' : `F:${j.severity}`;
}

/** SHA-256 (hex) of the compliance type and the signature: sent as ItemContentHash and kept to skip unchanged instances. */
export function itemsHash(signature: string): string {
  return createHash('sha256').update(`${COMPLIANCE_TYPE}\n${signature}`).digest('hex');
}

/**
 * The items of one instance: this run's judgements, plus the last known state of each check this
 * run could not judge (COMPLETE upload would otherwise delete an item nobody re-checked).
 */
export function complianceItems(judged: readonly CheckJudgement[], carried: ReadonlyMap<CheckId, StoredItemState> = new Map()): { items: ComplianceItem[]; states: Map<CheckId, StoredItemState> } {
  const states = new Map<CheckId, StoredItemState>(carried);
  const details = new Map<CheckId, Record<string, string>>();
  for (const j of judged) {
    states.set(j.check, itemState(j));
    if (j.codes.length > 0) details.set(j.check, { Codes: j.codes.join(',').slice(0, 1024) });
  }
  const items = [...states.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([check, s]): ComplianceItem => {
      const d = details.get(check) ?? (judged.some((j) => j.check === check) ? undefined : { Judged: 'earlier run' });
      return {
        Id: check,
        Title: CHECKS[check].title,
        Severity: s === 'P' ? 'UNSPECIFIED' : (s.slice(2) as ComplianceSeverity),
        Status: s === 'P' ? 'COMPLIANT' : 'NON_COMPLIANT',
        ...(d ? { Details: d } : {}),
      };
    });
  return { items, states };
}
