/**
 * The fix at the source on a simulated account (docs/launch-templates.md): 12 Auto Scaling groups
 * (`$Default`, `$Latest`, pinned, mixed instances with an override template, a CloudFormation-owned
 * template, an EKS managed node group, compliant ones deciding by template, AMI and account default),
 * Karpenter nodes and bare instances, 20-ish instances each. The night: the instance fix raises the
 * container hosts' hop limits (a change after launch), then attribution is scored against the
 * simulator's truth, then the source fix runs in `fix` mode through the real adapter
 * (lambda/aws/launch-sources.ts) on real SDK clients; then every fixed group scales out, and a
 * second run plans again. Run alone: `npx tsx bench/sources.ts` (prints the `sources` object).
 */
import './env';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { createLaunchSourcesPort } from '../lambda/aws/launch-sources';
import { groupPages } from '../lambda/aws/on-demand/auto-scaling';
import { attributeInstance, launchOriginOf } from '../lambda/core/sources/attribute';
import { planRemediation } from '../lambda/core/remediation/plan';
import { parseSettings } from '../lambda/core/settings';
import { planSources, type SourceWants } from '../lambda/core/sources/plan';
import type { InstanceEvaluation } from '../lambda/core/types';
import { applySourcePlan, readSources } from '../lambda/engine/sources';
import { SimSources } from './sim/launch-templates';
import { SIM_DOCUMENT_PINS } from './sim/ssm';
import { DiscreteEventClock } from './sim/virtual-clock';

/** The `sources` object of results.json. */
export interface SourcesFigures {
  readonly autoScalingGroups: number;
  readonly instances: number;
  readonly decidingLayerAccuracy: number;
  readonly templatesFixed: number;
  readonly iacOwnedTemplatesChanged: number;
  readonly scaleOutLaunchesCompliant: number;
  readonly secondRunInstanceChanges: number;
  /** Sources left to their owners with the exact change (IaC, EKS, Karpenter, pinned groups). */
  readonly sourcesLeftToOwners: number;
  readonly apiCalls: Readonly<Record<string, number>>;
  readonly simulatedSeconds: number;
}

const TARGET = 2;
const PER_GROUP = 20;

/** Builds the account; returns it with the container-host groups. */
export function buildSourcesAccount(): { sim: SimSources; containerGroups: Set<string>; readyGroups: Set<string> } {
  const sim = new SimSources();
  sim.addImage('ami-0000000000000000a');
  sim.addImage('ami-0000000000000000b', 'v2.0');
  sim.accountDefaults = { managedBy: 'account' };
  const plain = 'ami-0000000000000000a';
  const hop1 = { hopLimit: 1, httpTokens: 'optional' as const, httpEndpoint: 'enabled' as const };
  const ok = { hopLimit: 2, httpTokens: 'required' as const, httpEndpoint: 'enabled' as const };
  const t = (name: string, versions: { metadataOptions?: typeof hop1 | typeof ok; imageId?: string }[], opts: Parameters<SimSources['addTemplate']>[2] = {}) =>
    sim.addTemplate(name, versions.map((v) => ({ imageId: v.imageId ?? plain, ...(v.metadataOptions ? { metadataOptions: v.metadataOptions } : {}) })), opts);
  const web = [t('web-a', [{ metadataOptions: hop1 }]), t('web-b', [{ metadataOptions: hop1 }, { metadataOptions: hop1 }], { defaultVersion: 2 }), t('web-c', [{ metadataOptions: hop1 }])];
  web.forEach((x, k) => sim.addGroup(`asg-default-${k + 1}`, { templateId: x.id, version: '$Default' }));
  const latest = [t('batch-a', [{ metadataOptions: ok }, { metadataOptions: hop1 }]), t('batch-b', [{ metadataOptions: hop1 }])];
  latest.forEach((x, k) => sim.addGroup(`asg-latest-${k + 1}`, { templateId: x.id, version: '$Latest' }));
  const pinned = t('legacy', [{ metadataOptions: hop1 }, { metadataOptions: hop1 }, { metadataOptions: hop1 }], { defaultVersion: 3 });
  sim.addGroup('asg-pinned', { templateId: pinned.id, version: '2' });
  const mixedMain = t('mixed-main', [{ metadataOptions: hop1 }]);
  const mixedSpot = t('mixed-arm', [{ metadataOptions: hop1 }]);
  sim.addGroup('asg-mixed', { templateId: mixedMain.id, version: '$Default' }, { overrides: [{ templateId: mixedSpot.id, version: '$Latest' }] });
  const iac = t('stack-web', [{ metadataOptions: hop1 }], { tags: { 'aws:cloudformation:stack-name': 'web-stack' } });
  sim.addGroup('asg-iac', { templateId: iac.id, version: '$Default' });
  const eks = t('eks-nodes', [{ metadataOptions: hop1 }]);
  sim.addGroup('eks-ng-1', { templateId: eks.id, version: '$Latest' }, { tags: { 'eks:nodegroup-name': 'ng-1', 'eks:cluster-name': 'prod' } });
  const compliant = t('api', [{ metadataOptions: ok }]);
  sim.addGroup('asg-compliant', { templateId: compliant.id, version: '$Default' });
  const byAmi = t('ami-decides', [{ imageId: 'ami-0000000000000000b' }]);
  sim.addGroup('asg-ami', { templateId: byAmi.id, version: '$Default' });
  const byDefault = t('default-decides', [{}]);
  sim.addGroup('asg-account-default', { templateId: byDefault.id, version: '$Default' });
  for (const g of sim.groups.keys()) sim.scaleOut(g, PER_GROUP);
  // Karpenter nodes (no group) and bare instances (no template).
  const karp = t('karpenter-default-abc', [{ metadataOptions: hop1 }], { tags: { 'karpenter.k8s.aws/cluster': 'prod' } });
  for (let k = 0; k < 20; k++) sim.launch(karp, karp.versions[0], { 'karpenter.sh/nodepool': 'general', 'karpenter.k8s.aws/ec2nodeclass': 'default' });
  for (let k = 0; k < 10; k++) sim.launch(undefined, undefined, {}, undefined, false, k % 2 ? 'ami-0000000000000000b' : plain);
  const containerGroups = new Set(['asg-default-1', 'asg-default-2', 'asg-default-3', 'asg-latest-1', 'asg-latest-2', 'asg-pinned', 'asg-mixed', 'asg-iac', 'eks-ng-1']);
  return { sim, containerGroups, readyGroups: new Set(['asg-latest-2']) };
}

/** `apply: false` plans the fix but does not make it: the counterfactual the test compares against. */
export async function runSourcesBench(options: { apply?: boolean } = {}): Promise<SourcesFigures> {
  const { sim, containerGroups, readyGroups } = buildSourcesAccount();
  const clock = new DiscreteEventClock();
  const ec2 = new EC2Client({ region: 'us-east-1' });
  const autoScaling = new AutoScalingClient({ region: 'us-east-1' });
  sim.attach(ec2, autoScaling);
  const port = createLaunchSourcesPort({ ec2, autoScaling: async () => groupPages(autoScaling), clock, random: () => 0.5 });
  const isContainerHost = (id: string): boolean => {
    const i = sim.instances.get(id);
    return (i?.group !== undefined && containerGroups.has(i.group)) || Boolean(i?.tags.some((x) => x.Key === 'karpenter.sh/nodepool'));
  };
  const wants: SourceWants = {
    hopLimitTarget: TARGET,
    containerHost: isContainerHost,
    tokensAllowed: (id) => readyGroups.has(sim.instances.get(id)?.group ?? ''),
    optOutTagKey: 'timesync-guard:opt-out',
  };
  // The nightly instance fix (a change after launch) on part of the container hosts: what it leaves must still attribute right.
  let n = 0;
  for (const i of sim.instances.values()) if (isContainerHost(i.instanceId) && i.imds.hopLimit! < TARGET && n++ % 2 === 0) sim.modifyInstance(i.instanceId, { hopLimit: TARGET });
  const started = clock.now();
  const figures = await clock.run(async () => {
    const fleet = () => [...sim.instances.values()].map((i) => ({ instanceId: i.instanceId, imds: i.imds, origin: launchOriginOf(i.tags, i.imageId) }));
    const first = fleet();
    const inv = await readSources(port, first.map((i) => i.origin), sim.accountDefaults);
    let right = 0;
    for (const i of first) if (attributeInstance(i, inv).layer === sim.instances.get(i.instanceId)!.truth) right++;
    const plan = planSources(inv, wants, first, 'fix');
    const applied = await applySourcePlan(port, plan, { dryRun: options.apply === false, cap: 10_000, audit: () => undefined, hasTime: () => true });
    // The rest of the first night's instance fix (every container host below the target), then a
    // scale-out: every group whose template was fixed launches 5 more.
    for (const i of sim.instances.values()) if (isContainerHost(i.instanceId) && i.imds.hopLimit! < TARGET) sim.modifyInstance(i.instanceId, { hopLimit: TARGET });
    const fixedGroups = plan.decisions.flatMap((d) => (d.kind === 'fix' ? d.groups : []));
    const launched = fixedGroups.flatMap((g) => sim.scaleOut(g, 5, {}, true));
    const compliant = launched.filter((i) => (!isContainerHost(i.instanceId) || i.imds.hopLimit! >= TARGET) && (!wants.tokensAllowed(i.instanceId) || i.imds.httpTokens === 'required'));
    // The next night, planned by the real instance plan over the whole fleet (Kubernetes nodes in scope, as here).
    const settings = parseSettings({ ...SIM_DOCUMENT_PINS, TSG_HOP_LIMIT_SCOPE: 'containers-and-orchestrators', TSG_HOP_LIMIT_TARGET: String(TARGET) });
    const evaluations: InstanceEvaluation[] = [...sim.instances.values()].map((i) => ({
      instanceId: i.instanceId,
      platform: 'linux',
      status: 'ok',
      checkState: 'checked',
      findings: [],
      imds: i.imds,
      hasInstanceProfile: true,
      verdict: { platform: 'linux', daemon: 'chrony', timeSource: 'amazon-ipv4', synchronized: true, offsetSeconds: 0, clockErrorBoundSeconds: 0.001, containers: isContainerHost(i.instanceId), status: 'ok', findings: [] },
    }));
    const instanceChanges = planRemediation(evaluations, settings, evaluations.length).instances.length;
    const second = fleet();
    const inv2 = await readSources(port, second.map((i) => i.origin), sim.accountDefaults);
    const plan2 = planSources(inv2, wants, second, 'fix');
    const secondFixes = plan2.decisions.filter((d) => d.kind === 'fix').length;
    return {
      autoScalingGroups: sim.groups.size,
      instances: first.length,
      decidingLayerAccuracy: right / first.length,
      templatesFixed: applied.fixed.length,
      iacOwnedTemplatesChanged: sim.iacTemplatesChanged + sim.iacWritesRefused,
      scaleOutLaunchesCompliant: launched.length > 0 ? compliant.length / launched.length : 0,
      secondRunInstanceChanges: instanceChanges + secondFixes,
      sourcesLeftToOwners: plan.decisions.filter((d) => d.kind === 'report' && ['cloudformation-managed', 'eks-nodegroup', 'karpenter', 'pinned-version'].includes(d.reason)).length,
    };
  });
  return { ...figures, apiCalls: { ...sim.calls }, simulatedSeconds: (clock.now() - started) / 1000 };
}

if (require.main === module) {
  runSourcesBench().then(
    (f) => console.log(JSON.stringify({ sources: f }, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
