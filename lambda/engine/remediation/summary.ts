/**
 * The end of every invocation: the summary, then either the signed continuation (more to do) or,
 * once the run is done, the summary event, the SNS message and the metrics.
 */
import { buildSummary, remediationMetricValues, summarySubject } from '../../core/remediation/summary';
import type { RunContext } from './context';
import { encodeContinuation } from './continuation';
import { GUEST_PHASE } from './guest-phase';
import { imdsStages } from './imds-phase';
import type { ActionPhase } from './phase';
import type { RemediationResult } from './types';

/** Closes an invocation (the state's lists say what is pending). */
export async function finishInvocation(ctx: RunContext, key: Uint8Array, phases: readonly ActionPhase[]): Promise<RemediationResult> {
  const { state, clock, log, deps } = ctx;
  const imds = imdsStages(state);
  const summary = buildSummary(
    { ...state, pending: { imds: imds.pending.length, verifying: imds.verifying.length, guest: state.actions?.[GUEST_PHASE.key]?.length ?? 0 } },
    clock.now(),
  );
  if (!summary.done) {
    const continuation = encodeContinuation(state, key, clock.now(), phases);
    log?.info('remediation-continue', { ...summary, continuationBytes: continuation.length });
    return { done: false, continuation, summary };
  }
  log?.info('remediation-summary', { ...summary });
  await deps.audit.summary({ ...summary });
  const sent = await (deps.notifier?.publish(summarySubject(summary), { ...summary }) ?? Promise.resolve(false));
  if (deps.notifier && !sent) log?.warn('remediation-summary-not-sent', { runId: state.runId });
  await deps.metrics?.(remediationMetricValues(state.counts));
  return { done: true, summary };
}
