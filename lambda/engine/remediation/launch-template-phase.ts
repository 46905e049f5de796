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
 * A dry run has no work lists, so the phase does its dry run in `begin`: the same fresh reads and
 * plan, each change audited `planned` and then `skipped` / `dry-run`, as every instance action of a
 * dry run is. A real run that runs out of time keeps its item: the continuation carries it (the id
 * only) and the next invocation re-reads and re-plans. Versions made before the stop then already
 * carry the options, so nothing is made twice; the plan's wants, which the continuation does not
 * carry, are taken from what the run still has pending (hop raises, IMDSv2 switches) plus the fresh
 * options (what was already raised or switched).
 */
import { planSources, type SourceWants } from '../../core/sources/plan';
import type { Plan } from '../../core/remediation/plan';
import { applySourcePlan, readSources } from '../sources';
import type { RunContext } from './context';
import type { ActionPhase, PhaseItem } from './phase';

interface SourcesItem extends PhaseItem {
  /** Instances this run's plan raises (container hosts in scope); absent after a resume. */
  readonly hosts?: ReadonlySet<string>;
  /** Instances this run's plan switches to tokens required; absent after a resume. */
  readonly ready?: ReadonlySet<string>;
}

const ITEM_ID = 'launch-templates';
const IMDSV2_KEY = 'imdsv2';
/** The IMDS phase's list (./imds-phase.ts): changes to make and changes made, each with its hop (0: none). */
const IMDS_KEY = 'imds';

function itemOf(plan: Plan): SourcesItem {
  return {
    id: ITEM_ID,
    hosts: new Set((plan.dryRun ? plan.wouldChange : plan.instances).filter((p) => p.hopLimit !== undefined).map((p) => p.instanceId)),
    ready: new Set((plan.imdsv2?.enforce ?? []).map((e) => e.instanceId)),
  };
}

/** A resumed run's wants: what it still has to raise or switch (what it already did, the fresh read shows). */
function pendingWants(ctx: RunContext): { hosts: Set<string>; ready: Set<string> } {
  const { state } = ctx;
  const hosts = new Set(((state.actions?.[IMDS_KEY] ?? []) as { id: string; hop?: number }[]).filter((i) => (i.hop ?? 0) > 0).map((i) => i.id));
  const ready = new Set((state.actions?.[IMDSV2_KEY] ?? []).map((i) => i.id));
  return { hosts, ready };
}

/**
 * Reads, plans and applies (or, in a dry run, audits) the source fix. False when the deadline stopped
 * it before every decision was made: the caller keeps the item for the next invocation.
 */
async function fixSources(ctx: RunContext, item: SourcesItem): Promise<boolean> {
  const port = ctx.deps.launchSources;
  if (!port) {
    ctx.audit(ITEM_ID, 'update-launch-template', 'skipped', { reason: 'no-sources-port' });
    return true;
  }
  const planned = item.hosts && item.ready ? { hosts: item.hosts, ready: item.ready } : pendingWants(ctx);
  const defaults = await ctx.deps.metadataDefaults?.read();
  const inv = await readSources(port, [], defaults?.status === 'read' ? defaults.defaults : undefined);
  for (const e of inv.errors) ctx.log?.warn('launch-sources-read', { runId: ctx.state.runId, error: e });
  // Instances already above what their template launches were raised after launch: container hosts too.
  const hosts = new Set(planned.hosts);
  const required = new Set<string>();
  const ids = inv.groups.flatMap((g) => g.instanceIds);
  let read = 0;
  for (; read < ids.length && ctx.timeLeft() > 0; read += ctx.options.imdsChunkSize) {
    const fresh = await ctx.describeOrWait(ids.slice(read, read + ctx.options.imdsChunkSize));
    for (const [id, o] of fresh ?? []) {
      if (o.hopLimit !== undefined && o.hopLimit >= ctx.settings.hopLimitTarget) hosts.add(id);
      if (o.httpTokens === 'required') required.add(id);
    }
  }
  // Nothing is planned from half a read: the next invocation reads again.
  if (read < ids.length) return false;
  const wants: SourceWants = {
    hopLimitTarget: ctx.settings.hopLimitTarget,
    containerHost: (id) => hosts.has(id),
    tokensAllowed: (id) => ctx.settings.imdsv2 === 'enforce' && (planned.ready.has(id) || required.has(id)),
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
    dryRun: ctx.state.dryRun,
    templatesLaunchingNonCompliant: plan.templatesLaunchingNonCompliant,
    groupsLaunchingNonCompliant: plan.groupsLaunchingNonCompliant,
    fixed: result.fixed.length,
    failed: result.failed,
    left: result.left,
  });
  return result.left === 0;
}

export const LAUNCH_TEMPLATE_PHASE: ActionPhase<SourcesItem> = {
  key: 'sources',
  actionsOf: () => ['update-launch-template'],
  planned: () => [],
  select: (plan) => [itemOf(plan)],
  enabled: (settings) => settings.launchTemplates === 'fix',
  encode: () => [],
  decode: (id) => ({ id }),
  async run(ctx: RunContext, items: SourcesItem[]): Promise<boolean> {
    const item = items[0];
    if (!item) return true;
    if (ctx.settings.launchTemplates !== 'fix') {
      items.splice(0);
      return true;
    }
    const done = await fixSources(ctx, item);
    // Out of time: the item (its id; a resume derives the wants) waits in the continuation.
    items.splice(0, items.length, ...(done ? [] : [{ id: item.id }]));
    return done;
  },
  // A dry run queues no work: the phase audits what it would change here, once per run.
  async begin({ settings, plan, ctx }) {
    if (!plan.dryRun || settings.launchTemplates !== 'fix' || !ctx) return;
    // A dry run has one invocation: what the deadline stopped is said, not left for a resume.
    if (!(await fixSources(ctx, itemOf(plan)))) ctx.audit(ITEM_ID, 'update-launch-template', 'skipped', { reason: 'out-of-time' });
  },
};
