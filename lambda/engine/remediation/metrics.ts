/** The remediation metric set of a finished run, published through the MetricSink port (EMF). */
import { REMEDIATION_METRICS } from '../../core/fleet/metric-names';
import type { RemediationMetricValues } from '../../core/remediation/summary';
import type { MetricSink } from '../ports';

/**
 * Emits the remediation metric set (EMF, the `service` dimension only) in one flush: the heartbeat
 * `RemediationCompleted` every run, each count only when it is not 0 (absent: 0). A custom metric is
 * billed by the hours it is published in and no alarm reads these counts (the run summary names
 * every failure), so a quiet night pays for the heartbeat alone; as the check's sparse metrics.
 */
export function publishRemediationMetrics(metrics: MetricSink, v: RemediationMetricValues): void {
  const counts: [string, number][] = [
    [REMEDIATION_METRICS.attempted, v.attempted],
    [REMEDIATION_METRICS.succeeded, v.succeeded],
    [REMEDIATION_METRICS.failed, v.failed],
    [REMEDIATION_METRICS.rolledBack, v.rolledBack],
    [REMEDIATION_METRICS.skipped, v.skipped],
  ];
  for (const [name, n] of counts) if (n !== 0) metrics.addMetric(name, 'Count', n);
  metrics.addMetric(REMEDIATION_METRICS.remediationCompleted, 'Count', v.completed);
  metrics.publishStoredMetrics();
}
