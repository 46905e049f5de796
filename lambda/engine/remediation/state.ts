/**
 * The state of one remediation run: everything a continuation carries (see ./continuation.ts) and
 * every phase reads and advances. Settings are never part of it: each invocation applies the
 * current ones.
 */
import type { AccountDefaultsRunRecord } from '../../core/fleet/metadata-defaults';
import type { TokenBucketState } from '../../core/util/token-bucket';
import type { RemediationCounts, RemediationPhase } from '../../core/remediation/summary';
import type { Platform } from '../../core/types';

export type { RemediationCounts, RemediationPhase };

/** An IMDS change still to make (the IMDS phase's pending stage: ./imds-phase.ts). */
export interface ImdsItem {
  id: string;
  /**
   * > 0: raise the hop limit (to the CURRENT `hopLimitTarget`, read at the point of action; the
   * continuation carries only 1/0), 0: no hop change.
   */
  hop: number;
  /** Hop limit the plan saw (−1 = unreported). */
  from: number;
  endpoint: boolean;
  /**
   * Further metadata-options rows to set (their parameters; each to the row's desired value at the
   * point of action). Absent: none.
   */
  opts?: string[];
}
/** An IMDS change made and not yet seen `applied` (the IMDS phase's verifying stage). */
export interface VerifyItem {
  id: string;
  /** The hop limit sent (0: none). */
  hop: number;
  endpoint: boolean;
  /** Clock ms of the Modify call: its presence marks the stage (a pending item has none). */
  at: number;
  /** Describes that have seen it not yet applied. */
  seen: number;
  /** Further metadata-options rows sent (their parameters). Absent: none. */
  opts?: string[];
}
/** An instance still to get the remediation document (the guest phase's item). */
export interface GuestItem {
  id: string;
  platform: Platform;
  ipv6: boolean;
}


/**
 * The pending items of each action phase (see ./phase.ts), by phase key (the IMDS side's: `imds`,
 * the guest document's: `guest`).
 */
export type ActionPhaseItems = Record<string, { id: string }[]>;

/** The mutable state of a run. */
export interface RunState {
  runId: string;
  startedAt: number;
  invocations: number;
  phase: RemediationPhase;
  dryRun: boolean;
  fleetSize: number;
  cap: number;
  plannedInstances: number;
  counts: RemediationCounts;
  reasons: Record<string, number>;
  bucket?: TokenBucketState;
  /** The guest phase's MaxErrors counters (its items are `actions.guest`: ./guest-phase.ts). */
  guestPlanned: number;
  guestFailures: number;
  guestStopped: boolean;
  auditLost: number;
  /** Pending items of the action phases, by key (absent or empty: none). */
  actions?: ActionPhaseItems;
  /** The account-defaults step of this run (first invocation), carried to the final summary. */
  accountDefaults?: AccountDefaultsRunRecord;
}


/** A fresh run's state before the plan fills its lists. */
export function newRunState(init: Pick<RunState, 'runId' | 'startedAt' | 'dryRun' | 'fleetSize' | 'cap' | 'plannedInstances'>): RunState {
  return {
    runId: init.runId,
    startedAt: init.startedAt,
    invocations: 1,
    phase: 'imds',
    dryRun: init.dryRun,
    fleetSize: init.fleetSize,
    cap: init.cap,
    plannedInstances: init.plannedInstances,
    counts: { planned: 0, attempted: 0, succeeded: 0, failed: 0, rolledBack: 0, skipped: 0 },
    reasons: {},
    guestPlanned: 0,
    guestFailures: 0,
    guestStopped: false,
    auditLost: 0,
  };
}
