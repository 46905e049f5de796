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

/** The per-instance record's `imdsSource…` fields (empty without attribution). */
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
    templatesLaunchingNonCompliant: sources.plan.templatesLaunchingNonCompliant,
    groupsLaunchingNonCompliant: sources.plan.groupsLaunchingNonCompliant,
    groupsNotRead: sources.plan.groupsNotRead,
    enforcementBlockers: sources.enforcementBlockers.length,
    byLayer: layers,
    errors: sources.errors.length,
  };
}
