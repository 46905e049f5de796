/**
 * Hop limit on orchestrator nodes is opt-in: a real collector report (built by the report builder the
 * engine tests use) goes through diagnose → evaluateInstance → planRemediation, as in the check and
 * the nightly run.
 */
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { evaluateInstance, orchestratorsOf } from '../../lambda/core/fleet/evaluate-instance';
import { planRemediation } from '../../lambda/core/remediation/plan';
import { type HopLimitScope, parseSettings } from '../../lambda/core/settings';
import type { InstanceRecord } from '../../lambda/core/types';
import { chronyReport } from '../engine/reports';

function record(hopLimit: number): InstanceRecord {
  return {
    instanceId: 'i-0node',
    platform: 'linux',
    hasInstanceProfile: true,
    optedOut: false,
    imds: { httpEndpoint: 'enabled', httpTokens: 'required', hopLimit, state: 'applied' },
    ssm: { pingStatus: 'Online' },
  };
}

function run(containers: string, hopLimit: number, scope: HopLimitScope) {
  const settings = { ...parseSettings({}), hopLimitScope: scope, fixTimeSync: false };
  const evaluation = evaluateInstance(record(hopLimit), { kind: 'report', verdict: diagnose(chronyReport({ containers })) }, settings);
  const plan = planRemediation([evaluation], settings, 1);
  return { evaluation, plan, codes: evaluation.findings.map((f) => f.code), raised: plan.instances.some((p) => p.hopLimit !== undefined) };
}

describe('hop limit on orchestrator nodes', () => {
  it.each`
    containers                | scope                             | code                                       | status      | raised
    ${'docker'}               | ${'containers'}                   | ${'imds-hop-limit-too-low-for-containers'} | ${'at-risk'} | ${true}
    ${'containerd'}           | ${'containers'}                   | ${'imds-hop-limit-too-low-for-containers'} | ${'at-risk'} | ${true}
    ${'podman'}               | ${'containers'}                   | ${'imds-hop-limit-too-low-for-containers'} | ${'at-risk'} | ${true}
    ${'containerd,kubelet'}   | ${'containers'}                   | ${'imds-hop-limit-orchestrator-node'}      | ${'ok'}      | ${false}
    ${'docker,ecs'}           | ${'containers'}                   | ${'imds-hop-limit-orchestrator-node'}      | ${'ok'}      | ${false}
    ${'kubelet'}              | ${'containers'}                   | ${'imds-hop-limit-orchestrator-node'}      | ${'ok'}      | ${false}
    ${'containerd,kubelet'}   | ${'containers-and-orchestrators'} | ${'imds-hop-limit-too-low-for-containers'} | ${'at-risk'} | ${true}
    ${'docker,ecs'}           | ${'containers-and-orchestrators'} | ${'imds-hop-limit-too-low-for-containers'} | ${'at-risk'} | ${true}
    ${'docker'}               | ${'containers-and-orchestrators'} | ${'imds-hop-limit-too-low-for-containers'} | ${'at-risk'} | ${true}
    ${'containerd,kubelet'}   | ${'all'}                          | ${'imds-hop-limit-too-low-for-containers'} | ${'at-risk'} | ${true}
  `('hop 1, containers $containers, scope $scope → $code, $status, raised: $raised', ({ containers, scope, code, status, raised }) => {
    const r = run(containers, 1, scope);
    expect(r.codes).toEqual([code]);
    expect(r.evaluation.status).toBe(status);
    expect(r.raised).toBe(raised);
  });

  it('explains the trade-off and names the guidance in the finding', () => {
    const [f] = run('containerd,kubelet', 1, 'containers').evaluation.findings;
    expect(f.message).toMatch(/kubelet node/);
    expect(f.message).toMatch(/IRSA \/ Pod Identity/);
  });

  it.each(['containers', 'containers-and-orchestrators', 'all'] as const)('reports nothing for a node already at the target (scope %s)', (scope) => {
    const r = run('containerd,kubelet', 2, scope);
    expect(r.codes).toEqual([]);
    expect(r.raised).toBe(false);
  });

  it.each`
    runtimes                        | orchestrators
    ${['docker', 'kubelet']}        | ${['kubelet']}
    ${['ecs']}                      | ${['ecs']}
    ${['docker', 'podman']}         | ${[]}
    ${'kubelet'}                    | ${[]}
    ${[1, 'ecs']}                   | ${['ecs']}
    ${undefined}                    | ${[]}
  `('orchestratorsOf($runtimes) = $orchestrators (anything but a list of names counts as none)', ({ runtimes, orchestrators }) => {
    const verdict = { ...diagnose(chronyReport()), containerRuntimes: runtimes };
    expect(orchestratorsOf(verdict)).toEqual(orchestrators);
  });
});
