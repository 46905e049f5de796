/**
 * The check handler's urgent hook (kept apart so the handler stays one line per concern): runs the
 * urgent path after a completed check when it is live, adds its metrics, and wires the adapter.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { lazyRemediationExecutions } from '../aws/lazy-adapters';
import type { Clock } from '../aws/clock';
import { URGENT_METRICS } from '../core/fleet/metric-names';
import { URGENT_STATE_MACHINE_ENV } from '../core/fleet/urgent';
import type { CheckSettings } from '../core/settings';
import type { InstanceEvaluation } from '../core/types';
import type { EngineLogger, MetricSink } from '../engine/ports';
import { runUrgentPath, type UrgentExecutions, type UrgentOutcome } from '../engine/urgent';

/** Time kept back from the Lambda's remaining time for the summary and metrics after a wait for a running remediation. */
const URGENT_RESERVE_MS = 60_000;

/** The urgent path after a completed check; undefined when it is not live. */
export async function urgentAfterCheck(
  deps: { readonly settings: CheckSettings; readonly urgent?: UrgentExecutions; readonly clock: Clock; readonly logger: EngineLogger; readonly metrics: Pick<MetricSink, 'addMetric'> },
  evaluations: readonly InstanceEvaluation[],
  context?: { getRemainingTimeInMillis(): number },
): Promise<UrgentOutcome | undefined> {
  if (!deps.settings.urgentRemediation || !deps.urgent) return undefined;
  const remaining = context?.getRemainingTimeInMillis();
  // Without a Lambda context (a test, a local run) nothing waits for a running remediation.
  const deadline = deps.clock.now() + (typeof remaining === 'number' && Number.isFinite(remaining) ? Math.max(0, remaining - URGENT_RESERVE_MS) : 0);
  const outcome = await runUrgentPath({ executions: deps.urgent, clock: deps.clock, logger: deps.logger }, deps.settings, evaluations, deadline);
  if (outcome.started.length > 0) deps.metrics.addMetric(URGENT_METRICS.started, MetricUnit.Count, outcome.started.length);
  if (outcome.repeat.length > 0) deps.metrics.addMetric(URGENT_METRICS.repeat, MetricUnit.Count, outcome.repeat.length);
  return outcome;
}

/** The real adapter, when the construct made the urgent path live (its ARN set on the check function). */
export function wireUrgentExecutions(settings: CheckSettings, clock: Clock, env: NodeJS.ProcessEnv = process.env): { urgent?: UrgentExecutions } {
  const arn = env[URGENT_STATE_MACHINE_ENV];
  return settings.urgentRemediation && arn ? { urgent: lazyRemediationExecutions(arn, clock) } : {};
}
