/**
 * The two-run rule for collectors left running at the straggler cutoff (`pending`). A slow guest
 * is not a sick one: its collector keeps running in SSM, and the next run reads how it ended. So at
 * the end of a run, each instance that is pending again looks at its latest collector invocation
 * of the look-back window (an earlier run's, RunCommandPort.previousResults):
 * - it printed a report and ended no longer than PENDING_RESULT_MAX_AGE_MS ago → the instance is
 *   judged from that report (read, late);
 * - it ended without a report (hung, timed out, failed) or too long ago → not read in two runs:
 *   `check-timed-out`, counted in InstancesNotChecked;
 * - there is none (a new instance, the first run, or the look-up failed) → stays `pending`, not counted.
 * A collector SSM itself ended at its timeout (TimedOut: the document's step timeout, or never
 * delivered) or still undelivered at the run's deadline is late in the same way, only later: it
 * falls under the same rule, so a slow healthy host is never paged for one slow run, on a small
 * fleet (where the straggler cutoff has too few run times to apply) as on a large one.
 * What SSM returns is guest output like any other: it is only ever diagnosed.
 */
import type { CollectionOutcome } from '../core/fleet/evaluate-instance';
import { REPORT_MAGIC } from '../core/diagnosis/report';
import type { Thresholds } from '../core/types';
import type { DiagnoseFn, DocumentStrategy } from './check';
import type { Clock, EngineLogger, InvocationResult, PreviousWindow, RunCommandPort } from './ports';

/** How far back a previous run's command is looked for: two hourly runs, with slack. */
export const PENDING_LOOKBACK_MS = 2 * 3600_000;

/** The oldest previous result that may stand in for this run's (ms before this run's start). */
export const PENDING_RESULT_MAX_AGE_MS = 2 * 3600_000;

/** The comment the check's commands carry (SendCommand `Comment`): only the engine's own commands are read back. */
export const CHECK_COMMAND_COMMENT = 'timesync-guard check';

interface PendingContext {
  readonly startedAt: number;
  readonly deadline?: number;
  readonly clock: Clock;
  readonly diagnose: DiagnoseFn;
  readonly thresholds: Thresholds;
  readonly logger?: EngineLogger;
}

/**
 * Whether this run could not read the collector because it was slow, not because it failed: left
 * running at the straggler cutoff, ended by SSM at its timeout, or not delivered by the deadline.
 */
export function isLate(r: InvocationResult): boolean {
  return r.state === 'pending' || r.state === 'timed-out' || (r.state === 'no-invocation' && r.atDeadline === true);
}

/** A late collector's outcome while nothing earlier settles it: pending, not counted this run. */
function unreadOnce(r: InvocationResult): CollectionOutcome {
  const why = r.state === 'pending' ? undefined : [r.status, r.detail].filter(Boolean).join(': ') || r.state;
  return {
    kind: 'not-checked',
    checkState: 'pending',
    code: 'check-pending',
    ...(why !== undefined ? { detail: `${why}; not read this run, counted only if the next run cannot read it either` } : {}),
  };
}

/**
 * The look-back window of a run started at `startedAt`: the engine's own commands of the collector
 * document in the two hours before it. Undefined for the CLI's scripts (AWS's shared documents,
 * whose other users' commands are not ours to read).
 */
export function previousWindowOf(strategy: DocumentStrategy, startedAt: number): PreviousWindow | undefined {
  if (strategy.kind !== 'document') return undefined;
  return { documentName: strategy.documentName, comment: CHECK_COMMAND_COMMENT, after: startedAt - PENDING_LOOKBACK_MS, before: startedAt };
}

/**
 * The outcome of each late instance (see {@link isLate}): its previous invocation settles it (read
 * late, or unread twice); without one it is pending (not counted). For the CLI's scripts through
 * AWS's shared documents there is no previous run to read: nothing is returned, and the caller
 * judges each result alone (a timeout counts at once there).
 */
export async function resolvePending(
  runCommand: RunCommandPort,
  strategy: DocumentStrategy,
  results: ReadonlyMap<string, InvocationResult>,
  ctx: PendingContext,
): Promise<Map<string, CollectionOutcome>> {
  const out = new Map<string, CollectionOutcome>();
  // The CLI's scripts go through AWS's shared documents, whose other users' commands are not ours to read.
  const window = previousWindowOf(strategy, ctx.startedAt);
  if (!runCommand.previousResults || !window) return out;
  const late = [...results.values()].filter(isLate);
  if (late.length === 0) return out;
  for (const r of late) out.set(r.instanceId, unreadOnce(r));
  const pending = late.map((r) => r.instanceId);
  if (ctx.deadline !== undefined && ctx.clock.now() >= ctx.deadline) return out;
  let previous: Map<string, InvocationResult>;
  try {
    previous = await runCommand.previousResults({ ...window, instanceIds: pending });
  } catch (err) {
    // Nothing read is nothing acted on: they stay pending (not counted) this run.
    ctx.logger?.warn('previous collector results not read', { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err), pending: pending.length });
    return out;
  }
  for (const id of pending) {
    const prev = previous.get(id);
    if (prev) out.set(id, previousOutcome(prev, ctx));
  }
  return out;
}

/** One pending instance's outcome from its previous invocation. */
export function previousOutcome(prev: InvocationResult, ctx: Pick<PendingContext, 'startedAt' | 'diagnose' | 'thresholds'>): CollectionOutcome {
  const finishedAt = prev.finishedAt;
  const fresh = typeof finishedAt === 'number' && Number.isFinite(finishedAt) && finishedAt >= ctx.startedAt - PENDING_RESULT_MAX_AGE_MS && finishedAt <= ctx.startedAt + PENDING_LOOKBACK_MS;
  const output = prev.output ?? '';
  if (fresh && (prev.state === 'success' || prev.state === 'failed') && output.includes(REPORT_MAGIC)) {
    const when = new Date(finishedAt).toISOString();
    return { kind: 'report', verdict: ctx.diagnose(output, ctx.thresholds), detail: `still running at this run's straggler cutoff; judged from the previous run's collector (command ${prev.commandId ?? '?'}, finished ${when})` };
  }
  const why = !fresh && (prev.state === 'success' || prev.state === 'failed') ? 'ended too long ago' : `ended ${prev.status ?? prev.state} without a report`;
  return {
    kind: 'not-checked',
    checkState: 'timed-out',
    code: 'check-timed-out',
    detail: `not read in two runs: still running at this run's straggler cutoff, and the previous run's collector (command ${prev.commandId ?? '?'}) ${why}`,
  };
}
