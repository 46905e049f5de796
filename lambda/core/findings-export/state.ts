/**
 * What the exports remember between runs, so an hourly run imports and puts only what changed:
 * per failing instance + check, the hash of what was imported (and when); per SSM-managed
 * instance, the signature of the compliance items last put. Kept as one object beside the IMDSv2
 * snapshot (lambda/aws/readiness-cache.ts); ≈ 100 bytes per managed instance.
 *
 * Read back, it is untrusted: anything that is not exactly this shape, an entry dated in the
 * future, or more entries than the bound makes the entry (or the whole state) count as absent.
 * Absent costs one import or put again, never a skipped one: a forged "already imported" entry is
 * re-imported within {@link REFRESH_MS}, because entries older than that are refreshed. Pure.
 */
import { createHash } from 'node:crypto';
import { CHECKS, type CheckId, SEVERITY_LABELS, type SeverityLabel } from './checks';
import { parseItemsSignature } from './compliance';

export const EXPORT_STATE_VERSION = 1;
/** Bounds of the stored state: beyond them nothing more is remembered (those instances are exported every run). */
export const MAX_FINDING_ENTRIES = 300_000;
export const MAX_COMPLIANCE_ENTRIES = 100_000;
/**
 * A failing finding is imported again at least this often even when nothing changed: Security Hub
 * archives a finding not updated for 90 days, and a stored entry is trusted for at most this long.
 */
export const REFRESH_MS = 24 * 3_600_000;
/** Clock skew tolerated on stored times. */
const FUTURE_TOLERANCE_MS = 5 * 60_000;

/** An ACTIVE (failing) finding as last imported. */
export interface FindingEntry {
  /** Severity label imported. */
  readonly v: SeverityLabel;
  /** Hash of what matters (status, severity, codes): a change re-imports. */
  readonly h: string;
  /** First imported (ms): the finding's CreatedAt. */
  readonly c: number;
  /** Last imported (ms). */
  readonly u: number;
}

/** The compliance items last put on a managed instance. */
export interface ComplianceEntry {
  /** The items signature (compliance.ts). */
  readonly i: string;
  /** Last put (ms). */
  readonly u: number;
}

export interface ExportState {
  readonly v: typeof EXPORT_STATE_VERSION;
  /** `<instanceId>/<check>` → entry; only failing (ACTIVE) findings are kept. */
  readonly f: Readonly<Record<string, FindingEntry>>;
  /** instance id → entry. */
  readonly m: Readonly<Record<string, ComplianceEntry>>;
}

export const EMPTY_EXPORT_STATE: ExportState = { v: EXPORT_STATE_VERSION, f: {}, m: {} };

const INSTANCE_ID = /^(i|mi)-[0-9a-f]{8,17}$/;

export function findingKey(instanceId: string, check: CheckId): string {
  return `${instanceId}/${check}`;
}

/** Splits a key; undefined when it is not one. */
export function splitFindingKey(key: string): { instanceId: string; check: CheckId } | undefined {
  const slash = key.indexOf('/');
  const instanceId = key.slice(0, slash);
  const check = key.slice(slash + 1);
  if (slash < 0 || !INSTANCE_ID.test(instanceId) || !Object.prototype.hasOwnProperty.call(CHECKS, check)) return undefined;
  return { instanceId, check: check as CheckId };
}

/** The hash kept for a failing finding: what a change of must re-import. */
export function findingHash(severity: string, codes: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify([severity, [...codes].sort()])).digest('hex').slice(0, 16);
}

export function serializeExportState(s: ExportState): string {
  return JSON.stringify(s);
}

/** The outcome of reading the stored state. */
export interface ParsedExportState {
  readonly state: ExportState;
  /** Why the stored text (or some entries) was not used; undefined when all of it was. */
  readonly refused?: string;
  readonly droppedEntries: number;
}

const time = (x: unknown, now: number): x is number => typeof x === 'number' && Number.isInteger(x) && x > 0 && x <= now + FUTURE_TOLERANCE_MS;

/** Parses stored text; never throws. Entries that are not valid are dropped one by one. */
export function parseExportState(text: string | undefined, now: number): ParsedExportState {
  if (text === undefined || text === '') return { state: EMPTY_EXPORT_STATE, droppedEntries: 0 };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { state: EMPTY_EXPORT_STATE, refused: 'not JSON', droppedEntries: 0 };
  }
  const r = raw as Partial<Record<'v' | 'f' | 'm', unknown>> | null;
  if (!r || typeof r !== 'object' || r.v !== EXPORT_STATE_VERSION || !r.f || typeof r.f !== 'object' || Array.isArray(r.f) || !r.m || typeof r.m !== 'object' || Array.isArray(r.m)) {
    return { state: EMPTY_EXPORT_STATE, refused: 'not an export state of this version', droppedEntries: 0 };
  }
  const fIn = Object.entries(r.f as Record<string, unknown>);
  const mIn = Object.entries(r.m as Record<string, unknown>);
  if (fIn.length > MAX_FINDING_ENTRIES || mIn.length > MAX_COMPLIANCE_ENTRIES) {
    return { state: EMPTY_EXPORT_STATE, refused: `more entries than the bound (${fIn.length} findings, ${mIn.length} instances)`, droppedEntries: 0 };
  }
  let dropped = 0;
  const f: Record<string, FindingEntry> = {};
  for (const [k, e] of fIn) {
    const x = e as Partial<FindingEntry> | null;
    const ok =
      splitFindingKey(k) !== undefined &&
      !!x && typeof x === 'object' &&
      typeof x.v === 'string' && (SEVERITY_LABELS as readonly string[]).includes(x.v) &&
      typeof x.h === 'string' && /^[0-9a-f]{16}$/.test(x.h) &&
      time(x.c, now) && time(x.u, now) && x.c <= x.u;
    if (ok) f[k] = { v: x.v as SeverityLabel, h: x.h as string, c: x.c as number, u: x.u as number };
    else dropped++;
  }
  const m: Record<string, ComplianceEntry> = {};
  for (const [id, e] of mIn) {
    const x = e as Partial<ComplianceEntry> | null;
    const ok = INSTANCE_ID.test(id) && !!x && typeof x === 'object' && parseItemsSignature(x.i) !== undefined && time(x.u, now);
    if (ok) m[id] = { i: x.i as string, u: x.u as number };
    else dropped++;
  }
  return { state: { v: EXPORT_STATE_VERSION, f, m }, droppedEntries: dropped, ...(dropped > 0 ? { refused: `${dropped} invalid entries dropped` } : {}) };
}
