/**
 * Fleet aggregation: evaluations in, the fixed metric set of `CHECK_METRICS` out. Pure and O(N);
 * the metric set has the same names and size whatever N (zeros included, no per-instance dimension).
 */
import { CHECK_METRICS } from './metric-names';
import { FINDING_TABLE, type FindingCode, type FindingCodeInfo, type FindingMetric } from '../diagnosis/findings';
import { isPlausible } from '../diagnosis/plausible';
import type { CheckState, Finding, InstanceEvaluation, InstanceStatus, Thresholds } from '../types';

type CountKey = FindingMetric;

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

/** Code → the count metric it counts towards, from the finding table (diagnosis/findings.ts), split by who raises it. */
const GUEST_METRIC = metricRoutes('guest');
const INSTANCE_METRIC = metricRoutes('instance');

function metricRoutes(level: FindingCodeInfo['level']): ReadonlyMap<FindingCode, FindingMetric> {
  const routes = new Map<FindingCode, FindingMetric>();
  for (const [code, info] of Object.entries(FINDING_TABLE) as [FindingCode, FindingCodeInfo][]) {
    if (info.level === level && info.metric !== null) routes.set(code, info.metric);
  }
  return routes;
}

/** Guest finding codes that mean "not synchronised" (the table's rows with metric `notSynchronized`). */
export const NOT_SYNCHRONIZED_CODES: ReadonlySet<FindingCode> = codesRoutedTo('notSynchronized');
/** Guest finding codes that mean "offset or bound over its threshold". */
export const OVER_THRESHOLD_CODES: ReadonlySet<FindingCode> = codesRoutedTo('clockErrorBoundOverThreshold');

function codesRoutedTo(metric: FindingMetric): ReadonlySet<FindingCode> {
  return new Set([...GUEST_METRIC].filter(([, m]) => m === metric).map(([c]) => c));
}

/** The metrics the findings count towards, each once. */
function metricsOf(findings: readonly Finding[] | undefined, routes: ReadonlyMap<FindingCode, FindingMetric>): Set<FindingMetric> {
  const hit = new Set<FindingMetric>();
  for (const f of findings ?? []) {
    const m = routes.get(f.code);
    if (m) hit.add(m);
  }
  return hit;
}

/**
 * Only a finite number a daemon can report counts: `diagnose` already turns any other into an
 * `implausible-value` verdict, but a verdict judged elsewhere (an older build, the hub) is checked
 * again here, so no metric ever carries 1e299 s or a negative bound.
 */
const plausibleOffset = (x: unknown): x is number => typeof x === 'number' && isPlausible(x, 'offset');
const plausibleBound = (x: unknown): x is number => typeof x === 'number' && isPlausible(x, 'bound');

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
    linkLocalPacketsDropped: 0,
    imdsUnreachable: 0,
    imdsThrottled: 0,
    clockSkewViaImds: 0,
    leapSmearAdvisory: 0,
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
    for (const m of metricsOf(e.findings, INSTANCE_METRIC)) counts[m]++;
    // Pending: left running past the straggler cutoff this once; counted only when unread in two runs.
    if (e.checkState === 'opted-out' || e.checkState === 'pending') continue;
    if (e.checkState !== 'checked' || !e.verdict) {
      counts.instancesNotChecked++;
      continue;
    }
    counts.instancesChecked++;
    const v = e.verdict;
    const offset = plausibleOffset(v.offsetSeconds) ? Math.abs(v.offsetSeconds) : null;
    const bound = plausibleBound(v.clockErrorBoundSeconds) ? v.clockErrorBoundSeconds : null;
    // The verdict's fields count too, not only its codes: a verdict judged elsewhere may carry the field alone.
    const hit = metricsOf(v.findings, GUEST_METRIC);
    if (v.timeSource === 'other' || v.timeSource === 'none') hit.add('notOnAmazonTimeSync');
    if (v.synchronized === false) hit.add('notSynchronized');
    if ((offset !== null && offset > thresholds.maxOffsetSeconds) || (bound !== null && bound > thresholds.maxClockErrorBoundSeconds)) {
      hit.add('clockErrorBoundOverThreshold');
    }
    for (const m of hit) counts[m]++;
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
/**
 * Counts of the rarer guest-visible causes of ExpiredToken, published only in the hours they are not
 * 0: a custom metric is billed by the hours it is published in, so a healthy fleet pays nothing for
 * them. Their alarm (link-local drops) treats a missing hour as not breaching; InstancesSeen, published
 * every hour, is the check's heartbeat.
 */
export const SPARSE_CHECK_METRICS: ReadonlySet<keyof typeof CHECK_METRICS> = new Set([
  'linkLocalPacketsDropped',
  'imdsUnreachable',
  'imdsThrottled',
  'clockSkewViaImds',
  'leapSmearAdvisory',
] as const);

/** The check metrics published every hour, 0 included (all but {@link SPARSE_CHECK_METRICS}). */
export const HOURLY_CHECK_METRIC_NAMES: readonly string[] = (Object.entries(CHECK_METRICS) as [keyof typeof CHECK_METRICS, string][])
  .filter(([k]) => !SPARSE_CHECK_METRICS.has(k))
  .map(([, n]) => n);

export function toMetricData(summary: FleetSummary): MetricDatum[] {
  const out: MetricDatum[] = [];
  for (const [key, name] of Object.entries(CHECK_METRICS) as [keyof typeof CHECK_METRICS, MetricDatum['name']][]) {
    // Filtered again: a summary built by other code must not put an impossible value on the wire.
    if (key === 'clockErrorBoundSeconds') out.push({ name, unit: 'Seconds', values: summary.clockErrorBounds.filter(plausibleBound) });
    else if (SPARSE_CHECK_METRICS.has(key) && summary.counts[key] === 0) continue;
    else out.push({ name, unit: 'Count', values: [summary.counts[key]] });
  }
  return out;
}
