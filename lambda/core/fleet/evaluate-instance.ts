/**
 * Pure per-instance evaluation: the guest verdict (from `diagnose`), the IMDS options from the EC2
 * API and how far the check got, judged into one {@link InstanceEvaluation}. No SDK, no I/O.
 *
 * Status precedence: opted-out → `opted-out`; any at-risk finding (guest or IMDS) → `at-risk`
 * (`imds-hop-limit-orchestrator-node` is a report, not a risk);
 * guest not checked → `unknown`; else the verdict's status. IMDS findings need no guest check
 * (endpoint disabled), or only the guest's `containers` answer (hop limit).
 */
import type { Settings } from '../settings';
import type { CheckState, Finding, InstanceEvaluation, InstanceRecord, InstanceStatus, Verdict } from '../types';

/** The instance-level finding codes this module adds (guest verdict codes live in findings.ts). */
export const INSTANCE_FINDING_CODES = {
  'imds-hop-limit-too-low-for-containers':
    'The IMDS PUT response hop limit is below the target (default 2) and the guest runs containers: containers on a bridge network get no IMDSv2 token, hence no role credentials.',
  'imds-hop-limit-orchestrator-node':
    'Kubernetes node (kubelet) or ECS container instance with a hop limit below the target: left as it is under hopLimitScope `containers` (the default). Raising it lets every pod or task reach the node role\'s credentials: the EKS best practices keep hop limit 1 and give pods IRSA / EKS Pod Identity; ECS asks to block task access to IMDS (awsvpc mode / ECS_AWSVPC_BLOCK_IMDS). Opt in with hopLimitScope `containers-and-orchestrators` only for workloads that need the node role.',
  'imds-endpoint-disabled':
    'The instance metadata endpoint is disabled on an instance with an instance profile: nothing on it can obtain the role credentials.',
  'ssm-connection-lost':
    'The SSM agent lost its connection, so the guest was not checked. A clock minutes off breaks the agent\'s signed requests, so this can itself be a symptom of clock drift.',
  'ssm-inactive': 'The SSM managed node is Inactive (agent stopped or deregistered): the guest was not checked.',
  'ssm-unmanaged': 'The instance is not an SSM managed node (no agent, no instance profile with SSM permissions, or no route to SSM): the guest cannot be checked.',
  'command-failed': 'The collector ran but failed without printing a readable report.',
  'command-timed-out': 'The collector was not delivered or did not finish in time (DeliveryTimedOut / ExecutionTimedOut / still running at the deadline).',
  'check-timed-out':
    'The collector was still running when the rest of the run had finished, past the straggler cutoff (twice the run\'s 95th-percentile guest run time, at least 15 s): the check stopped waiting and cancelled it. Not judged this run (never ok); a guest that is this slow every run needs a look.',
  'command-undeliverable': 'SSM could not deliver the collector to the instance (Undeliverable: agent unreachable, or wrong platform).',
  'command-cancelled': 'The collector command was cancelled.',
  'command-not-sent': 'SendCommand failed for this batch (see detail): the guest was not checked.',
  'instance-gone': 'The instance stopped or terminated during the run (InvalidInstanceId, Terminated, or no invocation at all).',
  'output-unreadable': 'The collector succeeded but its output is not a readable report.',
  'guest-not-checked': 'The in-guest check was not requested for this run (CLI --no-guest): only IMDS findings apply.',
} as const;

/** An instance-level finding code. */
export type InstanceFindingCode = keyof typeof INSTANCE_FINDING_CODES;

/** Instance-level codes that make the instance at risk; the rest say why it was not checked. */
export const AT_RISK_INSTANCE_CODES: ReadonlySet<InstanceFindingCode> = new Set([
  'imds-hop-limit-too-low-for-containers',
  'imds-endpoint-disabled',
]);

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
  return AT_RISK_INSTANCE_CODES.has(f.code as InstanceFindingCode);
}

function instanceFinding(code: InstanceFindingCode, message: string): Finding {
  return { code, message };
}

/**
 * What the inventory alone says about reachability: opted out, unmanaged or not Online.
 * Returns undefined for an instance the collector should run on.
 */
export function preCollectionOutcome(record: InstanceRecord): CollectionOutcome | 'opted-out' | undefined {
  if (record.optedOut) return 'opted-out';
  if (!record.ssm) return { kind: 'not-checked', checkState: 'unmanaged', code: 'ssm-unmanaged', detail: 'not an SSM managed node' };
  if (record.ssm.pingStatus === 'ConnectionLost') {
    return { kind: 'not-checked', checkState: 'ssm-offline', code: 'ssm-connection-lost', detail: 'SSM PingStatus ConnectionLost' };
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
