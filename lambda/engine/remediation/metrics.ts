/** The remediation metric set of a finished run, published through the MetricSink port (EMF). */
import { REMEDIATION_METRICS } from '../../core/fleet/metric-names';
import type { RemediationMetricValues } from '../../core/remediation/summary';
import type { MetricSink } from '../ports';

/** Emits the remediation metric set (EMF, the `service` dimension only) in one flush. */
export function publishRemediationMetrics(metrics: MetricSink, v: RemediationMetricValues): void {
  metrics.addMetric(REMEDIATION_METRICS.attempted, 'Count', v.attempted);
  metrics.addMetric(REMEDIATION_METRICS.succeeded, 'Count', v.succeeded);
  metrics.addMetric(REMEDIATION_METRICS.failed, 'Count', v.failed);
  metrics.addMetric(REMEDIATION_METRICS.rolledBack, 'Count', v.rolledBack);
  metrics.addMetric(REMEDIATION_METRICS.skipped, 'Count', v.skipped);
  metrics.addMetric(REMEDIATION_METRICS.remediationCompleted, 'Count', v.completed);
  metrics.publishStoredMetrics();
}
