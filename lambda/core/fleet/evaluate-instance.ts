/**
 * Pure per-instance evaluation: the guest verdict (from `diagnose`), the IMDS options from the EC2
 * API and how far the check got, judged into one {@link InstanceEvaluation}. No SDK, no I/O.
 *
 * Status precedence: opted-out → `opted-out`; any at-risk finding (guest or IMDS) → `at-risk`
 * (`imds-hop-limit-orchestrator-node` is a report, not a risk);
 * guest not checked → `unknown`; else the verdict's status. IMDS findings need no guest check
 * (endpoint disabled), or only the guest's `containers` answer (hop limit).
 */
import { codesWhere, FINDING_TABLE, type FindingCode, type InstanceFindingCode } from '../diagnosis/findings';
import type { Settings } from '../settings';
import type { CheckState, Finding, InstanceEvaluation, InstanceRecord, InstanceStatus, Verdict } from '../types';

/** The instance-level finding codes this module adds, code → meaning (the rows of the finding table, diagnosis/findings.ts, at level `instance`). */
export const INSTANCE_FINDING_CODES: Readonly<Record<InstanceFindingCode, string>> = Object.fromEntries(
  [...codesWhere((c) => c.level === 'instance')].map((k) => [k, FINDING_TABLE[k].meaning]),
) as Record<InstanceFindingCode, string>;

export type { InstanceFindingCode } from '../diagnosis/findings';

/** Instance-level codes that make the instance at risk; the rest say why it was not checked (or only report). */
export const AT_RISK_INSTANCE_CODES: ReadonlySet<FindingCode> = codesWhere((c) => c.level === 'instance' && c.effect === 'at-risk');

/** Container runtimes (as the collectors name them) that make a host an orchestrator node. */
export const ORCHESTRATOR_RUNTIMES: ReadonlySet<string> = new Set(['kubelet', 'ecs']);

/** The orchestrators the guest reported (`containerRuntimes` of the verdict), e.g. `['kubelet']`; empty when none or unknown. */
export function orchestratorsOf(verdict: Verdict | undefined): string[] {
  const runtimes = verdict?.['containerRuntimes'];
  if (!Array.isArray(runtimes)) return [];
  return runtimes.filter((r): r is string => typeof r === 'string' && ORCHESTRATOR_RUNTIMES.has(r));
}

/** How the collection went on one instance, as the engine saw it. */
export type CollectionOutcome =
  /** The guest produced a report, judged into `verdict` (a Failed collector that printed a report counts too). */
  | { readonly kind: 'report'; readonly verdict: Verdict; readonly detail?: string }
  /** The guest was not checked; `checkState` says why. */
  | {
      readonly kind: 'not-checked';
      readonly checkState: Exclude<CheckState, 'checked' | 'opted-out' | 'not-requested'>;
      readonly code: InstanceFindingCode;
      readonly detail?: string;
    }
  /** The run did not ask for a guest check (CLI --no-guest); IMDS findings still apply. */
  | { readonly kind: 'not-requested' };

function atRisk(f: Finding): boolean {
  return AT_RISK_INSTANCE_CODES.has(f.code);
}

function instanceFinding(code: InstanceFindingCode, message: string): Finding {
  return { code, message };
}

/**
 * The fixed `detail` sentences of the inventory's verdicts, by the finding code that says the same
 * (the per-instance log record leaves such a detail out: its finding code is in the same record).
 */
const UNMANAGED_DETAIL = 'not an SSM managed node';
const CONNECTION_LOST_DETAIL = 'SSM PingStatus ConnectionLost';
export const FINDING_SENTENCE_DETAILS: ReadonlyMap<string, string> = new Map([
  ['ssm-unmanaged', UNMANAGED_DETAIL],
  ['ssm-connection-lost', CONNECTION_LOST_DETAIL],
]);

/**
 * What the inventory alone says about reachability: opted out, unmanaged or not Online.
 * Returns undefined for an instance the collector should run on.
 */
export function preCollectionOutcome(record: InstanceRecord): CollectionOutcome | 'opted-out' | undefined {
  if (record.optedOut) return 'opted-out';
  if (!record.ssm) return { kind: 'not-checked', checkState: 'unmanaged', code: 'ssm-unmanaged', detail: UNMANAGED_DETAIL };
  if (record.ssm.pingStatus === 'ConnectionLost') {
    return { kind: 'not-checked', checkState: 'ssm-offline', code: 'ssm-connection-lost', detail: CONNECTION_LOST_DETAIL };
  }
  if (record.ssm.pingStatus !== 'Online') {
    return { kind: 'not-checked', checkState: 'ssm-offline', code: 'ssm-inactive', detail: `SSM PingStatus ${record.ssm.pingStatus}` };
  }
  return undefined;
}

/** The settings the evaluation reads. */
export type EvaluationSettings = Pick<Settings, 'hopLimitTarget'> & Partial<Pick<Settings, 'hopLimitScope'>>;

/**
 * IMDS findings from the API; `containers` is the guest's answer (null/undefined when unknown),
 * `orchestrators` the orchestrator runtimes it reported (kubelet, ecs). Under scope `containers`
 * (the default) an orchestrator node below the target is reported, not judged at risk: hop limit 1
 * is the guidance there.
 */
export function imdsFindings(
  record: InstanceRecord,
  containers: boolean | null | undefined,
  settings: EvaluationSettings,
  orchestrators: readonly string[] = [],
): Finding[] {
  const out: Finding[] = [];
  const hop = record.imds.hopLimit;
  const scope = settings.hopLimitScope ?? 'containers';
  if (containers === true && typeof hop === 'number' && hop < settings.hopLimitTarget && orchestrators.length > 0 && scope === 'containers') {
    out.push(
      instanceFinding(
        'imds-hop-limit-orchestrator-node',
        `IMDS hop limit ${hop} < ${settings.hopLimitTarget} on a ${orchestrators.join('/')} node: left as it is (hopLimitScope containers); pods/tasks should use IRSA / Pod Identity / task roles`,
      ),
    );
  } else if (containers === true && typeof hop === 'number' && hop < settings.hopLimitTarget) {
    out.push(
      instanceFinding(
        'imds-hop-limit-too-low-for-containers',
        `IMDS hop limit ${hop} < ${settings.hopLimitTarget} and the guest runs containers: they cannot get IMDSv2 credentials`,
      ),
    );
  }
  if (record.imds.httpEndpoint === 'disabled' && record.hasInstanceProfile) {
    out.push(instanceFinding('imds-endpoint-disabled', 'the metadata endpoint is disabled but the instance has an instance profile'));
  }
  return out;
}

/**
 * Judges one instance. Total: any collection outcome yields an evaluation; nothing that was not
 * checked is ever `ok`.
 */
export function evaluateInstance(
  record: InstanceRecord,
  collection: CollectionOutcome,
  settings: EvaluationSettings,
): InstanceEvaluation {
  const base = {
    instanceId: record.instanceId,
    platform: record.platform,
    ...(record.name !== undefined ? { name: record.name } : {}),
    imds: record.imds,
    hasInstanceProfile: record.hasInstanceProfile,
  };
  if (record.optedOut) {
    return { ...base, status: 'opted-out', checkState: 'opted-out', findings: [] };
  }
  if (collection.kind === 'report') {
    const v = collection.verdict;
    // A cut report's header is not evidence (diagnose already gives it containers null): no hop-limit finding from it.
    const cut = v.findings.some((f) => f.code === 'report-truncated');
    const imds = imdsFindings(record, cut ? null : v.containers, settings, cut ? [] : orchestratorsOf(v));
    const findings = [...v.findings, ...imds];
    const status: InstanceStatus = imds.some(atRisk) || v.status === 'at-risk' ? 'at-risk' : v.status === 'ok' ? 'ok' : 'unknown';
    return {
      ...base,
      status,
      checkState: 'checked',
      findings,
      verdict: v,
      ...(collection.detail !== undefined ? { detail: collection.detail } : {}),
    };
  }
  const imds = imdsFindings(record, null, settings);
  const status: InstanceStatus = imds.some(atRisk) ? 'at-risk' : 'unknown';
  if (collection.kind === 'not-requested') {
    return {
      ...base,
      status,
      checkState: 'not-requested',
      findings: [...imds, instanceFinding('guest-not-checked', 'the in-guest check was not requested')],
    };
  }
  return {
    ...base,
    status,
    checkState: collection.checkState,
    findings: [...imds, instanceFinding(collection.code, collection.detail ?? INSTANCE_FINDING_CODES[collection.code])],
    ...(collection.detail !== undefined ? { detail: collection.detail } : {}),
  };
}
