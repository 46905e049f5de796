/** The remediation engine's inputs and outputs (its dependencies are ports: ../ports.ts). */
import type { GuestOutcome } from '../../core/remediation/guest-judgement';
import type { Imdsv2Candidate } from '../../core/imdsv2/enforcement';
import type { FreshUsage } from '../../core/imdsv2/readiness';
import type { RemediationMetricValues, RemediationSummary } from '../../core/remediation/summary';
import type { TokenBucketState } from '../../core/util/token-bucket';
import type { InstanceEvaluation } from '../../core/types';
import type { AccountDefaultsReport, TokensGate } from '../../core/fleet/metadata-defaults';
import type { AuditSink, Clock, EngineLogger, ImdsPort, MetadataDefaultsPort, Notifier, RunCommandPort } from '../ports';
import type { LaunchSourcesPort } from '../source-ports';
import type { ActionPhase } from './phase';

/** Fresh fleet data for the plan (the check engine's run, reduced to what planning needs). */
export interface RemediationCheckResult {
  readonly evaluations: readonly InstanceEvaluation[];
  /** Instances seen (opted-out included): the base of the percent cap. @default evaluations.length */
  readonly fleetSize?: number;
  /** Instances with no IPv4 address (the guest must use fd00:ec2::123). */
  readonly ipv6Only?: ReadonlySet<string>;
  /** The account metadata defaults as the check judged them (when it read them). */
  readonly accountDefaults?: AccountDefaultsReport;
  /** IMDSv2 readiness and enforcement tag per instance (docs/imdsv2.md); absent when not assessed. */
  readonly imdsv2?: readonly Imdsv2Candidate[];
}

/** One instance whose evaluation the running check has made final (see `CheckStream` in ../check.ts). */
export interface FreshEvaluation {
  readonly evaluation: InstanceEvaluation;
  /** The instance has no IPv4 address. */
  readonly ipv6Only: boolean;
}

/** What the fresh check hands out while it runs, so the plan can start before it ends. */
export interface FreshCheckStream {
  /** Instances listed so far, in all: the percent cap's base (it only grows). */
  listed(count: number): void;
  /** Evaluations that will not change before the check ends, each instance once. */
  evaluated(items: readonly FreshEvaluation[]): void;
}

/** Everything the engine talks to; all injected so tests and the benchmark can substitute them. */
export interface RemediationDeps {
  readonly clock: Clock;
  /**
   * Runs the fleet check (only on the first invocation of a run); see ./fresh-check.ts. With
   * `stream`, it hands each final evaluation out as it comes (a check that cannot simply ignores it).
   */
  readonly check: (stream?: FreshCheckStream) => Promise<RemediationCheckResult>;
  /** Sets the IMDSv2 enforcement tag on an instance (ec2:CreateTags); without it no IMDSv2 enforcement runs. */
  readonly imdsv2Tag?: (instanceId: string, value: string) => Promise<void>;
  /**
   * Fresh `MetadataNoToken` verdicts for the instances about to be switched (`freshUsageRecheck` in
   * ../imdsv2.ts): the plan's readiness came from a stored snapshot. Without it no IMDSv2 enforcement runs.
   */
  readonly imdsv2Recheck?: (ids: readonly string[]) => Promise<ReadonlyMap<string, FreshUsage>>;
  /** The stack's IMDSv2 record key (signs the enforcement tag); without it no IMDSv2 enforcement runs. */
  readonly imdsv2RecordKey?: () => Promise<Uint8Array>;
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
   * Action phases run beside the IMDS side and the phases every run has (./phases.ts: account defaults, guest document).
   * @default ACTION_PHASES (./phases.ts)
   */
  readonly actionPhases?: readonly ActionPhase[];
  /**
   * The account metadata defaults (`accountDefaults: 'set'` writes them; ./account-defaults.ts).
   * @default - not read, not written
   */
  readonly metadataDefaults?: MetadataDefaultsPort;
  /**
   * The IMDSv2 gate's answer (enforcement on, fleet ready) for `HttpTokens=required` as an account default.
   * @default - tokens are never set
   */
  readonly tokensGate?: TokensGate;
  /**
   * Instances the earlier runs of this budget day changed (an urgent run: the nightly run's and the
   * earlier urgent runs' selections since that night); they count against this run's cap.
   * @default 0 (the nightly run: a whole cap)
   */
  readonly capSpent?: number;
  /**
   * The launch sources (templates, groups, AMIs) the source fix reads and, under `launchTemplates: fix`,
   * changes (./launch-template-phase.ts; docs/launch-templates.md).
   * @default - the source fix audits `skipped` / `no-sources-port`
   */
  readonly launchSources?: LaunchSourcesPort;
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
