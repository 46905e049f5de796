/**
 * What one check run exports: from this run's evaluations and what the last runs exported (the
 * stored state), the findings to import and the compliance puts to make — only what changed — and,
 * once the caller knows which calls succeeded, the state to store. Pure.
 *
 * Findings: a failing check with no stored entry is new (or failing again after it was archived):
 * imported ACTIVE with Workflow NEW. A failing check whose severity or codes changed, or whose
 * entry is older than a day, is imported again. A check that passes again, or every check of an
 * instance that is gone, is imported once more as ARCHIVED and forgotten. A check this run has no
 * evidence for is left alone. Passing checks that never failed are never imported: a healthy fleet
 * costs no import at all.
 *
 * Compliance: every SSM-managed instance gets its items (COMPLETE upload) when they differ from
 * the last put, or the last put is older than a week.
 */
import type { InstanceEvaluation } from '../types';
import { type AsffContext, type AsffFinding, buildFinding, goneFinding } from './asff';
import { type CheckId, judgeChecks } from './checks';
import { type ComplianceItem, complianceItems, itemsHash, itemsSignature, parseItemsSignature } from './compliance';
import { type ComplianceEntry, type ExportState, EXPORT_STATE_VERSION, type FindingEntry, findingHash, findingKey, REFRESH_MS, splitFindingKey } from './state';

/** A compliance put older than this is made again even when nothing changed. */
export const COMPLIANCE_REFRESH_MS = 7 * 24 * 3_600_000;

/** Which exports are on. */
export interface ExportOptions {
  readonly securityHub: boolean;
  readonly ssmCompliance: boolean;
  /**
   * The evaluations cover every running instance of the account-region: an instance with stored
   * findings that is not among them is gone, and its findings are archived. False for a partial
   * view (a slice, a failed run): nothing is archived for absence.
   */
  readonly complete: boolean;
}

/** One finding to import and what to remember once it is imported (null: forget the key). */
export interface PlannedImport {
  readonly key: string;
  readonly finding: AsffFinding;
  readonly entry: FindingEntry | null;
}

/** One compliance put. */
export interface PlannedPut {
  readonly instanceId: string;
  readonly items: readonly ComplianceItem[];
  readonly hash: string;
  readonly entry: ComplianceEntry;
}

export interface ExportPlan {
  readonly imports: readonly PlannedImport[];
  readonly puts: readonly PlannedPut[];
  /** Instances whose compliance entry is dropped without a call (gone: SSM drops a deregistered node's data itself). */
  readonly forget: readonly string[];
  /** Failing findings left as stored because nothing changed. */
  readonly unchangedFindings: number;
  readonly unchangedInstances: number;
}

/** Plans one run's exports. */
export function planExport(evaluations: readonly InstanceEvaluation[], previous: ExportState, c: AsffContext, now: number, o: ExportOptions): ExportPlan {
  const imports: PlannedImport[] = [];
  const puts: PlannedPut[] = [];
  const forget: string[] = [];
  let unchangedFindings = 0;
  let unchangedInstances = 0;
  const seen = new Set<string>();
  for (const e of evaluations) {
    seen.add(e.instanceId);
    if (e.checkState === 'opted-out') continue;
    const judged = judgeChecks(e);
    if (o.securityHub) {
      for (const j of judged) {
        const key = findingKey(e.instanceId, j.check);
        const prev = previous.f[key];
        if (j.status === 'FAILED') {
          const h = findingHash(j.severity, j.codes);
          if (prev && prev.h === h && now - prev.u < REFRESH_MS) {
            unchangedFindings++;
            continue;
          }
          const createdAt = prev?.c ?? now;
          imports.push({ key, finding: buildFinding(c, e, j, { now, createdAt }, !prev), entry: { v: j.severity, h, c: createdAt, u: now } });
        } else if (prev) {
          imports.push({ key, finding: buildFinding(c, e, j, { now, createdAt: prev.c }, false), entry: null });
        }
      }
      if (e.checkState === 'gone') imports.push(...archiveInstance(previous, c, e.instanceId, now, new Set(judged.map((j) => j.check))));
    }
    if (o.ssmCompliance) {
      if (e.checkState === 'gone') {
        if (previous.m[e.instanceId]) forget.push(e.instanceId);
        continue;
      }
      // PutComplianceItems needs an SSM managed node.
      if (e.checkState === 'unmanaged') continue;
      const prev = previous.m[e.instanceId];
      const carried = (prev && parseItemsSignature(prev.i)) || new Map<CheckId, never>();
      const { items, states } = complianceItems(judged, carried);
      if (items.length === 0) continue;
      const signature = itemsSignature(states);
      if (prev && prev.i === signature && now - prev.u < COMPLIANCE_REFRESH_MS) {
        unchangedInstances++;
        continue;
      }
      puts.push({ instanceId: e.instanceId, items, hash: itemsHash(signature), entry: { i: signature, u: now } });
    }
  }
  if (o.complete) {
    const gone = new Set<string>();
    for (const key of Object.keys(previous.f)) {
      const k = splitFindingKey(key);
      if (k && !seen.has(k.instanceId)) gone.add(k.instanceId);
    }
    if (o.securityHub) for (const id of gone) imports.push(...archiveInstance(previous, c, id, now, new Set()));
    for (const id of Object.keys(previous.m)) if (!seen.has(id)) forget.push(id);
  }
  return { imports, puts, forget, unchangedFindings, unchangedInstances };
}

/** The archiving imports of every stored finding of an instance, except the checks already handled. */
function archiveInstance(previous: ExportState, c: AsffContext, instanceId: string, now: number, except: ReadonlySet<CheckId>): PlannedImport[] {
  const out: PlannedImport[] = [];
  for (const [key, entry] of Object.entries(previous.f)) {
    const k = splitFindingKey(key);
    if (!k || k.instanceId !== instanceId || except.has(k.check)) continue;
    out.push({ key, finding: goneFinding(c, instanceId, k.check, { now, createdAt: entry.c }), entry: null });
  }
  return out;
}

/**
 * The state to store after the calls: the previous state with every successful import and put
 * applied. A failed call leaves its entry as it was, so the next run tries again.
 */
export function nextExportState(previous: ExportState, plan: ExportPlan, imported: ReadonlySet<string>, put: ReadonlySet<string>): ExportState {
  const f: Record<string, FindingEntry> = { ...previous.f };
  for (const i of plan.imports) {
    if (!imported.has(i.key)) continue;
    if (i.entry) f[i.key] = i.entry;
    else delete f[i.key];
  }
  const m: Record<string, ComplianceEntry> = { ...previous.m };
  for (const p of plan.puts) if (put.has(p.instanceId)) m[p.instanceId] = p.entry;
  for (const id of plan.forget) delete m[id];
  return { v: EXPORT_STATE_VERSION, f, m };
}
