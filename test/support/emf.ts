/** A real Powertools Metrics whose EMF lines are captured instead of printed (handler tests). */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRIC_SERVICE } from '../../lambda/core/fleet/metric-names';

export function capturingMetrics<T = Record<string, unknown>>(namespace: string): { metrics: Metrics; emf: T[] } {
  const saved = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const metrics = new Metrics({ serviceName: METRIC_SERVICE, namespace });
  process.env.POWERTOOLS_METRICS_DISABLED = saved;
  const emf: T[] = [];
  (metrics as unknown as { console: { log: (s: string) => void } }).console = { log: (s: string) => emf.push(JSON.parse(s) as T) };
  return { metrics, emf };
}
