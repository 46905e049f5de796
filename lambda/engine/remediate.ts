/**
 * The remediation engine's public surface. The engine itself is in ./remediation/ (one module per
 * step: run, start, state, continuation, context, imds-phase, guest-phase, phase, summary,
 * fresh-check, metrics); pure judging is in lambda/core/remediation/.
 */
export type { GuestOutcome } from '../core/remediation/guest-judgement';
export { maxErrorsCount } from '../core/remediation/guest-judgement';
export type { RemediationCounts, RemediationMetricValues, RemediationPhase, RemediationSummary } from '../core/remediation/summary';
export type { EngineLogger } from './ports';
export {
  CONTINUATION_MAX_AGE_MS,
  ContinuationError,
  type ContinuationRefusal,
  continuationFingerprint,
  decodeContinuation,
  encodeContinuation,
  RUN_MAX_AGE_MS,
  signContinuationPayload,
} from './remediation/continuation';
export { freshCheck, RemediationRunError } from './remediation/fresh-check';
export { publishRemediationMetrics } from './remediation/metrics';
export type { ActionPhase, PhaseItem, PlannedAudit } from './remediation/phase';
export { runRemediation } from './remediation/run';
export type { RunState } from './remediation/state';
export type { RemediationCheckResult, RemediationDeps, RemediationOptions, RemediationResult } from './remediation/types';
