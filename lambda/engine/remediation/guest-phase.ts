/**
 * The guest side of a run: the stack's remediation document in waves (`guestWaveBatches` × 50
 * instances), the opt-out re-read for each wave, each result judged (lambda/core/remediation/
 * guest-judgement.ts), and the step stopped once failures pass MaxErrors. It runs beside the IMDS
 * side: the two wait on independent limits.
 */
import { remediationDocumentParameters, type RemediationEndpoint } from '../../contracts/remediation-document';
import { guestStepStops, judgeGuestResult } from '../../core/remediation/guest-judgement';
import { noProxyAudit } from '../../core/remediation/no-proxy-result';
import type { InvocationResult } from '../ports';
import { runDocument } from '../run-document';
import { guestDocument, guestGroups } from './guest-document';
import type { RunContext } from './context';
import type { GuestItem } from './state';

const ACTION = 'enable-amazon-time-sync';

/** The document parameters of one wave group (settings at the point of action). */
export function guestParameters(ctx: Pick<RunContext, 'settings' | 'options'>, endpoint: RemediationEndpoint): Record<string, string[]> {
  const { settings, options } = ctx;
  return remediationDocumentParameters({
    dryRun: false,
    endpoint,
    usePhc: settings.usePhc,
    installChrony: settings.installChrony,
    stepLargeOffset: settings.stepLargeOffset,
    forceDomainMembers: settings.forceDomainMembers,
    verifySeconds: options.guestVerifySeconds,
    fixNoProxy: settings.fixNoProxy,
    fixTimeSync: settings.fixTimeSync,
    fixMixedSources: settings.fixMixedSources,
  });
}

/** Audits one instance's result (both steps of the document); true when it counts toward MaxErrors. */
export function judgeGuest(ctx: RunContext, item: GuestItem, r: InvocationResult | undefined): boolean {
  const j = judgeGuestResult(r, ctx.deps.parseOutput);
  ctx.audit(item.id, ACTION, j.outcome, {
    ...(j.reason !== undefined ? { reason: j.reason } : {}),
    ...(j.after !== undefined ? { after: j.after } : {}),
  });
  const np = r?.output ? noProxyAudit(r.output) : undefined;
  if (np) ctx.audit(item.id, 'add-imds-no-proxy', np.outcome, { ...(np.reason !== undefined ? { reason: np.reason } : {}), after: np.after });
  return j.countsAsError || np?.outcome === 'failed' || np?.outcome === 'rolled-back';
}

/** Works through `state.guest`; false when the deadline stops it (the rest stays queued). */
export async function runGuestPhase(ctx: RunContext): Promise<boolean> {
  const { state, settings, clock, log, options: o } = ctx;
  const waveBudgetMs = o.guestWaveBudgetMs;
  while (state.guest.length > 0) {
    if (state.guestStopped || guestStepStops(state.guestFailures, settings.remediationMaxErrors, state.guestPlanned)) {
      state.guestStopped = true;
      for (const g of state.guest.splice(0)) ctx.audit(g.id, ACTION, 'skipped', { reason: 'max-errors-reached' });
      await ctx.trail.flush();
      break;
    }
    if (ctx.timeLeft() < waveBudgetMs) return false;
    const picked = state.guest.splice(0, o.guestWaveBatches * 50);
    // Opt-out re-read at the point of action: one batched DescribeInstances per wave.
    const fresh = await ctx.describeOrWait(picked.map((g) => g.id));
    if (!fresh) {
      state.guest.unshift(...picked);
      if (ctx.timeLeft() < o.verifyPollMs + waveBudgetMs) return false;
      await clock.sleep(o.verifyPollMs);
      continue;
    }
    const wave: GuestItem[] = [];
    for (const g of picked) {
      const cur = fresh.get(g.id);
      if (!cur) ctx.audit(g.id, ACTION, 'skipped', { reason: 'instance-gone' });
      else if (cur.optedOut) ctx.audit(g.id, ACTION, 'skipped', { reason: 'opted-out' });
      else wave.push(g);
    }
    if (wave.length === 0) {
      await ctx.trail.flush();
      continue;
    }
    const waveDeadline = clock.now() + waveBudgetMs;
    state.counts.attempted += wave.length;
    const results = await Promise.all(
      guestGroups(wave)
        .map(async (g) => {
          try {
            const res = await runDocument(ctx.deps.runCommand, {
              instanceIds: g.items.map((i) => i.id),
              ...guestDocument(settings, g.platform),
              parameters: guestParameters(ctx, g.endpoint),
              comment: `timesync-guard remediation ${state.runId}`,
              maxConcurrency: settings.remediationMaxConcurrency,
              maxErrors: settings.remediationMaxErrors,
              timeoutSeconds: settings.commandTimeoutSeconds,
              deadline: waveDeadline,
            });
            if (res.errors.length > 0) log?.error('remediation-guest-errors', { runId: state.runId, errors: res.errors.slice(0, 5) });
            return res.results;
          } catch (err) {
            log?.error('remediation-guest-send-failed', { runId: state.runId, error: String((err as Error)?.message ?? err) });
            return new Map<string, InvocationResult>();
          }
        }),
    );
    const merged = new Map<string, InvocationResult>();
    for (const m of results) for (const [k, v] of m) merged.set(k, v);
    for (const item of wave) if (judgeGuest(ctx, item, merged.get(item.id))) state.guestFailures++;
    await ctx.trail.flush();
  }
  return true;
}
