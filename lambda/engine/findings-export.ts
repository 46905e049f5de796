/**
 * After a check run: the findings to Security Hub and the compliance items to Systems Manager,
 * only what changed since the last run (lambda/core/findings-export/plan.ts), within the run's
 * remaining time. Never throws and never fails the check: Security Hub switched off in the account,
 * a denied call or an unreadable state is one log line and a count in the summary.
 *
 * An import or put that did not happen (failed, deferred past the deadline) is not recorded in the
 * stored state, so the next run does it again. When the stored state cannot be read, nothing is
 * exported (fixed findings are archived only from the state: a run without it would forget them).
 */
import type { AsffContext } from '../core/findings-export/asff';
import { type ExportOptions, type ExportPlan, nextExportState, planExport, type PlannedImport } from '../core/findings-export/plan';
import { COMPLIANCE_TYPE } from '../core/findings-export/compliance';
import { MAX_COMPLIANCE_ENTRIES, MAX_FINDING_ENTRIES, parseExportState, serializeExportState } from '../core/findings-export/state';
import type { InstanceEvaluation } from '../core/types';
import type { Clock, CompliancePort, EngineLogger, ExportStateStore, SecurityHubPort } from './ports';

/** BatchImportFindings takes at most 100 findings per call (Security Hub partner guide). */
export const IMPORT_BATCH_SIZE = 100;

export interface FindingsExportDeps {
  /** @default - no Security Hub export */
  readonly securityHub?: SecurityHubPort;
  /** @default - no compliance export */
  readonly compliance?: CompliancePort;
  readonly store: ExportStateStore;
  readonly clock: Clock;
  readonly logger?: EngineLogger;
}

export interface FindingsExportOptions extends Pick<ExportOptions, 'complete'> {
  readonly context: AsffContext;
  /** Identifies the run in the compliance ExecutionSummary (≤ 100 characters). */
  readonly runId: string;
  /** Clock ms after which no further call is started (the rest waits for the next run). @default - no limit */
  readonly deadline?: number;
}

/** What one export did (logged in the check summary; the metrics come from it). */
export interface FindingsExportSummary {
  /** Skipped entirely (and why): the state could not be read. */
  readonly skipped?: string;
  readonly stateRefused?: string;
  readonly securityHubNotSubscribed: boolean;
  readonly importCalls: number;
  /** Findings accepted: ACTIVE (new, changed or refreshed) and ARCHIVED (fixed or gone). */
  readonly findingsImported: number;
  readonly findingsArchived: number;
  /** Findings Security Hub refused (after one retry) or whose call failed. */
  readonly findingsFailed: number;
  readonly findingsUnchanged: number;
  readonly compliancePuts: number;
  readonly complianceFailed: number;
  readonly complianceUnchanged: number;
  /** Imports and puts left for the next run (deadline). */
  readonly deferred: number;
  readonly errors: readonly string[];
}

const EMPTY: FindingsExportSummary = {
  securityHubNotSubscribed: false, importCalls: 0, findingsImported: 0, findingsArchived: 0, findingsFailed: 0, findingsUnchanged: 0,
  compliancePuts: 0, complianceFailed: 0, complianceUnchanged: 0, deferred: 0, errors: [],
};

const errorText = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/** Runs one export. */
export async function exportFindings(deps: FindingsExportDeps, evaluations: readonly InstanceEvaluation[], o: FindingsExportOptions): Promise<FindingsExportSummary> {
  const { clock, logger } = deps;
  if (!deps.securityHub && !deps.compliance) return EMPTY;
  let text: string | undefined;
  try {
    text = await deps.store.read();
  } catch (err) {
    const error = errorText(err);
    logger?.error('findings-export-skipped', { reason: 'state unreadable', error });
    return { ...EMPTY, skipped: `state unreadable: ${error}`, errors: [error] };
  }
  // Whole milliseconds: the stored state accepts only those, and a clock may have finer ones (a
  // fractional time would make every entry invalid on the next read, and everything be imported again).
  const now = Math.floor(clock.now());
  const parsed = parseExportState(text, now);
  if (parsed.refused) logger?.warn('findings-export-state-refused', { reason: parsed.refused });
  const plan = planExport(evaluations, parsed.state, o.context, now, { securityHub: !!deps.securityHub, ssmCompliance: !!deps.compliance, complete: o.complete });
  const timeLeft = (): boolean => o.deadline === undefined || clock.now() < o.deadline;
  const errors: string[] = [];

  const imports = deps.securityHub ? await runImports(deps.securityHub, plan, timeLeft, errors) : { imported: new Set<string>(), calls: 0, failed: 0, notSubscribed: false, deferred: 0 };
  if (imports.notSubscribed) {
    logger?.warn('security-hub-not-subscribed', { message: 'Security Hub is not enabled in this account and region: no finding was imported (enable it, or set securityHub: false)', account: o.context.accountId, region: o.context.region });
  }
  const put = new Set<string>();
  let complianceFailed = 0;
  let deferredPuts = 0;
  for (const p of plan.puts) {
    if (!timeLeft()) {
      deferredPuts++;
      continue;
    }
    // A compliance export that is not configured never reaches here (plan has no puts).
    const r = await (deps.compliance as CompliancePort).put({ instanceId: p.instanceId, items: p.items, itemContentHash: p.hash, executionId: o.runId.slice(0, 100), executionTime: now });
    if (r.outcome === 'put') put.add(p.instanceId);
    else if (r.outcome === 'failed') {
      complianceFailed++;
      if (errors.length < 10) errors.push(`PutComplianceItems ${p.instanceId}: ${r.error}`);
    }
  }
  if (complianceFailed > 0) logger?.error('compliance-put-failed', { type: COMPLIANCE_TYPE, failed: complianceFailed, errors });

  const next = bounded(nextExportState(parsed.state, plan, imports.imported, put));
  try {
    await deps.store.write(serializeExportState(next));
  } catch (err) {
    const error = errorText(err);
    errors.push(`state not written: ${error}`);
    logger?.error('findings-export-state-not-written', { error });
  }
  const archived = plan.imports.filter((i) => i.entry === null && imports.imported.has(i.key)).length;
  return {
    ...(parsed.refused ? { stateRefused: parsed.refused } : {}),
    securityHubNotSubscribed: imports.notSubscribed,
    importCalls: imports.calls,
    findingsImported: imports.imported.size - archived,
    findingsArchived: archived,
    findingsFailed: imports.failed,
    findingsUnchanged: plan.unchangedFindings,
    compliancePuts: put.size,
    complianceFailed,
    complianceUnchanged: plan.unchangedInstances,
    deferred: imports.deferred + deferredPuts,
    errors,
  };
}

/** Beyond the bounds nothing new is remembered (those findings are simply imported again next run). */
function bounded(s: ReturnType<typeof nextExportState>): ReturnType<typeof nextExportState> {
  const f = Object.entries(s.f);
  const m = Object.entries(s.m);
  if (f.length <= MAX_FINDING_ENTRIES && m.length <= MAX_COMPLIANCE_ENTRIES) return s;
  return { v: s.v, f: Object.fromEntries(f.slice(0, MAX_FINDING_ENTRIES)), m: Object.fromEntries(m.slice(0, MAX_COMPLIANCE_ENTRIES)) };
}

async function runImports(
  hub: SecurityHubPort,
  plan: ExportPlan,
  timeLeft: () => boolean,
  errors: string[],
): Promise<{ imported: Set<string>; calls: number; failed: number; notSubscribed: boolean; deferred: number }> {
  const imported = new Set<string>();
  let calls = 0;
  let notSubscribed = false;
  let pending: PlannedImport[] = [...plan.imports];
  const failedFinal = new Set<string>();
  // Two rounds: the findings Security Hub refused in the first (FailedFindings) get one more try.
  for (let round = 0; round < 2 && pending.length > 0 && !notSubscribed; round++) {
    const retry: PlannedImport[] = [];
    for (let k = 0; k < pending.length; k += IMPORT_BATCH_SIZE) {
      if (!timeLeft()) break;
      const batch = pending.slice(k, k + IMPORT_BATCH_SIZE);
      calls++;
      const r = await hub.importFindings(batch.map((b) => b.finding));
      if (r.outcome === 'not-subscribed') {
        notSubscribed = true;
        break;
      }
      if (r.outcome === 'failed') {
        for (const b of batch) failedFinal.add(b.key);
        if (errors.length < 10) errors.push(`BatchImportFindings: ${r.error}`);
        continue;
      }
      const refused = new Map(r.failed.map((f) => [f.id, f]));
      for (const b of batch) {
        const f = refused.get(b.finding.Id);
        if (!f) {
          imported.add(b.key);
          failedFinal.delete(b.key);
        } else if (round === 0) retry.push(b);
        else {
          failedFinal.add(b.key);
          if (errors.length < 10) errors.push(`${b.finding.Id}: ${f.code} ${f.message}`);
        }
      }
    }
    pending = retry;
  }
  const settled = imported.size + failedFinal.size;
  return { imported, calls, failed: notSubscribed ? 0 : failedFinal.size, notSubscribed, deferred: notSubscribed ? 0 : Math.max(0, plan.imports.length - settled) };
}
