/**
 * The guest side of a run: the stack's remediation document in waves (`guestWaveBatches` × 50
 * instances), the opt-out re-read for each wave, each result judged (lambda/core/remediation/
 * guest-judgement.ts), and the step stopped once failures pass MaxErrors. It runs beside the IMDS
 * side: the two wait on independent limits. It is an action phase (./phase.ts, `GUEST_PHASE`) that
 * every run has: its items are queued per instance as the plan admits them (while the check streams
 * too) and carried in the continuation under `actions.guest`; its MaxErrors counters stay on the run
 * state (the summary reports them).
 */
import { remediationDocumentParameters, type RemediationEndpoint } from '../../contracts/remediation-document';
import { guestStepStops, judgeGuestResult } from '../../core/remediation/guest-judgement';
import { noProxyAudit } from '../../core/remediation/no-proxy-result';
import { guestDocumentWants } from '../../core/remediation/guest-wants';
import type { PlannedInstance } from '../../core/remediation/plan';
import type { InvocationResult } from '../ports';
import { runDocument } from '../run-document';
import { guestDocument, guestGroups } from './guest-document';
import type { RunContext } from './context';
import type { ActionPhase } from './phase';
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

/** Works through `queue` (the run's guest items); false when the deadline stops it (the rest stays queued). */
export async function runGuestPhase(ctx: RunContext, queue: GuestItem[]): Promise<boolean> {
  const { state, settings, clock, log, options: o } = ctx;
  const waveBudgetMs = o.guestWaveBudgetMs;
  while (queue.length > 0) {
    if (state.guestStopped || guestStepStops(state.guestFailures, settings.remediationMaxErrors, state.guestPlanned)) {
      state.guestStopped = true;
      for (const g of queue.splice(0)) ctx.audit(g.id, ACTION, 'skipped', { reason: 'max-errors-reached' });
      await ctx.trail.flush();
      break;
    }
    if (ctx.timeLeft() < waveBudgetMs) return false;
    const picked = queue.splice(0, o.guestWaveBatches * 50);
    // Opt-out re-read at the point of action: one batched DescribeInstances per wave.
    const fresh = await ctx.describeOrWait(picked.map((g) => g.id));
    if (!fresh) {
      queue.unshift(...picked);
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

const byId = (a: GuestItem, b: GuestItem): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The guest document as an action phase (see the file comment). */
export const GUEST_PHASE: ActionPhase<GuestItem> = {
  key: 'guest',
  // Setting-off, dry-run and check-failed drops are audited on the time-sync action, as they always were.
  actionsOf: () => [ACTION],
  planned(p) {
    const out: { action: typeof ACTION | 'add-imds-no-proxy'; after: unknown }[] = [];
    if (p.actions.includes(ACTION)) out.push({ action: ACTION, after: { timeSource: 'amazon' } });
    if (p.actions.includes('add-imds-no-proxy')) out.push({ action: 'add-imds-no-proxy', after: { noProxyCoversImds: true } });
    return out;
  },
  wants: guestDocumentWants,
  queue: (p: PlannedInstance) => (p.guest ? { id: p.instanceId, platform: p.platform, ipv6: p.ipv6Only } : undefined),
  select: () => [],
  enabled: (settings) => settings.fixTimeSync || settings.fixNoProxy,
  encode: (i) => [i.platform === 'windows' ? 'w' : 'l', i.ipv6 ? '1' : '0'],
  decode: (id, [p, v6]) => ({ id, platform: p === 'w' ? 'windows' : 'linux', ipv6: v6 === '1' }),
  // Before the guest document was a phase, its list was `g` (same fields).
  legacy: [{ field: 'g', decode: (id, fields) => GUEST_PHASE.decode(id, fields) }],
  run: (ctx, items) => runGuestPhase(ctx, items),
  // After the plan: the waves go in instance-id order, and MaxErrors is judged against what was planned.
  async begin({ state }) {
    const items = (state.actions?.[GUEST_PHASE.key] ?? []) as GuestItem[];
    items.sort(byId);
    state.guestPlanned = items.length;
  },
};
