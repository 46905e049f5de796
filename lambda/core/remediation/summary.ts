/**
 * The run summary of a remediation (pure): its shape (the state machine's output, the SNS message
 * and the summary event's detail), the SNS subject line and the metric values of a finished run.
 */

/** Where a run is: the IMDS side's progress (the guest side's is its pending list). */
export type RemediationPhase = 'imds' | 'imds-verify' | 'guest' | 'done';

/** Counters of one run (per action: an instance with two actions counts twice). */
export interface RemediationCounts {
  planned: number;
  attempted: number;
  succeeded: number;
  failed: number;
  rolledBack: number;
  skipped: number;
}

/** The run summary: the state machine's output, the SNS message and the summary event's detail. */
export interface RemediationSummary {
  readonly runId: string;
  readonly dryRun: boolean;
  readonly done: boolean;
  readonly phase: RemediationPhase;
  readonly startedAt: string;
  readonly finishedAt?: string;
  /** Lambda invocations used so far. */
  readonly invocations: number;
  readonly fleetSize: number;
  readonly cap: number;
  /** Instances the plan selected (would-change in dry run). */
  readonly plannedInstances: number;
  readonly counts: RemediationCounts;
  /** Skipped and failed actions by reason. */
  readonly reasons: Record<string, number>;
  /** Work not yet done (non-zero only when `done` is false). */
  readonly pending: { readonly imds: number; readonly verifying: number; readonly guest: number };
  /** Guest step stopped because failures passed MaxErrors. */
  readonly guestStoppedAtMaxErrors: boolean;
  /** Audit events EventBridge did not accept (each was logged instead). */
  readonly auditLost: number;
}

/** Metric values of a finished run (names: REMEDIATION_METRICS). */
export interface RemediationMetricValues {
  readonly attempted: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly rolledBack: number;
  readonly skipped: number;
  /** 1: the whole run finished (heartbeat). */
  readonly completed: 1;
}

/** What a summary is built from (the engine's state, reduced). */
export type SummaryInput = Pick<
  RemediationSummary,
  'runId' | 'dryRun' | 'phase' | 'invocations' | 'fleetSize' | 'cap' | 'plannedInstances' | 'counts' | 'reasons' | 'pending' | 'auditLost'
> & {
  /** Clock ms. */
  readonly startedAt: number;
  readonly guestStopped: boolean;
};

/** The summary of an invocation; `finishedAt` only once the run is done. */
export function buildSummary(s: SummaryInput, now: number): RemediationSummary {
  const done = s.phase === 'done';
  return {
    runId: s.runId,
    dryRun: s.dryRun,
    done,
    phase: s.phase,
    startedAt: new Date(s.startedAt).toISOString(),
    ...(done ? { finishedAt: new Date(now).toISOString() } : {}),
    invocations: s.invocations,
    fleetSize: s.fleetSize,
    cap: s.cap,
    plannedInstances: s.plannedInstances,
    counts: { ...s.counts },
    reasons: { ...s.reasons },
    pending: { ...s.pending },
    guestStoppedAtMaxErrors: s.guestStopped,
    auditLost: s.auditLost,
  };
}

/** The SNS subject line of a finished run. */
export function summarySubject(s: Pick<RemediationSummary, 'runId' | 'dryRun' | 'counts'>): string {
  return `timesync-guard remediation ${s.dryRun ? '(dry run) ' : ''}${s.runId}: ${s.counts.succeeded} fixed, ${s.counts.failed} failed, ${s.counts.rolledBack} rolled back`;
}

/** The metric values of a finished run. */
export function remediationMetricValues(c: RemediationCounts): RemediationMetricValues {
  return { attempted: c.attempted, succeeded: c.succeeded, failed: c.failed, rolledBack: c.rolledBack, skipped: c.skipped, completed: 1 };
}
