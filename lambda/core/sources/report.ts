/**
 * What the check reports about the sources: per instance the two finding codes of the finding table
 * (`launch-source-noncompliant`, `launch-source-owned-by-iac`), and fleet-level metrics whose count
 * does not grow with the fleet (one value per account-region, no per-template dimension).
 */
import { finding } from '../diagnosis/findings';
import type { Finding } from '../types';
import type { SourcePlan, SourceReportReason } from './plan';
import type { LaunchOrigin } from './types';

/** CloudWatch metric names (no dimensions beyond the stack's). */
export const SOURCE_METRICS = {
  templatesLaunchingNonCompliant: 'LaunchTemplatesNonCompliant',
  groupsLaunchingNonCompliant: 'AutoScalingGroupsNonCompliant',
  groupsNotRead: 'LaunchSourcesNotRead',
} as const;

/** Reasons that leave the change to the source's owner. */
export const OWNER_REASONS: ReadonlySet<SourceReportReason> = new Set(['cloudformation-managed', 'eks-nodegroup', 'karpenter', 'pinned-version']);

/** The fleet metric values of one plan. */
export function sourceMetricValues(plan: SourcePlan): Record<(typeof SOURCE_METRICS)[keyof typeof SOURCE_METRICS], number> {
  return {
    [SOURCE_METRICS.templatesLaunchingNonCompliant]: plan.templatesLaunchingNonCompliant,
    [SOURCE_METRICS.groupsLaunchingNonCompliant]: plan.groupsLaunchingNonCompliant,
    [SOURCE_METRICS.groupsNotRead]: plan.groupsNotRead,
  } as Record<(typeof SOURCE_METRICS)[keyof typeof SOURCE_METRICS], number>;
}

/** Per-instance lookup built once per plan: group / node class → what was decided. */
export function sourceFindingIndex(plan: SourcePlan): (origin: LaunchOrigin | undefined) => Finding[] {
  const byGroup = new Map<string, { owner: boolean; what: string }>();
  const byClass = new Map<string, { owner: boolean; what: string }>();
  for (const d of plan.decisions) {
    if (d.kind === 'report' && (d.reason === 'not-read' || d.reason === 'launch-configuration')) continue;
    const owner = d.kind === 'report' && OWNER_REASONS.has(d.reason);
    const what = d.kind === 'fix' ? `${d.templateId} version ${d.sourceVersion}` : d.nodeClass !== undefined ? `EC2NodeClass ${d.nodeClass}` : `${d.templateId ?? '?'} version ${d.version ?? '?'} (${d.reason})`;
    if (d.kind === 'report' && d.nodeClass !== undefined) byClass.set(d.nodeClass, { owner, what });
    for (const g of d.groups) byGroup.set(g, { owner: owner || (byGroup.get(g)?.owner ?? false), what });
  }
  return (o) => {
    const hit = (o?.karpenterNodeClass !== undefined ? byClass.get(o.karpenterNodeClass) : undefined) ?? (o?.autoScalingGroup !== undefined ? byGroup.get(o.autoScalingGroup) : undefined);
    if (!hit) return [];
    return [
      finding('launch-source-noncompliant', `replacements launch from ${hit.what} with IMDS options below what this fleet needs`),
      ...(hit.owner ? [finding('launch-source-owned-by-iac', `the change is left to the owner of ${hit.what}: see the run's launch-source record`)] : []),
    ];
  };
}
