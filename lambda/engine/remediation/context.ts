/**
 * What every phase of an invocation shares: the run state, the resolved timing options, the clock,
 * the audit trail (buffered, flushed in batches; it also keeps the counters) and the deadline
 * arithmetic. Phases are functions of a {@link RunContext}, so each can be tested alone on a state
 * made by hand.
 */
import type { RemediationAction } from '../../core/remediation/plan';
import type { Settings } from '../../core/settings';
import type { AuditActionDetail, AuditOutcome, AuditSink, Clock, EngineLogger, FreshImdsOptions, ImdsPort } from '../ports';
import type { RunState } from './state';
import type { RemediationDeps, RemediationOptions } from './types';

/** {@link RemediationOptions} with every default applied (and bounds enforced). */
export interface ResolvedOptions {
  readonly deadline: number;
  readonly verifyTimeoutMs: number;
  readonly verifyPollMs: number;
  readonly verifyMinAgeMs: number;
  readonly imdsChunkSize: number;
  readonly guestVerifySeconds: number;
  readonly guestWaveBatches: number;
  readonly guestWaveBudgetMs: number;
  readonly reserveMs: number;
}

export function resolveOptions(opts: RemediationOptions): ResolvedOptions {
  const guestVerifySeconds = Math.max(0, Math.min(999, Math.floor(opts.guestVerifySeconds ?? 60)));
  return {
    deadline: opts.deadline,
    verifyTimeoutMs: opts.verifyTimeoutMs ?? 120_000,
    verifyPollMs: opts.verifyPollMs ?? 5_000,
    verifyMinAgeMs: opts.verifyMinAgeMs ?? 2_000,
    imdsChunkSize: Math.max(1, Math.min(200, opts.imdsChunkSize ?? 100)),
    guestVerifySeconds,
    guestWaveBatches: Math.max(1, opts.guestWaveBatches ?? 5),
    guestWaveBudgetMs: opts.guestWaveBudgetMs ?? (guestVerifySeconds + 180) * 1000,
    reserveMs: opts.reserveMs ?? 5_000,
  };
}

/** Extra facts of one audit record. */
export interface AuditExtra {
  readonly reason?: string;
  readonly before?: unknown;
  readonly after?: unknown;
  /** Logged, not sent. */
  readonly error?: string;
}

/**
 * The run's audit trail: each record is logged at once and buffered for EventBridge (sent by
 * `flush`, in batches), and counted in the state (counters, reasons).
 */
export class AuditTrail {
  private readonly pending: AuditActionDetail[] = [];

  constructor(
    private readonly sink: AuditSink,
    private readonly clock: Clock,
    private readonly log: EngineLogger | undefined,
    private readonly state: () => RunState,
  ) {}

  record(instanceId: string, action: RemediationAction, outcome: AuditOutcome, extra: AuditExtra = {}): void {
    const state = this.state();
    const detail: AuditActionDetail = {
      runId: state.runId,
      instanceId,
      action,
      outcome,
      ...(extra.reason !== undefined ? { reason: extra.reason } : {}),
      ...(extra.before !== undefined ? { before: extra.before } : {}),
      ...(extra.after !== undefined ? { after: extra.after } : {}),
      dryRun: state.dryRun,
      at: new Date(this.clock.now()).toISOString(),
    };
    this.pending.push(detail);
    this.log?.info('remediation-action', { ...detail, ...(extra.error ? { error: extra.error } : {}) });
    const c = state.counts;
    if (outcome === 'planned') c.planned++;
    else if (outcome === 'verified') c.succeeded++;
    else if (outcome === 'failed') c.failed++;
    else if (outcome === 'rolled-back') c.rolledBack++;
    else if (outcome === 'skipped') c.skipped++;
    if ((outcome === 'skipped' || outcome === 'failed' || outcome === 'rolled-back') && extra.reason) {
      const key = `${outcome}:${extra.reason}`;
      state.reasons[key] = (state.reasons[key] ?? 0) + 1;
    }
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending.splice(0, this.pending.length);
    await this.sink.actions(batch);
  }
}

/** What a phase works with. */
export interface RunContext {
  readonly state: RunState;
  readonly settings: Settings;
  readonly options: ResolvedOptions;
  readonly clock: Clock;
  readonly log?: EngineLogger;
  readonly deps: RemediationDeps;
  /** This invocation's IMDS port (its modify bucket resumed from the continuation). */
  readonly imds: ImdsPort;
  readonly trail: AuditTrail;
  /** Records one action (see {@link AuditTrail.record}). */
  audit(instanceId: string, action: RemediationAction, outcome: AuditOutcome, extra?: AuditExtra): void;
  /** Milliseconds left before the deadline, the reserve kept back. */
  timeLeft(): number;
  /**
   * Fresh IMDS options (opt-out included), or undefined when EC2 kept throttling past the retries:
   * the caller waits and looks again. Any other error is run-level: thrown.
   */
  describeOrWait(ids: readonly string[]): Promise<Map<string, FreshImdsOptions> | undefined>;
}

/** Builds the context of one invocation. */
export function createRunContext(args: {
  readonly state: RunState;
  readonly settings: Settings;
  readonly options: ResolvedOptions;
  readonly deps: RemediationDeps;
  readonly trail: AuditTrail;
  readonly imds: ImdsPort;
}): RunContext {
  const { state, options, deps, trail, imds } = args;
  const { clock } = deps;
  const log = deps.logger;
  return {
    ...args,
    clock,
    ...(log ? { log } : {}),
    audit: (id, action, outcome, extra) => trail.record(id, action, outcome, extra),
    timeLeft: () => options.deadline - options.reserveMs - clock.now(),
    async describeOrWait(ids) {
      const read = await imds.describe(ids);
      if (read.outcome === 'described') return read.instances;
      log?.warn('remediation-describe-throttled', { runId: state.runId, instances: ids.length });
      return undefined;
    },
  };
}
