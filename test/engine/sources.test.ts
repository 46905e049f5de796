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
  function ctx(port: ReturnType<typeof createLaunchSourcesPort>, clock: DiscreteEventClock, env: Record<string, string>, audits: { id: string; outcome: string; reason?: string }[]): RunContext {
    const settings = parseSettings({ ...SIM_DOCUMENT_PINS, ...env });
    return {
      state: { runId: 'r', dryRun: false, cap: 100, plannedInstances: 0, counts: { attempted: 0 } },
      settings,
      options: { imdsChunkSize: 100 },
      clock,
      deps: { launchSources: port },
      audit: (id: string, _a: string, outcome: string, extra?: { reason?: string }) => audits.push({ id, outcome, ...(extra?.reason ? { reason: extra.reason } : {}) }),
      timeLeft: () => 60_000,
      describeOrWait: async () => new Map(),
    } as unknown as RunContext;
  }

  it('in fix mode creates versions only where it may, and a second run changes nothing', async () => {
    const { sim, clock, port, records } = world();
    const hosts = new Set(records.filter((r) => ['asg-default-1', 'asg-latest-1', 'asg-iac', 'asg-pinned'].includes(sim.instances.get(r.instanceId)!.group ?? '')).map((r) => r.instanceId));
    const plan = { instances: [...hosts].map((id) => ({ instanceId: id, hopLimit: { to: 2 } })), imdsv2: { enforce: [] } } as never;
    const audits: { id: string; outcome: string; reason?: string }[] = [];
    const c = ctx(port, clock, { TSG_LAUNCH_TEMPLATES: 'fix' }, audits);
    await clock.run(() => LAUNCH_TEMPLATE_PHASE.run(c, LAUNCH_TEMPLATE_PHASE.select(plan)));
    expect(audits.filter((a) => a.outcome === 'verified')).toHaveLength(2);
    expect(audits.filter((a) => a.reason === 'cloudformation-managed' || a.reason === 'pinned-version')).toHaveLength(2);
    expect(sim.iacWritesRefused).toBe(0);
    const again: typeof audits = [];
    await clock.run(() => LAUNCH_TEMPLATE_PHASE.run(ctx(port, clock, { TSG_LAUNCH_TEMPLATES: 'fix' }, again), LAUNCH_TEMPLATE_PHASE.select(plan)));
    expect(again.filter((a) => a.outcome === 'verified' || a.outcome === 'applied')).toEqual([]);
  });

  it('changes nothing in report mode, and says why after a resume', async () => {
    const { sim, clock, port } = world();
    const audits: { id: string; outcome: string; reason?: string }[] = [];
    await clock.run(() => LAUNCH_TEMPLATE_PHASE.run(ctx(port, clock, {}, audits), LAUNCH_TEMPLATE_PHASE.select({ instances: [], imdsv2: { enforce: [] } } as never)));
    expect(sim.calls.CreateLaunchTemplateVersion ?? 0).toBe(0);
    await clock.run(() => LAUNCH_TEMPLATE_PHASE.run(ctx(port, clock, { TSG_LAUNCH_TEMPLATES: 'fix' }, audits), [LAUNCH_TEMPLATE_PHASE.decode('launch-templates', [])]));
    expect(audits).toEqual([{ id: 'launch-templates', outcome: 'skipped', reason: 'resumed' }]);
  });
});
