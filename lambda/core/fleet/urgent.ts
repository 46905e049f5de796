/**
 * The urgent path's pure part (docs/remediation.md, "Urgent hosts"): which instances an hourly check
 * found urgent, which of them the urgent path may take now, and what the remediation state machine's
 * own execution history says (the "taken at" memory and the budget the day has spent). No SDK, no I/O.
 *
 * An instance is urgent when waiting for the night is the outage:
 * - `offset`: the checked clock is at least `urgentOffsetSeconds` off (SigV4 refuses at 300 s);
 * - `hop-limit`: a container host whose hop limit is below `hopLimitTarget` (its containers get no
 *   IMDSv2 token, so no role credentials);
 * - `imds-credentials`: a finding that stops credentials ({@link URGENT_CREDENTIAL_CODES}).
 * Only an urgent host the nightly plan would change is started (the same `planInstance`, whose
 * settings reach the check too): one nothing would fix (opted out, on Amazon Time Sync with a large
 * offset and no `stepLargeOffset`, a proxy finding with `fixNoProxy` off) is reported `unfixable`,
 * never started and never retried: the alarm on its finding is the signal.
 */
import type { FindingCode } from '../diagnosis/findings';
import { hopLimitScopeCovers, planInstance, type PlanInstanceSettings } from '../remediation/plan';
import type { Settings } from '../settings';
import type { InstanceEvaluation } from '../types';
import { LAUNCH_REMEDIATION_MAX_IDS, parseLaunchScope, remediationScope, type RemediationScope } from './launch';

/** `trigger` of an urgent remediation request (`{ trigger, instanceIds, capSpent }` on the remediation state machine). */
export const URGENT_TRIGGER = 'urgent';
/** Prefix of the execution names the check gives its urgent runs. */
export const URGENT_EXECUTION_PREFIX = 'urgent-';
/** Environment variable with the remediation state machine's ARN on the check function (set only when the urgent path is on). */
export const URGENT_STATE_MACHINE_ENV = 'TSG_URGENT_STATE_MACHINE_ARN';
/** A host the urgent path took and that is urgent again within this window is left to the nightly run (and alarmed). */
export const URGENT_RETRY_WINDOW_MS = 24 * 3600 * 1000;
/** At most this many ids in one urgent request: the remediate side's limit for an id-scoped run. */
export const URGENT_MAX_IDS = LAUNCH_REMEDIATION_MAX_IDS;
/** The most a request may claim as spent (the count cap's own maximum). */
export const URGENT_MAX_CAP_SPENT = 1_000_000;

/**
 * Findings that stop a workload getting role credentials: a container host's hop limit below the
 * target (containers get no IMDSv2 token), a disabled metadata endpoint on an instance with a
 * profile (nothing gets credentials), and a system proxy whose NO_PROXY misses IMDS (SDKs send the
 * credential request to the proxy).
 */
export const URGENT_CREDENTIAL_CODES: readonly FindingCode[] = ['imds-hop-limit-too-low-for-containers', 'imds-endpoint-disabled', 'proxy-without-no-proxy'];
const CREDENTIAL_CODES: ReadonlySet<string> = new Set(URGENT_CREDENTIAL_CODES);

/** Why an instance is urgent. */
export type UrgentReason = 'offset' | 'hop-limit' | 'imds-credentials';

/** The settings the urgent decision reads. */
export type UrgentSettings = Pick<Settings, 'urgentOffsetSeconds'> & PlanInstanceSettings;

/** Why an instance is urgent (empty: it can wait for the night). */
export function urgencyOf(e: InstanceEvaluation, settings: UrgentSettings): UrgentReason[] {
  if (!e || typeof e.instanceId !== 'string') return [];
  const reasons: UrgentReason[] = [];
  const v = e.verdict;
  // Only a verdict read whole: an unknown one (cut report, implausible value) is never acted on.
  if (e.checkState === 'checked' && v && v.status === 'at-risk' && typeof v.offsetSeconds === 'number' && Number.isFinite(v.offsetSeconds)) {
    if (Math.abs(v.offsetSeconds) >= settings.urgentOffsetSeconds) reasons.push('offset');
  }
  const hop = e.imds?.hopLimit;
  // A Kubernetes/ECS node the scope leaves at its hop limit is reported, not urgent.
  if (v?.containers === true && typeof hop === 'number' && Number.isFinite(hop) && hop < settings.hopLimitTarget && hopLimitScopeCovers(settings.hopLimitScope, e)) reasons.push('hop-limit');
  const codes = [...(e.findings ?? []), ...(v?.findings ?? [])].map((f) => f?.code);
  if (codes.some((c) => typeof c === 'string' && CREDENTIAL_CODES.has(c))) reasons.push('imds-credentials');
  return reasons;
}

/** What the urgent path remembers, read from the remediation state machine's own history. */
export interface UrgentMemory {
  /** Epoch ms at which the urgent path last took each instance (within the retry window). */
  readonly takenAt: ReadonlyMap<string, number>;
  /** Instances the budget day's runs changed so far; undefined when that could not be read. */
  readonly capSpent: number | undefined;
  /** A run of the machine is in progress. */
  readonly running: boolean;
}

/** The urgent decision of one check. */
export interface UrgentDecision {
  /** Ids to start now (sorted, at most {@link URGENT_MAX_IDS}). */
  readonly start: readonly string[];
  /** Urgent again within the retry window of the urgent path's last take: left to the nightly run (alarmed). */
  readonly repeat: readonly string[];
  /** Urgent, but the nightly plan would change nothing on them (never started). */
  readonly unfixable: readonly string[];
  /** Urgent and fixable, over {@link URGENT_MAX_IDS}: the next check takes them. */
  readonly overLimit: readonly string[];
  /** Every urgent instance with its reasons. */
  readonly reasons: Readonly<Record<string, readonly UrgentReason[]>>;
}

/**
 * Decides the urgent set of one check: urgent ({@link urgencyOf}), changed by the nightly plan, and
 * not taken by the urgent path within {@link URGENT_RETRY_WINDOW_MS} (a host whose clock is pushed
 * back every hour must not make the guard fight it: the nightly run and the alarm take it).
 */
export function decideUrgent(evaluations: readonly InstanceEvaluation[], settings: UrgentSettings, memory: Pick<UrgentMemory, 'takenAt'>, now: number): UrgentDecision {
  const start: string[] = [];
  const repeat: string[] = [];
  const unfixable: string[] = [];
  const reasons: Record<string, readonly UrgentReason[]> = {};
  const seen = new Set<string>();
  for (const e of Array.isArray(evaluations) ? evaluations : []) {
    if (!e || typeof e.instanceId !== 'string' || seen.has(e.instanceId)) continue;
    seen.add(e.instanceId);
    const why = urgencyOf(e, settings);
    if (why.length === 0) continue;
    reasons[e.instanceId] = why;
    const taken = memory.takenAt.get(e.instanceId);
    if (!planInstance(e, settings).planned) unfixable.push(e.instanceId);
    else if (taken !== undefined && now - taken < URGENT_RETRY_WINDOW_MS) repeat.push(e.instanceId);
    else start.push(e.instanceId);
  }
  start.sort();
  return { start: start.slice(0, URGENT_MAX_IDS), overLimit: start.slice(URGENT_MAX_IDS), repeat: repeat.sort(), unfixable: unfixable.sort(), reasons };
}

/** One execution of the remediation state machine as the adapter read it: untrusted, every field checked here. */
export interface ExecutionRecord {
  readonly name?: unknown;
  readonly status?: unknown;
  /** Epoch ms. */
  readonly startedAt?: unknown;
  /** The execution's input and output as Step Functions returns them (JSON text). */
  readonly input?: unknown;
  readonly output?: unknown;
}

function json(text: unknown): Record<string, unknown> | undefined {
  if (typeof text !== 'string' || text.length > 300_000) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `summary.plannedInstances` of a finished run's output, or undefined. */
function plannedOf(output: Record<string, unknown> | undefined): number | undefined {
  const s = output?.summary as Record<string, unknown> | undefined;
  const n = s && typeof s === 'object' ? s.plannedInstances : undefined;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Reads the machine's executions of the last {@link URGENT_RETRY_WINDOW_MS} into the urgent memory.
 *
 * Why this history and not a tag or a table: an execution of this state machine exists only if a
 * principal allowed `states:StartExecution` on it started one (the scheduler, the launch and check
 * roles, an administrator), its input cannot be changed afterwards, and its output is written by the
 * remediate function alone. So "the urgent path took i-x at T" here means a remediation run was
 * really started on i-x at T: a forged entry is a real run, and the memory can only make the urgent
 * path do less, never more. A tag could be set by anyone with `ec2:CreateTags`.
 *
 * - taken: executions whose input is an urgent request with valid ids (an execution the overlap
 *   guard skipped did not take them);
 * - the budget day starts at the latest whole-region run (input without `trigger` or `instanceIds`:
 *   the nightly schedule's `{}`); its selection and every urgent run's since then are spent. A run
 *   whose output cannot be read counts as its ids (an urgent run changes at most those), a
 *   whole-region run's as unknown (`capSpent` undefined: no urgent run starts).
 */
export function readUrgentHistory(records: readonly ExecutionRecord[], now: number): UrgentMemory {
  const takenAt = new Map<string, number>();
  let running = false;
  type Run = { readonly at: number; readonly kind: 'urgent' | 'region'; readonly spent: number | undefined };
  const runs: Run[] = [];
  for (const r of Array.isArray(records) ? records : []) {
    if (!r || typeof r !== 'object') continue;
    const at = typeof r.startedAt === 'number' && Number.isFinite(r.startedAt) ? r.startedAt : NaN;
    if (!Number.isFinite(at) || at > now || now - at >= URGENT_RETRY_WINDOW_MS) continue;
    if (r.status === 'RUNNING') running = true;
    const input = json(r.input);
    if (!input) continue;
    const output = json(r.output);
    if (output?.skipped === 'overlap') continue;
    if (input.trigger === URGENT_TRIGGER) {
      const scope = parseLaunchScope(input.instanceIds);
      if (!scope.ok || !scope.instanceIds) continue;
      for (const id of scope.instanceIds) takenAt.set(id, Math.max(takenAt.get(id) ?? 0, at));
      runs.push({ at, kind: 'urgent', spent: plannedOf(output) ?? scope.instanceIds.length });
    } else if (input.trigger === undefined && input.instanceIds === undefined) {
      runs.push({ at, kind: 'region', spent: r.status === 'RUNNING' ? undefined : plannedOf(output) });
    }
  }
  const night = runs.filter((x) => x.kind === 'region').reduce<Run | undefined>((a, b) => (!a || b.at > a.at ? b : a), undefined);
  let capSpent: number | undefined = night ? night.spent : 0;
  for (const x of runs) if (x.kind === 'urgent' && (!night || x.at >= night.at) && capSpent !== undefined) capSpent += x.spent ?? 0;
  return { takenAt, capSpent: capSpent === undefined ? undefined : Math.min(capSpent, URGENT_MAX_CAP_SPENT), running };
}

/**
 * What the runs that were RUNNING (`records` read before a wait) checked afresh and fixed while the
 * urgent path waited for them: every instance for a whole-region run, its ids for an urgent or
 * launch run. Those are not started again: the run that just ended has taken them (a host it could
 * not fix is found again by the next check).
 */
export function coveredByRunning(records: readonly ExecutionRecord[]): 'all' | ReadonlySet<string> {
  const ids = new Set<string>();
  for (const r of Array.isArray(records) ? records : []) {
    if (!r || r.status !== 'RUNNING') continue;
    const input = json(r.input);
    // A running launch run is listed but not described: its ids are unknown, and it covers none of ours for sure.
    if (!input) continue;
    if (input.trigger === undefined && input.instanceIds === undefined) return 'all';
    const scope = parseLaunchScope(input.instanceIds);
    if (scope.ok) for (const id of scope.instanceIds ?? []) ids.add(id);
  }
  return ids;
}

/** The remediation scope of an urgent request: its ids and the spent part of the day's cap; or why it is refused. */
export type UrgentScope = { readonly ok: true; readonly instanceIds: readonly string[]; readonly capSpent: number } | { readonly ok: false; readonly reason: string };

/**
 * Reads an urgent request (`{ trigger: "urgent", instanceIds, capSpent }`): 1 to {@link URGENT_MAX_IDS}
 * valid ids ({@link parseLaunchScope}) and `capSpent` an integer 0 to {@link URGENT_MAX_CAP_SPENT}.
 * Anything else is refused, never widened: `capSpent` can only lower the run's room below one
 * whole-region run's cap, which anyone able to start the machine could already ask for.
 */
export function parseUrgentScope(request: Record<string, unknown>): UrgentScope {
  const ids = parseLaunchScope(request.instanceIds);
  if (!ids.ok) return ids;
  const spent = request.capSpent;
  if (typeof spent !== 'number' || !Number.isInteger(spent) || spent < 0 || spent > URGENT_MAX_CAP_SPENT) {
    return { ok: false, reason: `capSpent must be an integer 0–${URGENT_MAX_CAP_SPENT}, not ${String(JSON.stringify(spent)).slice(0, 40)}` };
  }
  return { ok: true, instanceIds: ids.instanceIds ?? [], capSpent: spent };
}

/** `urgent-<time>-<hash>` (hash of the ids, given by the caller): within Step Functions' 80 characters and name alphabet. */
export function urgentExecutionName(at: number, idsHash: string): string {
  return `${URGENT_EXECUTION_PREFIX}${new Date(at).toISOString().replace(/[:.]/g, '')}-${idsHash.replace(/[^0-9a-f]/g, '').slice(0, 16)}`;
}

/**
 * The scope of a new remediation run from the state machine's first request: an urgent request
 * ({@link parseUrgentScope}: its ids and the day's spent cap), else as {@link remediationScope}
 * (a launch request's ids, or `{}`: the whole region with a whole cap).
 */
export function runScope(request: unknown): RemediationScope & { readonly capSpent?: number } {
  if (request !== null && typeof request === 'object' && !Array.isArray(request) && (request as Record<string, unknown>).trigger === URGENT_TRIGGER) {
    return parseUrgentScope(request as Record<string, unknown>);
  }
  return remediationScope(request);
}
