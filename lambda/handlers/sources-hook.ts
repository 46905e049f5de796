/**
 * The check handler's part of the sources (docs/launch-templates.md): one `launch-source` log record
 * per decision (the exact change travels in `snippet`), one `launch-source-enforcement-blocker` record per
 * template version that IMDSv2 account-level enforcement would stop, the fleet metrics (one value
 * each per run, whatever the fleet's size) and the summary's `launchSources` block.
 */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { imdsSourceLogFields } from '../core/sources/attribute';
import { sourceMetricValues } from '../core/sources/report';
import type { EngineLogger } from '../engine/ports';
import type { SourcesCheckResult } from '../engine/sources-check';

/** Per result: its most common layer (computed once, not once per instance record). */
const commonLayers = new WeakMap<SourcesCheckResult, string | undefined>();

/**
 * The layer most of the run's instances share (the first in attribution order on a tie), named in the
 * summary (`launchSources.commonLayer`). `unknown` is never the common layer.
 */
export function commonLayer(sources: SourcesCheckResult): string | undefined {
  if (commonLayers.has(sources)) return commonLayers.get(sources);
  const counts = new Map<string, number>();
  for (const s of sources.attribution.values()) if (s.layer !== 'unknown') counts.set(s.layer, (counts.get(s.layer) ?? 0) + 1);
  let best: string | undefined;
  for (const [layer, n] of counts) if (best === undefined || n > counts.get(best)!) best = layer;
  commonLayers.set(sources, best);
  return best;
}

/**
 * The per-instance record's `imdsSource…` fields (empty without attribution). Every record names its
 * layer, the common one included: one record per instance must answer `filter imdsSource = …` alone
 * (leaving the common layer out saved ~85 bytes a record, ~$0.29 a month at 10,000 instances, and
 * made the same query mean different things from one run to the next).
 */
export function sourceLogFields(sources: SourcesCheckResult | undefined, instanceId: string): Record<string, string | number> {
  const s = sources?.attribution.get(instanceId);
  return s ? imdsSourceLogFields(s) : {};
}

/** Logs the decisions and blockers; adds the metrics when the run completed. */
export function publishSources(sources: SourcesCheckResult, logger: EngineLogger, metrics: Metrics | undefined): void {
  for (const d of sources.plan.decisions) logger.info('launch-source', { ...d });
  for (const b of sources.enforcementBlockers) logger.warn('launch-source-enforcement-blocker', { ...b, groups: b.groups.join(',') });
  for (const e of sources.errors) logger.warn('launch-source-not-read', { error: e });
  // Published only in the hours they are not 0, like the check's rarer causes (SPARSE_CHECK_METRICS):
  // a custom metric is billed by the hours it is published in, and a fleet whose templates are right
  // pays nothing for these. No alarm reads them; the dashboard shows a missing hour as none.
  if (metrics) for (const [name, n] of Object.entries(sourceMetricValues(sources.plan))) if (n > 0) metrics.addMetric(name, MetricUnit.Count, n);
}

/** The summary's `launchSources` block. */
export function sourcesSummary(sources: SourcesCheckResult): Record<string, unknown> {
  const layers: Record<string, number> = {};
  for (const s of sources.attribution.values()) layers[s.layer] = (layers[s.layer] ?? 0) + 1;
  return {
    commonLayer: commonLayer(sources),
    templatesLaunchingNonCompliant: sources.plan.templatesLaunchingNonCompliant,
    groupsLaunchingNonCompliant: sources.plan.groupsLaunchingNonCompliant,
    groupsNotRead: sources.plan.groupsNotRead,
    enforcementBlockers: sources.enforcementBlockers.length,
    byLayer: layers,
    errors: sources.errors.length,
  };
}
