/**
 * The nightly remediation plan: pure, deterministic, and conservative. From fresh check evaluations
 * and the settings it decides, per instance, which changes to make and — for everything it will not
 * touch — why. Nothing here talks to AWS; the engine executes the plan.
 */
import type { MetadataOptionRow } from '../../contracts/metadata-options';
import type { Settings } from '../settings';
import type { InstanceEvaluation, Platform, RemediationAction } from '../types';
import { guestDocumentWants } from './guest-wants';
import { hopLimitScopeCovers, metadataOptionsWants } from './metadata-wants';
import type { BlockedAction, InstanceWants, PlanInstanceSettings, PlanSkipReason, WantedAction } from './wants';

export type { RemediationAction };
export type { BlockedAction, InstanceWants, PlanInstanceSettings, PlanSkipReason, WantedAction, WantFields, WantResult } from './wants';
export { hopLimitScopeCovers };
export { GUEST_FIX_FINDINGS, guestHasMixedSources, guestNeedsFix, guestNeedsNoProxy } from './guest-wants';

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
  /**
   * Metadata options beyond the hop limit and the endpoint (a row added to the metadata-options
   * table), by parameter: the value the plan saw and the one to set. Absent when there is none.
   */
  readonly metadata?: Readonly<Record<string, { readonly from?: unknown; readonly to: string | number }>>;
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
  /**
   * The metadata-options table the built-in wants judge rows of (tests pass a copy with a row
   * added); read only when `wants` is not given. @default METADATA_OPTIONS
   */
  readonly metadataOptions?: readonly MetadataOptionRow[];
  /**
   * Every per-instance want the plan judges, in order (the engine passes its action phases'
   * `wants`, lambda/engine/remediation/phase.ts: the metadata-options rows', the guest document's,
   * then the plugged-in phases'): what each wants counts the instance in under the cap.
   * @default builtInWants(metadataOptions) - the metadata-options rows, then the guest document
   */
  readonly wants?: readonly InstanceWants[];
}

/**
 * The wants of the actions every run has, in the order their actions are planned and audited: the
 * metadata-options rows (`table`), then the guest document. The plan's default when no phases are
 * passed (the check's urgent path, the benchmark, tests); the engine gets the same wants from its
 * IMDS and guest phases.
 */
export function builtInWants(table?: readonly MetadataOptionRow[]): readonly InstanceWants[] {
  return [metadataOptionsWants(table), guestDocumentWants];
}

/** {@link builtInWants} of the shipped table. */
export const BUILT_IN_WANTS: readonly InstanceWants[] = builtInWants();

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
 * Judges one instance by the rules of {@link planRemediation}, without the cap. An evaluation with
 * no instance id gives an empty plan.
 */
export function planInstance(e: InstanceEvaluation, settings: PlanInstanceSettings, options: PlanOptions = {}): InstancePlan {
  if (!e || typeof e.instanceId !== 'string') return { wanted: [], skipped: [] };
  const wanted: WantedAction[] = [];
  const blocked: BlockedAction[] = [];
  let hopLimit: PlannedInstance['hopLimit'];
  let enableEndpoint = false;
  let guest = false;
  let metadata: Record<string, { from?: unknown; to: string | number }> | undefined;
  // Each want judges the instance alone, in order; an exception is a bug there, never a crash here (nothing wanted).
  for (const want of options.wants ?? (options.metadataOptions ? builtInWants(options.metadataOptions) : BUILT_IN_WANTS)) {
    let r: ReturnType<InstanceWants>;
    try {
      r = want(e, settings);
    } catch {
      continue;
    }
    if (Array.isArray(r?.wanted)) wanted.push(...r.wanted);
    if (Array.isArray(r?.blocked)) blocked.push(...r.blocked);
    const f = r?.fields;
    if (f?.hopLimit) hopLimit = f.hopLimit;
    if (f?.enableEndpoint) enableEndpoint = true;
    if (f?.guest) guest = true;
    if (f?.metadata) metadata = { ...metadata, ...f.metadata };
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
    ...(metadata ? { metadata } : {}),
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
    /** The wants judged (see {@link PlanOptions.wants}). @default the built-in wants */
    private readonly wants?: readonly InstanceWants[],
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
    const ip = planInstance(e, this.settings, { ...(ipv6Only ? { ipv6Only: new Set([e.instanceId]) } : {}), ...(this.wants ? { wants: this.wants } : {}) });
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
