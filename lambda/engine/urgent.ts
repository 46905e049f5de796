/**
 * The urgent path (docs/remediation.md, "Urgent hosts"): after an hourly check, the instances whose
 * wait for the night would be the outage are handed to the remediation state machine at once, the
 * same engine, plan, caps, opt-out, dry run, pacing and audit as the nightly run, restricted to them.
 *
 * 1. Read the machine's last 24 h (`readUrgentHistory`): who the urgent path took, what the budget
 *    day has spent. Not readable → nothing is started (the nightly run takes them).
 * 2. Decide (`decideUrgent`, pure): urgent, changed by the nightly plan, not taken within 24 h.
 * 3. No overlap: a whole-region run in progress (the night) takes them at once; while another run
 *    of the machine is RUNNING, wait for it (polling, until this invocation's deadline), then read the history again (that run may have fixed them or spent the
 *    budget). Still running at the deadline: the ids are not started, logged `urgent-deferred`, and
 *    the next check, which finds them still urgent and not taken, takes them.
 * 4. Start one execution named `urgent-<time>-<hash>` with `{ trigger, instanceIds, capSpent }`.
 */
import { createHash } from 'node:crypto';
import { coveredByRunning, decideUrgent, type ExecutionRecord, readUrgentHistory, URGENT_RETRY_WINDOW_MS, URGENT_TRIGGER, urgentExecutionName, type UrgentDecision, type UrgentSettings } from '../core/fleet/urgent';
import type { InstanceEvaluation } from '../core/types';
import type { Clock, EngineLogger } from './ports';

/** The machine as the urgent path uses it (lambda/aws/remediation-executions.ts). */
export interface UrgentExecutions {
  history(since: number): Promise<ExecutionRecord[]>;
  running(): Promise<boolean>;
  start(input: Record<string, unknown>, name?: string): Promise<string>;
}

export interface UrgentDeps {
  readonly executions: UrgentExecutions;
  readonly clock: Clock;
  readonly logger: EngineLogger;
}

/** What the urgent path did after one check (the check summary's `urgent` field). */
export interface UrgentOutcome {
  /** started: an execution was started; none: nothing to start; night: a whole-region run in progress takes them; deferred: a run was still going at the deadline; unread: the history could not be read; failed: the start was refused. */
  readonly result: 'started' | 'none' | 'night' | 'deferred' | 'unread' | 'failed';
  readonly started: readonly string[];
  readonly executionArn?: string;
  /** Urgent again within 24 h of the urgent path's take: left to the nightly run (the UrgentRepeat alarm). */
  readonly repeat: readonly string[];
  /** Urgent, but the nightly plan would change nothing on them: never started. */
  readonly unfixable: readonly string[];
  readonly deferred: readonly string[];
  readonly capSpent?: number;
  readonly error?: string;
}

/** Wait between two looks at a running execution. */
export const URGENT_POLL_MS = 30_000;

function message(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Runs the urgent path over one completed check's evaluations; never throws (a failure is logged and returned). */
export async function runUrgentPath(deps: UrgentDeps, settings: UrgentSettings, evaluations: readonly InstanceEvaluation[], deadline: number): Promise<UrgentOutcome> {
  const { clock, logger, executions } = deps;
  const empty = { started: [], repeat: [], unfixable: [], deferred: [] } as const;
  let remaining = evaluations;
  const look = async (): Promise<{ decision: UrgentDecision; capSpent: number | undefined; running: boolean; records: ExecutionRecord[] }> => {
    const now = clock.now();
    const records = await executions.history(now - URGENT_RETRY_WINDOW_MS);
    const memory = readUrgentHistory(records, now);
    return { decision: decideUrgent(remaining, settings, memory, now), capSpent: memory.capSpent, running: memory.running, records };
  };
  // Most hourly checks find no host to start: decided without the history (a host is only ever
  // held back by it, never added), so the history is not read and the Step Functions client never loads.
  const first = decideUrgent(evaluations, settings, { takenAt: new Map() }, clock.now());
  if (first.start.length === 0) return { ...empty, result: 'none', unfixable: first.unfixable, deferred: first.overLimit };
  let state;
  try {
    state = await look();
    // Only a run we would start waits: no urgent host, no wait and no second read.
    while (state.decision.start.length > 0 && (state.running || (await executions.running()))) {
      // A whole-region run in progress (the night) checks and fixes every host afresh: no wait, it takes them.
      if (coveredByRunning(state.records) === 'all') {
        logger.info('urgent-left-to-night', { instances: state.decision.start.length, reason: 'a whole-region remediation run is in progress' });
        return { ...empty, result: 'night', repeat: state.decision.repeat, unfixable: state.decision.unfixable };
      }
      if (clock.now() + URGENT_POLL_MS > deadline) {
        logger.warn('urgent-deferred', { instances: state.decision.start.length, instanceIds: state.decision.start, reason: 'a remediation run is still in progress; the next check takes them' });
        return { ...empty, result: 'deferred', deferred: state.decision.start, repeat: state.decision.repeat, unfixable: state.decision.unfixable };
      }
      const before = state.records;
      await clock.sleep(URGENT_POLL_MS);
      if (await executions.running()) continue;
      // The run that ended checked afresh what it covered (the night: everything) and spent budget: decide again on the rest.
      const covered = coveredByRunning(before);
      remaining = covered === 'all' ? [] : remaining.filter((e) => !covered.has(e?.instanceId));
      state = await look();
    }
  } catch (err) {
    logger.error('urgent-history-unread', { error: message(err) });
    return { ...empty, result: 'unread', error: message(err) };
  }
  const { decision, capSpent } = state;
  if (decision.repeat.length > 0) logger.warn('urgent-repeat', { instanceIds: decision.repeat, reason: 'urgent again within 24 h of an urgent fix: left to the nightly run' });
  const common = { repeat: decision.repeat, unfixable: decision.unfixable, deferred: decision.overLimit };
  if (decision.start.length === 0) return { ...empty, ...common, result: 'none' };
  if (capSpent === undefined) {
    logger.error('urgent-history-unread', { error: 'the budget day spent by the last whole-region run could not be read' });
    return { ...empty, ...common, result: 'unread', deferred: decision.start };
  }
  const ids = decision.start;
  const at = clock.now();
  const name = urgentExecutionName(at, createHash('sha256').update(ids.join(',')).digest('hex'));
  try {
    const executionArn = await executions.start({ trigger: URGENT_TRIGGER, instanceIds: ids, capSpent }, name);
    logger.info('urgent-remediation-started', { executionArn, instances: ids.length, capSpent, reasons: Object.fromEntries(ids.map((id) => [id, decision.reasons[id]])) });
    return { ...common, result: 'started', started: ids, executionArn, capSpent };
  } catch (err) {
    logger.error('urgent-remediation-request-failed', { error: message(err), instances: ids.length });
    return { ...empty, ...common, result: 'failed', error: message(err), deferred: ids };
  }
}
