/**
 * The nightly remediation engine: check (fresh data), plan (pure), act (IMDS changes paced to EC2's
 * token bucket and verified `applied`; the stack's remediation document in the guest, stopping at
 * MaxErrors; any plugged-in action phase), audit every action, and — because 10,000 hop-limit
 * changes need ≈ 33 minutes of API time — stop cleanly before a deadline and hand back an opaque
 * continuation that the next invocation resumes from, without re-running the check and without
 * redoing finished work.
 *
 * Every wait goes through the injected `Clock`, so the benchmark can run it on a virtual clock.
 * The steps are separate modules: start.ts (start or resume), phase.ts (the one shape of an action;
 * phases.ts lists them: account-defaults-phase.ts, imds-phase.ts — the metadata-options rows, on
 * metadata-loop.ts: the one ModifyInstanceMetadataOptions loop, IMDSv2's too — guest-phase.ts, …),
 * summary.ts (the end of an invocation).
 */
import type { Settings } from '../../core/settings';
import { AuditTrail, createRunContext, resolveOptions, type RunContext } from './context';
import { type ImdsPhase, imdsSideOf } from './imds-phase';
import type { ActionPhase } from './phase';
import { ACTION_PHASES, RUN_PHASES } from './phases';
import { resumeRun, startRun } from './start';
import type { RunState } from './state';
import { finishInvocation } from './summary';
import type { RemediationDeps, RemediationOptions, RemediationResult } from './types';

/**
 * Runs (or resumes) one remediation run until it is done or the deadline approaches.
 *
 * First invocation (no continuation): check → plan → audit the plan → act; each instance is planned
 * and its IMDS change started as soon as the check's verdict on it is final (start.ts). Later invocations resume
 * from `input.continuation` exactly where the previous one stopped. The final invocation emits the
 * summary event, the SNS summary and the metrics (with `RemediationCompleted` = 1).
 *
 * Throws only for a run that cannot proceed at all (the check failed, a malformed continuation);
 * an instance's failure is data, counted and audited.
 */
export async function runRemediation(
  deps: RemediationDeps,
  settings: Settings,
  input: { readonly continuation?: string },
  opts: RemediationOptions,
): Promise<RemediationResult> {
  const options = resolveOptions(opts);
  const phases = [...RUN_PHASES, ...(deps.actionPhases ?? ACTION_PHASES)];
  let state: RunState | undefined;
  const trail = new AuditTrail(deps.audit, deps.clock, deps.logger, () => state as RunState);
  // One context per invocation (and with it one IMDS side), made as soon as the state exists: a new
  // run's IMDS side starts while the check still runs (start.ts).
  let context: RunContext | undefined;
  const contextOf = (s: RunState): RunContext => (context ??= createRunContext({ state: s, settings, options, deps, trail, imds: deps.imds(s.bucket) }));
  const imdsOf = (s: RunState): ImdsPhase => imdsSideOf(contextOf(s));
  const startArgs = { deps, settings, phases, trail, adopt: (s: RunState) => void (state = s) };

  // Read before any work: a run that could not hand on its continuation must not start acting.
  const key = await deps.continuationKey();
  const continuation = input.continuation;
  const running =
    continuation !== undefined && continuation !== null && continuation !== ''
      ? await resumeRun({ ...startArgs, continuation, key })
      : await startRun({ ...startArgs, imds: imdsOf, context: contextOf });

  const ctx = contextOf(running);
  try {
    await drivePhases(ctx, phases);
  } finally {
    await trail.flush();
    running.bucket = ctx.imds.bucketState();
    running.auditLost = deps.audit.failedEntries() + (running.auditLost ?? 0);
  }
  return finishInvocation(ctx, key, phases);
}

/**
 * The IMDS changes wait on EC2's ModifyInstanceMetadataOptions bucket (5/s: ≈ 33 min for 10,000),
 * the guest waves on Run Command and SSM's rate: independent limits, and the in-guest scripts use
 * neither IMDS nor its settings. So every phase runs at once: the guest waves (and any plugged-in
 * phase) go out while the IMDS changes are paced, instead of after them. `phase` stays the IMDS
 * side's progress (it moves it to `guest` once done); every phase's list holds its own, so a
 * continuation resumes each wherever it stopped. The run is done when every phase is.
 */
export async function drivePhases(ctx: RunContext, phases: readonly ActionPhase[]): Promise<void> {
  const { state } = ctx;
  if (state.phase === 'done') return;
  const done = await Promise.all(
    phases.map((p) => {
      const items = state.actions?.[p.key];
      if (p.always) return p.run(ctx, ((state.actions ??= {})[p.key] ??= []));
      return items && items.length > 0 ? p.run(ctx, items) : Promise.resolve(true);
    }),
  );
  if (done.every(Boolean)) state.phase = 'done';
}
