/**
 * The IMDSv2 fleet metrics: counts per readiness state and rollbacks, dimension `service` only (the
 * cost stays constant in N; per-instance detail goes to the log record).
 */
import type { Imdsv2State } from './readiness';

export const IMDSV2_METRICS = {
  usesV1: 'Imdsv2UsesV1',
  ready: 'Imdsv2Ready',
  notEnoughHistory: 'Imdsv2NotEnoughHistory',
  alreadyRequired: 'Imdsv2AlreadyRequired',
  /** Enforced instances rolled back to `optional` this run (alarmed above 0). */
  rolledBack: 'Imdsv2RolledBack',
  /** Instances this deployment enforced with IMDSv1 calls rejected within the window (alarmed above 0). */
  rejected: 'Imdsv2Rejected',
} as const;

/** The metric of each state. */
export const IMDSV2_STATE_METRIC: Readonly<Record<Imdsv2State, string>> = {
  'uses-imdsv1': IMDSV2_METRICS.usesV1,
  ready: IMDSV2_METRICS.ready,
  'not-enough-history': IMDSV2_METRICS.notEnoughHistory,
  'already-required': IMDSV2_METRICS.alreadyRequired,
};
