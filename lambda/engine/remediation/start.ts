/**
 * The first step of every invocation: a new run (fresh check → plan → `planned` audit → the lists
 * of work; each instance planned, audited and its IMDS change started as its verdict streams in)
 * or a resumed one (verify and decode the continuation, refuse and audit anything else, then apply
 * the CURRENT settings to what is left).
 */
import { planImdsv2Enforcement } from '../../core/imdsv2/enforcement';
import { type InstanceWants, planRemediation, type Plan, type PlannedInstance, type StreamDecision, StreamingPlan } from '../../core/remediation/plan';
import type { Settings } from '../../core/settings';
import type { Clock } from '../ports';
import type { AuditTrail, RunContext } from './context';
import { ContinuationError, continuationFingerprint, decodeContinuation } from './continuation';
import { GUEST_PHASE } from './guest-phase';
import { type ImdsPhase, imdsStages } from './imds-phase';
import type { ActionPhase } from './phase';
import { newRunState, type RunState } from './state';
import type { FreshCheckStream, RemediationCheckResult, RemediationDeps } from './types';

function newRunIdDefault(clock: Clock): string {
  return `${new Date(clock.now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${Math.random().toString(36).slice(2, 8)}`;
}

/** What starting and resuming share. */
export interface StartArgs {
  readonly deps: RemediationDeps;
  readonly settings: Settings;
  readonly phases: readonly ActionPhase[];
  readonly trail: AuditTrail;
  /** Receives the state as soon as it exists (the trail audits against it). */
  readonly adopt: (state: RunState) => void;
  /**
   * The run's IMDS side, fed while the check runs (a new run that is not a dry run).
   * @default - no stream: everything is planned at the end of the check
   */
  readonly imds?: (state: RunState) => ImdsPhase;
  /** The invocation's context, for the phases' `begin`. @default - `begin` gets none */
  readonly context?: (state: RunState) => RunContext;
}

/**
 * The per-instance wants of the phases that have them, in phase order, for the plan: the run's
 * phases are the only wants it judges (the metadata-options rows and the guest document are the
 * IMDS and guest phases' wants, so the plan's built-in defaults are never added a second time).
 */
function wantsOf(phases: readonly ActionPhase[]): InstanceWants[] {
  return phases.flatMap((p) => (p.wants ? [p.wants] : []));
}

/** `planned` records of one selected instance: each phase's, in phase order (the IMDS rows', then the guest's). */
function auditPlanned(trail: AuditTrail, phases: readonly ActionPhase[], p: PlannedInstance): void {
  for (const phase of phases) {
    for (const a of phase.planned(p)) trail.record(p.instanceId, a.action, 'planned', { before: a.before, after: a.after });
  }
}

/** Queues one selected instance's per-instance phase items (`queue`: its IMDS change, its guest item); `select` gives the rest at the end. */
function queueWork(state: RunState, phases: readonly ActionPhase[], p: PlannedInstance): void {
  for (const phase of phases) {
    const item = phase.queue?.(p);
    if (item) ((state.actions ??= {})[phase.key] ??= []).push(item);
  }
}

/**
 * The plan while the check runs (a real run only; a dry run is planned whole at the end): each
 * instance is judged by the pure per-instance plan as its evaluation becomes final, admitted first
 * come first served within the caps (`StreamingPlan`), audited `planned` (or `skipped`) at once, and
 * its IMDS change queued for the IMDS side, which starts making changes before the check ends.
 * The phases' per-instance items (`queue`: the guest document's) are queued too; they run after the check, as before. The stream lives in
 * the first invocation only (the check finishes there, or the run fails), so the continuation never
 * carries it: only the lists it filled.
 */
class PlanStream {
  readonly planner: StreamingPlan;
  /** Instances admitted while streaming, in order. */
  readonly selected: PlannedInstance[] = [];

  constructor(
    private readonly state: RunState,
    settings: Settings,
    private readonly trail: AuditTrail,
    private readonly phases: readonly ActionPhase[],
    private readonly imds: ImdsPhase,
    spent: number,
  ) {
    this.planner = new StreamingPlan(settings, spent, wantsOf(phases));
    imds.openStream();
  }

  readonly sink: FreshCheckStream = {
    listed: (count) => this.take(this.planner.listed(count)),
    evaluated: (items) => {
      for (const i of items) this.take(this.planner.offer(i.evaluation, i.ipv6Only));
    },
  };

  private take(d: StreamDecision): void {
    for (const s of d.skipped) this.trail.record(s.instanceId, s.action, 'skipped', { reason: s.reason, before: s.before, after: s.after });
    for (const p of d.admitted) {
      this.selected.push(p);
      auditPlanned(this.trail, this.phases, p);
      queueWork(this.state, this.phases, p);
    }
    if (d.admitted.length > 0) this.imds.queued();
  }

  /**
   * The check failed as a whole: nothing more is planned, queued work is dropped (audited
   * `skipped` / `check-failed`), the change under way finishes and what was made is verified.
   */
  async abort(): Promise<void> {
    await this.imds.halt();
    for (const phase of this.phases) dropPhase(this.state, this.trail, phase, 'check-failed');
    await this.imds.verify();
    await this.trail.flush();
  }
}

/** A new run: check (fresh data, planned and acted on per instance as it streams in), plan the rest, audit the plan, queue the work. */
export async function startRun(args: StartArgs): Promise<RunState> {
  const { deps, settings, phases, trail } = args;
  const { clock } = deps;
  const startedAt = clock.now();
  const runId = deps.newRunId?.() ?? newRunIdDefault(clock);
  // The state exists before the check, so that the stream can audit against it and queue work on it.
  const state = newRunState({ runId, startedAt, dryRun: settings.dryRun, fleetSize: 0, cap: 0, plannedInstances: 0 });
  args.adopt(state);
  const stream = !settings.dryRun && args.imds ? new PlanStream(state, settings, trail, phases, args.imds(state), deps.capSpent ?? 0) : undefined;
  let checked: RemediationCheckResult;
  try {
    checked = await deps.check(stream?.sink);
  } catch (err) {
    await stream?.abort();
    throw err;
  }
  const evaluations = Array.isArray(checked?.evaluations) ? checked.evaluations : [];
  const fleetSize = checked?.fleetSize ?? evaluations.length;
  const streamed = stream?.selected ?? [];
  // What the stream did not decide (no verdict before the end, or no room under the cap yet) is planned now, as before.
  const rest = stream ? evaluations.filter((e) => !stream.planner.decidedFor(e?.instanceId)) : evaluations;
  const base: Plan = planRemediation(rest, settings, fleetSize, {
    ...(checked?.ipv6Only ? { ipv6Only: checked.ipv6Only } : {}),
    alreadySelected: streamed.length,
    ...(deps.capSpent !== undefined ? { spent: deps.capSpent } : {}),
    wants: wantsOf(phases),
  });
  const planned = base.dryRun ? base.wouldChange : base.instances;
  const selected = [...streamed, ...planned];
  // IMDSv2 shares the run's cap with the other changes: only what they left (docs/imdsv2.md).
  const v2 = checked?.imdsv2 ? planImdsv2Enforcement(checked.imdsv2, settings, base.cap - selected.length) : undefined;
  const plan: Plan = { ...base, ...(base.dryRun ? {} : { instances: selected }), ...(v2 ? { imdsv2: v2 } : {}) };
  state.fleetSize = fleetSize;
  state.cap = plan.cap;
  state.plannedInstances = selected.length;
  for (const p of planned) auditPlanned(trail, phases, p);
  for (const s of plan.skipped) trail.record(s.instanceId, s.action, 'skipped', { reason: s.reason, before: s.before, after: s.after });
  // Report mode skips every ready instance by design: that is the readiness report, not an audit event.
  for (const s of v2?.skipped ?? []) if (s.reason !== 'mode-report') trail.record(s.instanceId, 'require-imdsv2', 'skipped', { reason: s.reason });
  // Each switch is audited as planned before anything runs: in a dry run, that record is the whole of it.
  for (const e of v2?.enforce ?? []) {
    trail.record(e.instanceId, 'require-imdsv2', 'planned', { before: { httpTokens: 'optional' }, after: { httpTokens: 'required', ...(e.hopLimit !== undefined ? { hopLimit: e.hopLimit } : {}) } });
  }
  if (!plan.dryRun) {
    for (const p of planned) queueWork(state, phases, p);
    for (const phase of phases) {
      const items = phase.select(plan);
      if (items.length > 0) ((state.actions ??= {})[phase.key] ??= []).push(...items);
    }
  } else {
    state.phase = 'done';
  }
  // Run-level work of the phases (the account defaults: ./account-defaults-phase.ts), once per run, dry run too.
  const ctx = args.context?.(state);
  for (const phase of phases) await phase.begin?.({ deps, settings, plan, checked, state, ...(ctx ? { ctx } : {}) });
  deps.logger?.info('remediation-plan', {
    runId,
    dryRun: plan.dryRun,
    fleetSize,
    cap: plan.cap,
    plannedInstances: selected.length,
    plannedWhileChecking: streamed.length,
    imdsChanges: imdsStages(state).pending.length,
    guestChanges: state.actions?.[GUEST_PHASE.key]?.length ?? 0,
    skipped: plan.skipped.length,
  });
  await trail.flush();
  // The end of the plan is queued: the IMDS side goes on from the stream without waiting for more.
  if (stream) args.imds?.(state).queued();
  return state;
}

/** Audits and logs a refused continuation; the caller rethrows (the run fails loudly). */
export async function refuseContinuation(deps: RemediationDeps, text: unknown, err: unknown): Promise<void> {
  const e = err instanceof ContinuationError ? err : new ContinuationError(String(err), { cause: err });
  const detail = {
    reason: e.reason,
    message: e.message,
    continuationChars: typeof text === 'string' ? text.length : 0,
    continuationSha256: continuationFingerprint(typeof text === 'string' ? text : String(text)),
    at: new Date(deps.clock.now()).toISOString(),
  };
  deps.logger?.error('remediation-continuation-refused', detail);
  await deps.audit.refused(detail);
}

/** Drops a phase's pending items (not those it already `acted` on), each of its actions audited `skipped` with `reason`. */
function dropPhase(state: RunState, trail: AuditTrail, phase: ActionPhase, reason: string): void {
  const items = state.actions?.[phase.key];
  if (!items) return;
  const acted = (i: { id: string }): boolean => phase.acted?.(i) ?? false;
  const dropped = items.filter((i) => !acted(i));
  if (dropped.length < items.length) items.splice(0, items.length, ...items.filter(acted));
  else items.splice(0);
  for (const i of dropped) for (const a of phase.actionsOf(i)) trail.record(i.id, a, 'skipped', { reason });
}

/**
 * On every resume the CURRENT settings win over the plan carried in the continuation: a run that
 * is now a dry run applies nothing more, an action whose switch is now off is dropped (a change
 * already made is still verified: the phase's `acted`), and the hop
 * target is always read from the settings at the point of action (the continuation carries none).
 * Opt-out tags are re-read at the point of action (IMDS and guest), not here.
 */
export function applyCurrentSettings(state: RunState, settings: Settings, trail: AuditTrail, phases: readonly ActionPhase[]): void {
  state.dryRun = settings.dryRun;
  if (settings.dryRun) {
    for (const phase of phases) dropPhase(state, trail, phase, 'dry-run');
    return;
  }
  for (const phase of phases) {
    if (!phase.enabled(settings)) dropPhase(state, trail, phase, 'setting-off');
    const items = state.actions?.[phase.key];
    // A row of the IMDS side switched off (the table's `setting`): that action only.
    if (items && items.length > 0) phase.narrow?.(items, settings, (id, action) => trail.record(id, action, 'skipped', { reason: 'setting-off' }));
  }
}

/** A resumed run: the continuation verified and decoded (or refused: audited, then thrown), the current settings applied. */
export async function resumeRun(args: StartArgs & { readonly continuation: string; readonly key: Uint8Array }): Promise<RunState> {
  const { deps, settings, phases, trail } = args;
  let state: RunState;
  try {
    state = decodeContinuation(args.continuation, args.key, deps.clock.now(), phases);
  } catch (err) {
    await refuseContinuation(deps, args.continuation, err);
    throw err;
  }
  args.adopt(state);
  state.invocations++;
  deps.logger?.info('remediation-resume', { runId: state.runId, phase: state.phase, invocation: state.invocations });
  applyCurrentSettings(state, settings, trail, phases);
  await trail.flush();
  return state;
}
