/**
 * The nightly remediation plan: pure, deterministic, and conservative. From fresh check evaluations
 * and the settings it decides, per instance, which changes to make and — for everything it will not
 * touch — why. Nothing here talks to AWS; the engine executes the plan.
 */
import { ADVISORY_CODES, codesWhere, type FindingCode } from '../diagnosis/findings';
import { orchestratorsOf } from '../fleet/evaluate-instance';
import type { Settings } from '../settings';
import type { InstanceEvaluation, Platform } from '../types';

/** Every change the remediation can make, as named in the audit events and in the finding table's `fix`. */
export type RemediationAction = 'raise-hop-limit' | 'enable-metadata-endpoint' | 'enable-amazon-time-sync' | 'add-imds-no-proxy' | 'require-imdsv2' | 'update-launch-template';

/** Why an action was not taken (planning time; the engine adds execution-time reasons). */
export type PlanSkipReason =
  /** The instance carries the opt-out tag. */
  | 'opted-out'
  /** The guest was not checked this run: its state is unknown and we never act blind. */
  | 'not-checked'
  /** The per-run cap (count or percent, the smaller) was reached. */
  | 'cap-reached'
  /** Dry run: planned and reported, not executed. */
  | 'dry-run';

/** One instance the engine will change (or would, in dry run). */
export interface PlannedInstance {
  readonly instanceId: string;
  readonly platform: Platform;
  /** The instance has no IPv4 address: the guest must use fd00:ec2::123. */
  readonly ipv6Only: boolean;
  /** Raise the hop limit from `from` (undefined when the API did not report one) to `to`. Never lower. */
  readonly hopLimit?: { readonly from?: number; readonly to: number };
  /** Set `HttpEndpoint: 'enabled'`. */
  readonly enableEndpoint: boolean;
  /** Run the stack's remediation document in the guest (time sync, NO_PROXY, or both: see `actions`). */
  readonly guest: boolean;
  /** The actions above, in execution order. */
  readonly actions: readonly RemediationAction[];
}

/** An action the plan will not execute, with the reason. */
export interface PlanSkip {
  readonly instanceId: string;
  readonly action: RemediationAction;
  readonly reason: PlanSkipReason;
  /** The change that was wanted (for the audit record). */
  readonly before?: unknown;
  readonly after?: unknown;
}

/** The plan for one run. */
export interface Plan {
  /** Instances to change, in deterministic order (by instance id). Empty in dry run. */
  readonly instances: readonly PlannedInstance[];
  /** In dry run: what would have been changed (subject to the same caps). Otherwise empty. */
  readonly wouldChange: readonly PlannedInstance[];
  readonly skipped: readonly PlanSkip[];
  /** The effective per-run cap on instances changed: min(maxChangesPerRun, ⌊percent × fleet⌋). */
  readonly cap: number;
  readonly fleetSize: number;
  readonly dryRun: boolean;
  /** IMDSv2 enforcement of this run (docs/imdsv2.md), planned from the readiness; absent when not assessed. */
  readonly imdsv2?: { readonly enforce: readonly { readonly instanceId: string; readonly hopLimit?: number }[] };
}

/** Optional facts the evaluations do not carry. */
export interface PlanOptions {
  /** Instance ids that have no IPv4 address (from the inventory). */
  readonly ipv6Only?: ReadonlySet<string>;
  /** Instances this run selected before this plan (as the check streamed them): they count against the cap. @default 0 */
  readonly alreadySelected?: number;
  /**
   * Instances earlier runs of the same budget day already changed (an urgent run shares the nightly
   * run's cap: docs/remediation.md, "Urgent hosts"); they count against the cap. @default 0
   */
  readonly spent?: number;
}

/**
 * Finding codes that say the guest is not (reliably) synchronised to Amazon Time Sync, so the
 * in-guest remediation is worth running even when the time source reads as Amazon: the finding
 * table's rows whose fix is `enable-amazon-time-sync`.
 */
export const GUEST_FIX_FINDINGS: ReadonlySet<FindingCode> = codesWhere((c) => c.fix === 'enable-amazon-time-sync');

/** Finding codes the guest's NO_PROXY step fixes: the table's rows whose fix is `add-imds-no-proxy`. */
const NO_PROXY_FIX_FINDINGS: ReadonlySet<FindingCode> = codesWhere((c) => c.fix === 'add-imds-no-proxy');

const AMAZON_SOURCES = new Set(['amazon-ipv4', 'amazon-ipv6', 'amazon-phc']);

/** An EC2 tag as DescribeInstances returns it (the SDK's `Tag`, without importing the SDK here). */
export interface TagLike {
  readonly Key?: string;
  readonly Value?: string;
}

/**
 * Opt-out, matched exactly as the stack's IAM Deny matches it, so that the code never plans what IAM
 * refuses (one such instance used to sink its whole SendCommand batch of 50):
 * - the KEY is compared case-insensitively, as IAM compares the key in `aws:ResourceTag/<key>` and
 *   `ssm:resourceTag/<key>` (`TimeSync-Guard:Opt-Out` opts out under the default key);
 * - the VALUE opts out unless it is `false` in any letter case (`StringNotEqualsIgnoreCase "false"`),
 *   not trimmed: `" false "`, `""`, `no`, `0` all opt out — the conservative reading, and IAM's;
 * - EC2 keys are case-sensitive, so two keys may differ only in case: any one of them that opts out
 *   wins (never touch an instance that IAM might deny or whose owner meant to opt out).
 */
export function isOptedOut(tags: readonly TagLike[] | undefined, optOutTagKey: string): boolean {
  const key = optOutTagKey.toLowerCase();
  return (tags ?? []).some((t) => typeof t.Key === 'string' && t.Key.toLowerCase() === key && (t.Value ?? '').toLowerCase() !== 'false');
}

/**
 * The effective cap: the smaller of the count cap and the percent of instances seen (rounded down),
 * less what earlier runs of the budget day already `spent` (a value that is not a finite number
 * spends the whole cap: what could not be read is never taken as room).
 */
export function effectiveCap(settings: Pick<Settings, 'maxChangesPerRun' | 'maxChangesPercent'>, fleetSize: number, spent = 0): number {
  const n = Number.isFinite(fleetSize) && fleetSize > 0 ? Math.floor(fleetSize) : 0;
  const byPercent = Math.floor((n * settings.maxChangesPercent) / 100 + 1e-9);
  const used = Number.isFinite(spent) ? Math.max(0, Math.floor(spent)) : Infinity;
  return Math.max(0, Math.min(settings.maxChangesPerRun, byPercent) - used);
}

/**
 * Whether a container host is in the hop-limit scope: under `containers` a Kubernetes node or ECS
 * container instance is left at its hop limit (pods/tasks would reach the node role's credentials);
 * `containers-and-orchestrators` and `all` include it.
 */
export function hopLimitScopeCovers(scope: Settings['hopLimitScope'], e: InstanceEvaluation): boolean {
  return scope !== 'containers' || orchestratorsOf(e.verdict).length === 0;
}


/** Findings that say the report itself could not be read whole: nothing in it may be acted on (the table's `vetoesFixes`). */
const UNREAD_REPORT_FINDINGS: ReadonlySet<FindingCode> = codesWhere((c) => c.vetoesFixes === true);

/**
 * Whether a Linux guest judged `ok` has only advisory leap-smear findings, which the time-sync fix
 * removes when the `fixMixedSources` setting asks for it.
 */
export function guestHasMixedSources(e: InstanceEvaluation): boolean {
  const v = e.verdict;
  return e.checkState === 'checked' && e.platform === 'linux' && v?.status === 'ok' && (v.findings ?? []).some((f) => ADVISORY_CODES.has(f.code));
}

/**
 * Whether the guest needs the time-sync fix, judged only from a completed check whose verdict is
 * `at-risk`: an `unknown` verdict (cut or unreadable report, daemon not answering, probe timed out)
 * is never fixed blind — the next check looks again.
 */
export function guestNeedsFix(e: InstanceEvaluation): boolean {
  const v = e.verdict;
  if (e.checkState !== 'checked' || !v || v.status !== 'at-risk') return false;
  if ((v.findings ?? []).some((f) => UNREAD_REPORT_FINDINGS.has(f.code))) return false;
  if (!AMAZON_SOURCES.has(v.timeSource)) return true;
  if (v.synchronized === false) return true;
  return (v.findings ?? []).some((f) => GUEST_FIX_FINDINGS.has(f.code)) || e.findings.some((f) => GUEST_FIX_FINDINGS.has(f.code));
}

/**
 * Whether the guest's NO_PROXY step is worth running: the check read the guest whole (a verdict that
 * is not `unknown`, no unread report) and found a code whose table row's fix is `add-imds-no-proxy`
 * (`proxy-without-no-proxy`). The document also runs
 * the time-sync step, which re-detects before it acts; an unknown verdict is never acted on.
 */
export function guestNeedsNoProxy(e: InstanceEvaluation): boolean {
  const v = e.verdict;
  if (e.checkState !== 'checked' || !v || v.status === 'unknown') return false;
  const codes = [...(v.findings ?? []), ...e.findings].map((f) => f.code);
  return !codes.some((c) => UNREAD_REPORT_FINDINGS.has(c)) && codes.some((c) => NO_PROXY_FIX_FINDINGS.has(c));
}

/** One wanted action with the change it stands for (the audit record's before/after). */
interface WantedAction {
  readonly action: RemediationAction;
  readonly before?: unknown;
  readonly after?: unknown;
}

/**
 * One instance judged alone (no cap): what it would change, or nothing. The plan of a run and the
 * streaming planner both apply the caps on top of this, so an instance is judged the same either way.
 */
export interface InstancePlan {
  /** The changes the instance needs; absent when it needs none or is opted out. */
  readonly planned?: PlannedInstance;
  /** What `planned` stands for, with before/after (for `cap-reached` and `dry-run` records). */
  readonly wanted: readonly WantedAction[];
  /** Actions refused without looking at the cap (`opted-out`, `not-checked`). */
  readonly skipped: readonly PlanSkip[];
}

/**
 * The settings one instance's plan reads: all of them reach the check too (its urgent path asks
 * whether the night would change an urgent host before it starts a run for it).
 */
export type PlanInstanceSettings = Pick<Settings, 'hopLimitTarget' | 'hopLimitScope' | 'enableMetadataEndpoint' | 'fixTimeSync' | 'fixNoProxy' | 'fixMixedSources'>;

/**
 * Judges one instance by the rules of {@link planRemediation}, without the cap. An evaluation with
 * no instance id gives an empty plan.
 */
export function planInstance(e: InstanceEvaluation, settings: PlanInstanceSettings, options: PlanOptions = {}): InstancePlan {
  if (!e || typeof e.instanceId !== 'string') return { wanted: [], skipped: [] };
  const wanted: WantedAction[] = [];
  const blocked: { action: RemediationAction; reason: PlanSkipReason; before?: unknown; after?: unknown }[] = [];

  // Hop limit. The API reports it for every instance; treat a missing value as EC2's default (1).
  const current = typeof e.imds?.hopLimit === 'number' && Number.isFinite(e.imds.hopLimit) ? e.imds.hopLimit : undefined;
  const effective = current ?? 1;
  let hopLimit: PlannedInstance['hopLimit'];
  if (effective < settings.hopLimitTarget) {
    const containers = e.verdict?.containers;
    const before = { hopLimit: current }, after = { hopLimit: settings.hopLimitTarget };
    if (settings.hopLimitScope === 'all' || (containers === true && hopLimitScopeCovers(settings.hopLimitScope, e))) {
      hopLimit = { from: current, to: settings.hopLimitTarget };
      wanted.push({ action: 'raise-hop-limit', before, after });
    } else if (e.checkState !== 'checked' && containers == null) {
      // We do not know whether containers run there; a later check will tell.
      blocked.push({ action: 'raise-hop-limit', reason: 'not-checked', before, after });
    }
  }

  const enableEndpoint = settings.enableMetadataEndpoint && e.imds?.httpEndpoint === 'disabled' && e.hasInstanceProfile === true;
  if (enableEndpoint) wanted.push({ action: 'enable-metadata-endpoint', before: { httpEndpoint: 'disabled' }, after: { httpEndpoint: 'enabled' } });

  let guest = false;
  if (settings.fixTimeSync) {
    if (guestNeedsFix(e) || (settings.fixMixedSources && guestHasMixedSources(e))) {
      guest = true;
      wanted.push({ action: 'enable-amazon-time-sync', before: { timeSource: e.verdict?.timeSource, synchronized: e.verdict?.synchronized } });
    } else if (e.checkState !== 'checked' && e.checkState !== 'opted-out') {
      blocked.push({ action: 'enable-amazon-time-sync', reason: 'not-checked' });
    }
  }
  if (settings.fixNoProxy && guestNeedsNoProxy(e)) {
    guest = true;
    wanted.push({ action: 'add-imds-no-proxy', before: { systemProxy: true, noProxyCoversImds: false } });
  }

  if (e.status === 'opted-out' || e.checkState === 'opted-out') {
    return { wanted: [], skipped: wanted.map((w) => ({ instanceId: e.instanceId, action: w.action, reason: 'opted-out', before: w.before, after: w.after })) };
  }
  const skipped: PlanSkip[] = blocked.map((b) => ({ instanceId: e.instanceId, ...b }));
  if (wanted.length === 0) return { wanted, skipped };
  const planned: PlannedInstance = {
    instanceId: e.instanceId,
    platform: e.platform === 'windows' ? 'windows' : 'linux',
    ipv6Only: options.ipv6Only?.has(e.instanceId) ?? false,
    hopLimit,
    enableEndpoint,
    guest,
    actions: wanted.map((w) => w.action),
  };
  return { planned, wanted, skipped };
}

/** `reason` records for every action an instance wanted (cap reached, dry run). */
export function skipsOf(p: InstancePlan, reason: PlanSkipReason): PlanSkip[] {
  const id = p.planned?.instanceId ?? '';
  return p.wanted.map((w) => ({ instanceId: id, action: w.action, reason, before: w.before, after: w.after }));
}

/**
 * Plans one run. Rules:
 * - hop limit: raised to `hopLimitTarget` only where the current value is lower (an unreported value
 *   counts as 1, EC2's default) and the scope matches (`containers`: the verdict says containers and
 *   the host is no Kubernetes/ECS node; `containers-and-orchestrators`: containers, nodes included;
 *   `all`: every instance). Never lowered.
 * - metadata endpoint: enabled only if `enableMetadataEndpoint`, the endpoint is disabled and the
 *   instance has a profile (credentials it cannot otherwise reach).
 * - guest: only if `fixTimeSync` and the check ran in the guest and judged it `at-risk`: off Amazon
 *   Time Sync or unsynchronised. An unchecked guest is skipped (`not-checked`), an `unknown`
 *   verdict is not planned at all: neither is ever acted on blind.
 * - NO_PROXY: only if `fixNoProxy` and {@link guestNeedsNoProxy}; it runs in the same document.
 * - opted-out instances: every wanted action is skipped (`opted-out`).
 * - caps: instances are taken in instance-id order until the cap; the rest are `cap-reached`.
 *   `options.alreadySelected` instances (planned earlier in the run, as the check streamed them)
 *   count against it.
 * - dry run: the capped selection is reported as `wouldChange` and each action skipped `dry-run`.
 */
export function planRemediation(
  evaluations: readonly InstanceEvaluation[],
  settings: Settings,
  fleetSize: number,
  options: PlanOptions = {},
): Plan {
  const cap = effectiveCap(settings, fleetSize, options.spent);
  const room = Math.max(0, cap - (options.alreadySelected ?? 0));
  const skipped: PlanSkip[] = [];
  const candidates: PlannedInstance[] = [];
  const seen = new Set<string>();
  const sorted = [...evaluations].sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));

  for (const e of sorted) {
    if (!e || typeof e.instanceId !== 'string' || seen.has(e.instanceId)) continue;
    seen.add(e.instanceId);
    const ip = planInstance(e, settings, options);
    skipped.push(...ip.skipped);
    if (!ip.planned) continue;
    if (candidates.length >= room) {
      skipped.push(...skipsOf(ip, 'cap-reached'));
      continue;
    }
    candidates.push(ip.planned);
    if (settings.dryRun) skipped.push(...skipsOf(ip, 'dry-run'));
  }

  return {
    instances: settings.dryRun ? [] : candidates,
    wouldChange: settings.dryRun ? candidates : [],
    skipped,
    cap,
    fleetSize,
    dryRun: settings.dryRun,
  };
}

/** What the streaming planner decided on one call: instances to act on now, and final skip records. */
export interface StreamDecision {
  readonly admitted: readonly PlannedInstance[];
  readonly skipped: readonly PlanSkip[];
}

/**
 * First come, first served planning while the fresh check is still running: each instance is judged
 * by {@link planInstance} as soon as its evaluation is final and admitted while the run's cap has
 * room. The percent cap's base is the number of instances listed so far, which only grows, so the
 * cap used here is never above the run's final cap. An instance that finds no room waits (in arrival
 * order) until the listing makes room, or is left to the end-of-check plan with everything the stream
 * did not decide (`planRemediation` with `alreadySelected`). A dry run decides nothing here: it is
 * planned whole at the end of the check.
 */
export class StreamingPlan {
  private listedCount = 0;
  private selectedCount = 0;
  private readonly decided = new Set<string>();
  private readonly waiting: InstancePlan[] = [];
  private readonly waitingIds = new Set<string>();

  constructor(
    private readonly settings: Settings,
    /** Instances earlier runs of the budget day changed (see {@link PlanOptions.spent}). */
    private readonly spent = 0,
  ) {}

  /** Instances admitted so far (they count against the run's cap). */
  get selected(): number {
    return this.selectedCount;
  }

  /** Whether the stream decided this instance for good (admitted or skipped): the end plan leaves it out. */
  decidedFor(instanceId: string): boolean {
    return this.decided.has(instanceId);
  }

  /** The listing has seen `count` instances in all (the percent cap's base): admits waiting ones that now fit. */
  listed(count: number): StreamDecision {
    if (Number.isFinite(count) && count > this.listedCount) this.listedCount = Math.floor(count);
    return this.drain();
  }

  /** One instance's final evaluation (a duplicate, or anything in a dry run, is left alone). */
  offer(e: InstanceEvaluation, ipv6Only = false): StreamDecision {
    const none: StreamDecision = { admitted: [], skipped: [] };
    if (this.settings.dryRun || !e || typeof e.instanceId !== 'string') return none;
    if (this.decided.has(e.instanceId) || this.waitingIds.has(e.instanceId)) return none;
    const ip = planInstance(e, this.settings, ipv6Only ? { ipv6Only: new Set([e.instanceId]) } : {});
    if (!ip.planned) {
      this.decided.add(e.instanceId);
      return { admitted: [], skipped: ip.skipped };
    }
    this.waiting.push(ip);
    this.waitingIds.add(e.instanceId);
    return this.drain();
  }

  private drain(): StreamDecision {
    const admitted: PlannedInstance[] = [];
    const skipped: PlanSkip[] = [];
    const cap = effectiveCap(this.settings, this.listedCount, this.spent);
    while (this.waiting.length > 0 && this.selectedCount < cap) {
      const ip = this.waiting.shift() as InstancePlan & { planned: PlannedInstance };
      this.waitingIds.delete(ip.planned.instanceId);
      this.decided.add(ip.planned.instanceId);
      this.selectedCount++;
      admitted.push(ip.planned);
      skipped.push(...ip.skipped);
    }
    return { admitted, skipped };
  }
}
