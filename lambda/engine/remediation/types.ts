/** The remediation engine's inputs and outputs (its dependencies are ports: ../ports.ts). */
import type { GuestOutcome } from '../../core/remediation/guest-judgement';
import type { RemediationMetricValues, RemediationSummary } from '../../core/remediation/summary';
import type { TokenBucketState } from '../../core/util/token-bucket';
import type { InstanceEvaluation } from '../../core/types';
import type { AuditSink, Clock, EngineLogger, ImdsPort, Notifier, RunCommandPort } from '../ports';
import type { ActionPhase } from './phase';

/** Fresh fleet data for the plan (the check engine's run, reduced to what planning needs). */
export interface RemediationCheckResult {
  readonly evaluations: readonly InstanceEvaluation[];
  /** Instances seen (opted-out included): the base of the percent cap. @default evaluations.length */
  readonly fleetSize?: number;
  /** Instances with no IPv4 address (the guest must use fd00:ec2::123). */
  readonly ipv6Only?: ReadonlySet<string>;
}

/** Everything the engine talks to; all injected so tests and the benchmark can substitute them. */
export interface RemediationDeps {
  readonly clock: Clock;
  /** Runs the fleet check (only on the first invocation of a run); see ./fresh-check.ts. */
  readonly check: () => Promise<RemediationCheckResult>;
  /** Builds the IMDS port, resuming its token bucket from a continuation. */
  readonly imds: (bucketState?: TokenBucketState) => ImdsPort;
  readonly runCommand: RunCommandPort;
  /** Parses the remediation script's output (`parseRemediationOutput`); must never throw. */
  readonly parseOutput: (text: string) => GuestOutcome;
  readonly audit: AuditSink;
  /**
   * The HMAC-SHA256 key that signs and verifies continuations (the stack's generated secret, read
   * once per container). A continuation without a valid MAC under this key is refused.
   */
  readonly continuationKey: () => Promise<Uint8Array>;
  readonly notifier?: Notifier;
  /** Emits the run's metrics (final invocation only); see ./metrics.ts. */
  readonly metrics?: (values: RemediationMetricValues) => void | Promise<void>;
  readonly logger?: EngineLogger;
  /** @default - time + random suffix */
  readonly newRunId?: () => string;
  /**
   * Action phases run beside the IMDS and guest sides (see ./phase.ts).
   * @default ACTION_PHASES (./phases.ts)
   */
  readonly actionPhases?: readonly ActionPhase[];
}

/** Timing knobs; defaults suit production, tests shrink them. */
export interface RemediationOptions {
  /** Clock ms by which this invocation must have returned (handler: remaining time − margin). */
  readonly deadline: number;
  /** How long an IMDS change may stay un-`applied` before it is a failure. @default 120000 */
  readonly verifyTimeoutMs?: number;
  /** Wait between verification polls once all changes are sent. @default 5000 */
  readonly verifyPollMs?: number;
  /** A change is first checked this long after it was requested. @default 2000 */
  readonly verifyMinAgeMs?: number;
  /** Instances per IMDS chunk: one fresh DescribeInstances before, one verification pass after. @default 100 */
  readonly imdsChunkSize?: number;
  /** The guest script's own bounded wait for a selected Amazon source. @default 60 */
  readonly guestVerifySeconds?: number;
  /** SendCommand batches (≤ 50 ids each) per guest wave; MaxErrors is judged between waves. @default 5 */
  readonly guestWaveBatches?: number;
  /** Time one guest wave may take; a wave starts only if it fits before the deadline. @default (guestVerifySeconds + 180) s */
  readonly guestWaveBudgetMs?: number;
  /** Kept free before the deadline for the final audit/summary calls. @default 5000 */
  readonly reserveMs?: number;
}

/** What one invocation returns: the state machine loops while `done` is false, passing `continuation`. */
export interface RemediationResult {
  readonly done: boolean;
  readonly continuation?: string;
  readonly summary: RemediationSummary;
}
