/**
 * The check handler's SSM coverage wiring (docs/coverage.md), kept out of check.ts: the adapter
 * with the IAM profile check loaded at its first use (only when an unmanaged instance has a profile), the cache a warm
 * function keeps between runs, the fleet metric and the summary fields.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { onFirstUse } from '../aws/lazy-adapters';
import { loadOnDemand } from '../aws/on-demand-loader';
import { createAwsCoveragePort } from '../aws/coverage';
import { COVERAGE_METRICS, type CoverageReport } from '../core/fleet/coverage';
import { CoverageCache, type CoverageDeps } from '../engine/coverage';
import { confirmedImpact, CREDENTIAL_METRICS, type CredentialCounts } from '../core/imdsv2/credential-delivery';
import type { InstanceEvaluation } from '../core/types';
import type { CredentialEvidenceResult } from '../engine/credential-evidence';
import type { Clock } from '../engine/ports';

/** The coverage deps of the real handler. */
export function wireCoverage(ec2: EC2Client, ssm: SSMClient, clock: Clock): { coverage: CoverageDeps } {
  const check = onFirstUse(async () => (await loadOnDemand('on-demand/iam')).profileCheck(clock));
  return { coverage: { port: createAwsCoveragePort({ ec2, ssm, profile: async (arn) => (await check())(arn), clock }), cache: new CoverageCache() } };
}

/**
 * The fleet-level coverage metric (a percentage), published only while coverage is below 100 %: a
 * custom metric is billed by the hours it is published in, the SsmCoverage alarm treats missing data as
 * not breaching, and the dashboard shows a missing hour as full coverage. The run summary's `coverage`
 * keeps the figure every run. None with no running instance.
 */
export function addCoverageMetrics(metrics: Pick<Metrics, 'addMetric'>, report: CoverageReport): void {
  if (report.percent !== undefined && report.percent < 100) metrics.addMetric(COVERAGE_METRICS.percent, MetricUnit.Percent, report.percent);
}

/** The run summary's coverage fields (the per-instance causes are in the instance records). */
export function coverageSummary(r: CoverageReport): Record<string, unknown> {
  return { running: r.running, managed: r.managed, percent: r.percent, dhmc: r.dhmc, dhmcWouldManage: r.dhmcWouldManage, byCause: r.byCause };
}

/**
 * CloudTrail's "confirmed impact" (docs/imdsv2.md#cloudtrails-view): instances whose calls failed
 * with a clock-shaped error in the window and whose measured |offset| is over the threshold now.
 */
export function addCredentialMetrics(
  metrics: Pick<Metrics, 'addMetric'>,
  byInstance: Readonly<Record<string, CredentialCounts>>,
  evaluations: readonly InstanceEvaluation[],
  maxOffsetSeconds: number,
): void {
  const offsets = new Map(evaluations.map((e) => [e.instanceId, e.verdict?.offsetSeconds]));
  metrics.addMetric(CREDENTIAL_METRICS.confirmedImpact, MetricUnit.Count, confirmedImpact(byInstance, offsets, maxOffsetSeconds).length);
  metrics.addMetric(CREDENTIAL_METRICS.imdsv1Credentials, MetricUnit.Count, Object.values(byInstance).filter((c) => c.imdsv1Deliveries > 0).length);
}

/** The run summary's CloudTrail fields (undefined without the setting). */
export function credentialSummary(r: CredentialEvidenceResult | undefined): Record<string, unknown> | undefined {
  if (!r) return undefined;
  return r.outcome === 'read'
    ? { outcome: r.outcome, takenAt: r.takenAt, refreshed: r.refreshed, pages: r.pages, instances: Object.keys(r.byInstance).length }
    : { outcome: r.outcome, error: r.error, ...(r.pending ? { pendingQuery: r.pending } : {}) };
}
