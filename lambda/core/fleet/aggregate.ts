/**
 * Fleet aggregation: evaluations in, the fixed metric set of `CHECK_METRICS` out. Pure and O(N);
 * the metric set has the same names and size whatever N (zeros included, no per-instance dimension).
 */
import { CHECK_METRICS } from './metric-names';
import type { CheckState, InstanceEvaluation, InstanceStatus, Thresholds, Verdict } from '../types';

type CountKey = Exclude<keyof typeof CHECK_METRICS, 'clockErrorBoundSeconds'>;

/** The fleet summary of one check run. */
export interface FleetSummary {
  /** One count per count metric of `CHECK_METRICS`. */
  readonly counts: Readonly<Record<CountKey, number>>;
  /** Clock error bounds of checked instances with a known bound (seconds), unsorted. */
  readonly clockErrorBounds: readonly number[];
  readonly maxClockErrorBoundSeconds: number | null;
  /** Nearest-rank p99 of `clockErrorBounds` (what CloudWatch's p99 of the same values approximates). */
  readonly p99ClockErrorBoundSeconds: number | null;
  readonly maxAbsOffsetSeconds: number | null;
  readonly byStatus: Readonly<Record<InstanceStatus, number>>;
  readonly byCheckState: Readonly<Partial<Record<CheckState, number>>>;
}

/** One metric as published: name, unit and its values (counts have exactly one value). */
export interface MetricDatum {
  readonly name: (typeof CHECK_METRICS)[keyof typeof CHECK_METRICS];
  readonly unit: 'Count' | 'Seconds';
  readonly values: readonly number[];
}

/** Guest finding codes (findings.ts) that mean "not synchronised". */
export const NOT_SYNCHRONIZED_CODES: ReadonlySet<string> = new Set([
  'not-synchronized',
  'source-lost',
  'free-running',
  'no-daemon',
  'local-cmos-clock',
]);
/** Guest finding codes that mean "offset or bound over its threshold". */
export const OVER_THRESHOLD_CODES: ReadonlySet<string> = new Set(['offset-over-threshold', 'clock-error-bound-over-threshold']);

function has(v: Verdict, codes: ReadonlySet<string> | string): boolean {
  return v.findings.some((f) => (typeof codes === 'string' ? f.code === codes : codes.has(f.code)));
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Nearest-rank percentile of unsorted values; null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

/** Aggregates evaluations into the fleet summary. */
export function aggregate(evaluations: Iterable<InstanceEvaluation>, thresholds: Thresholds): FleetSummary {
  const counts: Record<CountKey, number> = {
    instancesSeen: 0,
    instancesChecked: 0,
    instancesAtRisk: 0,
    instancesNotChecked: 0,
    notOnAmazonTimeSync: 0,
    notSynchronized: 0,
    clockErrorBoundOverThreshold: 0,
    hopLimitTooLowForContainers: 0,
    metadataEndpointDisabled: 0,
  };
  const byStatus: Record<InstanceStatus, number> = { ok: 0, 'at-risk': 0, unknown: 0, 'opted-out': 0 };
  const byCheckState: Partial<Record<CheckState, number>> = {};
  const bounds: number[] = [];
  let maxBound: number | null = null;
  let maxAbsOffset: number | null = null;

  for (const e of evaluations) {
    counts.instancesSeen++;
    byStatus[e.status]++;
    byCheckState[e.checkState] = (byCheckState[e.checkState] ?? 0) + 1;
    if (e.status === 'at-risk') counts.instancesAtRisk++;
    if (e.findings.some((f) => f.code === 'imds-hop-limit-too-low-for-containers')) counts.hopLimitTooLowForContainers++;
    if (e.findings.some((f) => f.code === 'imds-endpoint-disabled')) counts.metadataEndpointDisabled++;
    if (e.checkState === 'opted-out') continue;
    if (e.checkState !== 'checked' || !e.verdict) {
      counts.instancesNotChecked++;
      continue;
    }
    counts.instancesChecked++;
    const v = e.verdict;
    if (v.timeSource === 'other' || v.timeSource === 'none' || has(v, 'not-amazon-time-sync')) counts.notOnAmazonTimeSync++;
    if (v.synchronized === false || has(v, NOT_SYNCHRONIZED_CODES)) counts.notSynchronized++;
    const offset = finite(v.offsetSeconds) ? Math.abs(v.offsetSeconds) : null;
    const bound = finite(v.clockErrorBoundSeconds) ? v.clockErrorBoundSeconds : null;
    if (
      has(v, OVER_THRESHOLD_CODES) ||
      (offset !== null && offset > thresholds.maxOffsetSeconds) ||
      (bound !== null && bound > thresholds.maxClockErrorBoundSeconds)
    ) {
      counts.clockErrorBoundOverThreshold++;
    }
    if (bound !== null) {
      bounds.push(bound);
      if (maxBound === null || bound > maxBound) maxBound = bound;
    }
    if (offset !== null && (maxAbsOffset === null || offset > maxAbsOffset)) maxAbsOffset = offset;
  }
  return {
    counts,
    clockErrorBounds: bounds,
    maxClockErrorBoundSeconds: maxBound,
    p99ClockErrorBoundSeconds: percentile(bounds, 99),
    maxAbsOffsetSeconds: maxAbsOffset,
    byStatus,
    byCheckState,
  };
}

/**
 * The metric set to publish: every name of `CHECK_METRICS` exactly once, in a fixed order. Counts
 * carry one value (zeros included); `ClockErrorBoundSeconds` carries one value per checked instance
 * with a known bound and may be empty (CloudWatch then has no datapoint, which is correct: no bound known).
 */
export function toMetricData(summary: FleetSummary): MetricDatum[] {
  const out: MetricDatum[] = [];
  for (const [key, name] of Object.entries(CHECK_METRICS) as [keyof typeof CHECK_METRICS, MetricDatum['name']][]) {
    if (key === 'clockErrorBoundSeconds') out.push({ name, unit: 'Seconds', values: summary.clockErrorBounds });
    else out.push({ name, unit: 'Count', values: [summary.counts[key]] });
  }
  return out;
}
