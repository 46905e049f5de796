/**
 * The fix at the source as a remediation action phase (./phase.ts), fleet-scoped: one item for the
 * account-region (`launch-templates`), whose run reads the sources fresh (groups, templates, versions,
 * AMIs, account defaults: ../sources.ts), plans (lambda/core/sources/plan.ts) and, under
 * `launchTemplates: fix`, creates the new versions and moves `$Default` where groups follow it. What
 * the fleet wants comes from this run's plan: instances it raises the hop limit on are container
 * hosts, instances it switches to tokens required are ready; so are group instances already at
 * the target above what their template launches (raised after launch), and, under `imdsv2: enforce`,
 * those already requiring tokens. Same cap (what the instance plan left), opt-out (group or
 * template), pacing (the adapter's EC2 buckets) and audit (`update-launch-template`, the template id
 * as the record's instance id) as the nightly run.
 *
 * Today's engine runs phases on real runs only (a dry run ends after the plan): the check's
 * `report` mode already carries every change with its snippet. Once phases see dry runs (issue 21's
 * redesign), `applySourcePlan`'s `dryRun` audits `planned` only.
 */
import { planSources, type SourceWants } from '../../core/sources/plan';
import { applySourcePlan, readSources } from '../sources';
import type { LaunchSourcesPort } from '../source-ports';
import type { RunContext } from './context';
import type { ActionPhase, PhaseItem } from './phase';
import type { RemediationDeps } from './types';

/** The remediation deps with the sources port (wired by the handler; the benchmark and tests inject their own). */
export interface SourceFixDeps extends RemediationDeps {
  readonly launchSources?: LaunchSourcesPort;
}

interface SourcesItem extends PhaseItem {
  /** Instances this run's plan raises (container hosts in scope); absent after a resume. */
  readonly hosts?: ReadonlySet<string>;
  /** Instances this run's plan switches to tokens required. */
  readonly ready?: ReadonlySet<string>;
}

const ITEM_ID = 'launch-templates';

export const LAUNCH_TEMPLATE_PHASE: ActionPhase<SourcesItem> = {
  key: 'sources',
  actionsOf: () => ['update-launch-template'],
  planned: () => [],
  select: (plan) => [
    {
      id: ITEM_ID,
      hosts: new Set(plan.instances.filter((p) => p.hopLimit !== undefined).map((p) => p.instanceId)),
      ready: new Set((plan.imdsv2?.enforce ?? []).map((e) => e.instanceId)),
    },
  ],
  enabled: (settings) => settings.launchTemplates === 'fix',
  encode: () => [],
  decode: (id) => ({ id }),
  async run(ctx: RunContext, items: SourcesItem[]): Promise<boolean> {
    const item = items.splice(0)[0];
    if (!item) return true;
    const mode = ctx.settings.launchTemplates;
    const port = (ctx.deps as SourceFixDeps).launchSources;
    if (mode !== 'fix') return true;
    if (!port) {
      ctx.audit(ITEM_ID, 'update-launch-template', 'skipped', { reason: 'no-sources-port' });
      return true;
    }
    // The fleet's wants are this run's plan: a resumed run has lost them, and the next night re-plans.
    if (!item.hosts || !item.ready) {
      ctx.audit(ITEM_ID, 'update-launch-template', 'skipped', { reason: 'resumed' });
      return true;
    }
    const defaults = await ctx.deps.metadataDefaults?.read();
    const inv = await readSources(port, [], defaults?.status === 'read' ? defaults.defaults : undefined);
    for (const e of inv.errors) ctx.log?.warn('launch-sources-read', { runId: ctx.state.runId, error: e });
    // Instances already above what their template launches were raised after launch: container hosts too.
    const hosts = new Set(item.hosts);
    const required = new Set<string>();
    const ids = inv.groups.flatMap((g) => g.instanceIds);
    for (let k = 0; k < ids.length && ctx.timeLeft() > 0; k += ctx.options.imdsChunkSize) {
      const fresh = await ctx.describeOrWait(ids.slice(k, k + ctx.options.imdsChunkSize));
      for (const [id, o] of fresh ?? []) {
        if (o.hopLimit !== undefined && o.hopLimit >= ctx.settings.hopLimitTarget) hosts.add(id);
        if (o.httpTokens === 'required') required.add(id);
      }
    }
    const wants: SourceWants = {
      hopLimitTarget: ctx.settings.hopLimitTarget,
      containerHost: (id) => hosts.has(id),
      tokensAllowed: (id) => ctx.settings.imdsv2 === 'enforce' && (item.ready!.has(id) || required.has(id)),
      optOutTagKey: ctx.settings.optOutTagKey,
    };
    const plan = planSources(inv, wants, [], 'fix');
    // Each template change counts against the run's cap, after the instance changes.
    const cap = Math.max(0, ctx.state.cap - ctx.state.plannedInstances);
    const result = await applySourcePlan(port, plan, {
      dryRun: ctx.state.dryRun,
      cap,
      hasTime: () => ctx.timeLeft() > 0,
      audit: (r) => {
        if (r.outcome === 'applied') ctx.state.counts.attempted++;
        ctx.audit(r.templateId, 'update-launch-template', r.outcome, { ...(r.reason ? { reason: r.reason } : {}), before: r.before, after: r.after });
      },
    });
    ctx.log?.info('launch-sources-fix', {
      runId: ctx.state.runId,
      templatesLaunchingNonCompliant: plan.templatesLaunchingNonCompliant,
      groupsLaunchingNonCompliant: plan.groupsLaunchingNonCompliant,
      fixed: result.fixed.length,
      failed: result.failed,
    });
    return true;
  },
};
