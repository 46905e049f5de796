/**
 * The launch sources' fleet counts in the organization hub (docs/organization.md): each item
 * returns its account-region's `LaunchTemplatesNonCompliant`, `AutoScalingGroupsNonCompliant` and
 * `LaunchSourcesNotRead` among its counts, and the summary sums them over the organization under the
 * single-account names, so the single-account dashboard row reads the organization's totals. Pure.
 */
import type { SourcePlan } from '../sources/plan';
import { SOURCE_METRICS, sourceMetricValues } from '../sources/report';

const PREFIX = 'sources:';

/** Count key in an item's `counts` → the single-account metric name. */
export const HUB_SOURCE_METRICS: Readonly<Record<string, string>> = Object.fromEntries(Object.values(SOURCE_METRICS).map((name) => [`${PREFIX}${name}`, name]));

/** One slice's source counts, under the item's count keys. */
export function sourceCounts(plan: SourcePlan): Record<string, number> {
  return Object.fromEntries(Object.entries(sourceMetricValues(plan)).map(([name, n]) => [`${PREFIX}${name}`, n]));
}

/**
 * `summed` (the carried counts plus this slice's) with the source counts of the account-region so far.
 * Every slice reads the whole region's groups but judges them from its own instances, so a sum would
 * count a large group once per slice: the largest slice's count is kept instead, and a source found
 * wrong in any slice keeps its account-region above zero.
 */
export function withSourceCounts(summed: Record<string, number>, carry: Readonly<Record<string, number>> | null | undefined, slice: Readonly<Record<string, number>> | undefined): Record<string, number> {
  if (!slice) return summed;
  const out = { ...summed };
  for (const [k, n] of Object.entries(slice)) out[k] = Math.max(carry?.[k] ?? 0, n);
  return out;
}
