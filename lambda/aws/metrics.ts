/**
 * Publishing the fleet metric set: EMF through Powertools in Lambda (no API call, no IAM for
 * PutMetricData), PutMetricData from the CLI (`--publish`). Same names, same single dimension.
 */
import { type CloudWatchClient, type MetricDatum as CwDatum, PutMetricDataCommand, StandardUnit } from '@aws-sdk/client-cloudwatch';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { type FleetSummary, toMetricData } from '../core/fleet/aggregate';
import { METRIC_DIMENSIONS } from '../core/fleet/metric-names';
import type { Clock } from './clock';
import { withRetry } from './retry';

/**
 * Adds the whole metric set to `metrics` and flushes. Counts are added first so they travel in the
 * first EMF record; Powertools starts a new record every 100 values of `ClockErrorBoundSeconds`
 * (EMF's limit), so 10,000 checked instances make 100 records, each within limits.
 */
export function publishCheckMetrics(metrics: Metrics, summary: FleetSummary): void {
  const data = toMetricData(summary);
  for (const d of data) {
    if (d.unit !== 'Count') continue;
    for (const v of d.values) metrics.addMetric(d.name, MetricUnit.Count, v);
  }
  for (const d of data) {
    if (d.unit !== 'Seconds') continue;
    for (const v of d.values) metrics.addMetric(d.name, MetricUnit.Seconds, v);
  }
  metrics.publishStoredMetrics();
}

/**
 * The same set through PutMetricData (CLI `--publish`). Bound values are sent as Values/Counts
 * (identical values merged, ≤ 150 per datum); ≤ 100 datums per call keeps a request far under
 * the 1 MB limit even with 15,000 distinct values.
 * @returns the number of PutMetricData calls made
 */
export async function putCheckMetrics(cloudwatch: CloudWatchClient, namespace: string, summary: FleetSummary, clock: Clock): Promise<number> {
  const timestamp = new Date(clock.now());
  const dimensions = Object.entries(METRIC_DIMENSIONS).map(([Name, Value]) => ({ Name, Value }));
  const datums: CwDatum[] = [];
  for (const d of toMetricData(summary)) {
    if (d.unit === 'Count') {
      datums.push({ MetricName: d.name, Dimensions: dimensions, Timestamp: timestamp, Unit: StandardUnit.Count, Value: d.values[0] ?? 0 });
      continue;
    }
    const merged = new Map<number, number>();
    for (const v of d.values) merged.set(v, (merged.get(v) ?? 0) + 1);
    const entries = [...merged];
    for (let i = 0; i < entries.length; i += 150) {
      const part = entries.slice(i, i + 150);
      datums.push({
        MetricName: d.name,
        Dimensions: dimensions,
        Timestamp: timestamp,
        Unit: StandardUnit.Seconds,
        Values: part.map(([v]) => v),
        Counts: part.map(([, c]) => c),
      });
    }
  }
  let calls = 0;
  for (let i = 0; i < datums.length; i += 100) {
    const MetricData = datums.slice(i, i + 100);
    await withRetry(() => cloudwatch.send(new PutMetricDataCommand({ Namespace: namespace, MetricData })), clock, { operation: 'PutMetricData' });
    calls++;
  }
  return calls;
}
