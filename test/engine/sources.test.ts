import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { createLaunchSourcesPort } from '../../lambda/aws/launch-sources';
import { groupPages } from '../../lambda/aws/on-demand/auto-scaling';
import { launchOriginOf } from '../../lambda/core/sources/attribute';
import { parseSettings } from '../../lambda/core/settings';
import type { InstanceEvaluation, InstanceRecord } from '../../lambda/core/types';
import { LAUNCH_TEMPLATE_PHASE } from '../../lambda/engine/remediation/launch-template-phase';
import type { RunContext } from '../../lambda/engine/remediation/context';
import { runSourcesCheck } from '../../lambda/engine/sources-check';
import { buildSourcesAccount } from '../../bench/sources';
import { DiscreteEventClock } from '../../bench/sim/virtual-clock';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';

function world() {
  const { sim, containerGroups } = buildSourcesAccount();
  const clock = new DiscreteEventClock();
  const ec2 = new EC2Client({ region: 'us-east-1' });
  const autoScaling = new AutoScalingClient({ region: 'us-east-1' });
  sim.attach(ec2, autoScaling);
  const port = createLaunchSourcesPort({ ec2, autoScaling: async () => groupPages(autoScaling), clock, random: () => 0.5 });
  const records: InstanceRecord[] = [...sim.instances.values()].map((i) => ({ instanceId: i.instanceId, platform: 'linux', hasInstanceProfile: true, optedOut: false, imds: i.imds, origin: launchOriginOf(i.tags, i.imageId) }));
  const evaluations: InstanceEvaluation[] = records.map((r) => {
    const host = containerGroups.has(sim.instances.get(r.instanceId)!.group ?? '');
    return { instanceId: r.instanceId, platform: 'linux', status: 'ok', checkState: 'checked', findings: [], imds: r.imds, hasInstanceProfile: true, ...(host ? { verdict: { containers: true } as never } : {}) };
  });
  return { sim, clock, port, records, evaluations };
}

describe('the check attributes and reports the sources', () => {
  it('adds the source codes to instances whose group launches non-compliant, and lists what enforcement would stop', async () => {
    const { clock, port, records, evaluations } = world();
    const settings = parseSettings({ ...SIM_DOCUMENT_PINS });
    const { result, evaluations: out } = await clock.run(() => runSourcesCheck(port, records, evaluations, settings, { status: 'read', defaults: { managedBy: 'account' } }));
    expect(result.plan.groupsLaunchingNonCompliant).toBe(9);
    expect(result.attribution.size).toBe(records.length);
    const codes = new Set(out.flatMap((e) => e.findings.map((f) => f.code)));
    expect(codes).toEqual(new Set(['launch-source-noncompliant', 'launch-source-owned-by-iac']));
    expect(result.enforcementBlockers.length).toBeGreaterThan(0);
  });
});

describe('the source-fix phase', () => {
  type Audit = { id: string; outcome: string; reason?: string };
  function ctx(
    port: ReturnType<typeof createLaunchSourcesPort>,
    clock: DiscreteEventClock,
    env: Record<string, string>,
    audits: Audit[],
    o: { dryRun?: boolean; imds?: { id: string; hop: number }[]; timeLeft?: () => number } = {},
  ): RunContext {
    const settings = parseSettings({ ...SIM_DOCUMENT_PINS, ...env });
    return {
      state: { runId: 'r', dryRun: o.dryRun ?? false, cap: 100, plannedInstances: 0, counts: { attempted: 0 }, actions: { imds: o.imds ?? [] } },
      settings,
      options: { imdsChunkSize: 100 },
      clock,
      deps: { launchSources: port },
      audit: (id: string, _a: string, outcome: string, extra?: { reason?: string }) => audits.push({ id, outcome, ...(extra?.reason ? { reason: extra.reason } : {}) }),
      timeLeft: o.timeLeft ?? (() => 60_000),
      describeOrWait: async () => new Map(),
    } as unknown as RunContext;
  }
  const HOST_GROUPS = ['asg-default-1', 'asg-latest-1', 'asg-iac', 'asg-pinned'];
  const hostsOf = (w: ReturnType<typeof world>): string[] => w.records.filter((r) => HOST_GROUPS.includes(w.sim.instances.get(r.instanceId)!.group ?? '')).map((r) => r.instanceId);

  it('in fix mode creates versions only where it may, and a second run changes nothing', async () => {
    const w = world();
    const { sim, clock, port } = w;
    const plan = { instances: hostsOf(w).map((id) => ({ instanceId: id, hopLimit: { to: 2 } })), imdsv2: { enforce: [] } } as never;
    const audits: Audit[] = [];
    const c = ctx(port, clock, { TSG_LAUNCH_TEMPLATES: 'fix' }, audits);
    await clock.run(() => LAUNCH_TEMPLATE_PHASE.run(c, LAUNCH_TEMPLATE_PHASE.select(plan)));
    expect(audits.filter((a) => a.outcome === 'verified')).toHaveLength(2);
    expect(audits.filter((a) => a.reason === 'cloudformation-managed' || a.reason === 'pinned-version')).toHaveLength(2);
    expect(sim.iacWritesRefused).toBe(0);
    const again: typeof audits = [];
    await clock.run(() => LAUNCH_TEMPLATE_PHASE.run(ctx(port, clock, { TSG_LAUNCH_TEMPLATES: 'fix' }, again), LAUNCH_TEMPLATE_PHASE.select(plan)));
    expect(again.filter((a) => a.outcome === 'verified' || a.outcome === 'applied')).toEqual([]);
  });

  it('changes nothing in report mode', async () => {
    const { sim, clock, port } = world();
    const audits: Audit[] = [];
    await clock.run(() => LAUNCH_TEMPLATE_PHASE.run(ctx(port, clock, {}, audits), LAUNCH_TEMPLATE_PHASE.select({ instances: [], imdsv2: { enforce: [] } } as never)));
    expect(sim.calls.CreateLaunchTemplateVersion ?? 0).toBe(0);
    expect(audits).toEqual([]);
  });

  it('in a dry run audits each change planned, then skipped dry-run, and changes nothing', async () => {
    const w = world();
    const audits: Audit[] = [];
    const plan = { dryRun: true, instances: [], wouldChange: hostsOf(w).map((id) => ({ instanceId: id, hopLimit: { to: 2 } })), imdsv2: { enforce: [] } } as never;
    const c = ctx(w.port, w.clock, { TSG_LAUNCH_TEMPLATES: 'fix', TSG_DRY_RUN: 'true' }, audits, { dryRun: true });
    await w.clock.run(() => LAUNCH_TEMPLATE_PHASE.begin!({ settings: c.settings, plan, ctx: c } as never));
    expect(w.sim.calls.CreateLaunchTemplateVersion ?? 0).toBe(0);
    expect(w.sim.calls.ModifyLaunchTemplate ?? 0).toBe(0);
    const planned = audits.filter((a) => a.outcome === 'planned').map((a) => a.id);
    // The two templates a real run fixes (the first test), each planned then skipped dry-run.
    expect(planned).toHaveLength(2);
    expect(audits.filter((a) => a.reason === 'dry-run').map((a) => a.id)).toEqual(planned);
    expect(audits.some((a) => a.outcome === 'applied' || a.outcome === 'verified')).toBe(false);
  });

  it('a real run does nothing in begin (its work is queued)', async () => {
    const w = world();
    const audits: Audit[] = [];
    const c = ctx(w.port, w.clock, { TSG_LAUNCH_TEMPLATES: 'fix' }, audits);
    await w.clock.run(() => LAUNCH_TEMPLATE_PHASE.begin!({ settings: c.settings, plan: { dryRun: false, instances: [], wouldChange: [] }, ctx: c } as never));
    expect(audits).toEqual([]);
  });

  it('a resumed run fixes from what it still has pending, instead of skipping', async () => {
    const w = world();
    const audits: Audit[] = [];
    // The continuation carries the item's id only; the hop raises still pending stand for the plan.
    const c = ctx(w.port, w.clock, { TSG_LAUNCH_TEMPLATES: 'fix' }, audits, { imds: hostsOf(w).map((id) => ({ id, hop: 1 })) });
    const items = [LAUNCH_TEMPLATE_PHASE.decode('launch-templates', [])];
    await expect(w.clock.run(() => LAUNCH_TEMPLATE_PHASE.run(c, items))).resolves.toBe(true);
    expect(items).toEqual([]);
    expect(audits.filter((a) => a.outcome === 'verified')).toHaveLength(2);
    expect(audits.some((a) => a.reason === 'resumed')).toBe(false);
  });

  it('out of time, keeps its item for the continuation and plans nothing from half a read', async () => {
    const w = world();
    const audits: Audit[] = [];
    const c = ctx(w.port, w.clock, { TSG_LAUNCH_TEMPLATES: 'fix' }, audits, { timeLeft: () => 0 });
    const items = LAUNCH_TEMPLATE_PHASE.select({ instances: hostsOf(w).map((id) => ({ instanceId: id, hopLimit: { to: 2 } })), imdsv2: { enforce: [] } } as never);
    await expect(w.clock.run(() => LAUNCH_TEMPLATE_PHASE.run(c, items))).resolves.toBe(false);
    expect(items.map((i) => i.id)).toEqual(['launch-templates']);
    expect(LAUNCH_TEMPLATE_PHASE.encode(items[0]!)).toEqual([]);
    expect(w.sim.calls.CreateLaunchTemplateVersion ?? 0).toBe(0);
    expect(audits).toEqual([]);
  });
});
