/**
 * The check handler's hook: after a completed run, the findings of the whole fleet go to the
 * simulated Security Hub and SSM Compliance (aws-sdk-client-mock over the simulated account), the
 * counts to the EMF metrics, and an account without Security Hub fails nothing.
 */
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { securityHubState } from '../../bench/sim/securityhub';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';
import { Ec2SsmInventory } from '../../lambda/aws/inventory';
import { MemorySnapshotStore } from '../../lambda/aws/readiness-cache';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import { createSecurityHubPort } from '../../lambda/aws/securityhub';
import { createSsmCompliancePort } from '../../lambda/aws/ssm-compliance';
import { FINDINGS_EXPORT_METRICS } from '../../lambda/core/findings-export/metrics';
import { parseSettings } from '../../lambda/core/settings';
import { createCheckHandler } from '../../lambda/handlers/check';
import { chronyReport } from '../engine/reports';
import { capturingMetrics } from '../support/emf';
import { idOf, member, useSimAccount } from '../support/sim';

const sim = useSimAccount();
const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:TimeSyncGuard-Check';

function setup() {
  const settings = parseSettings({ ...SIM_DOCUMENT_PINS });
  const clock = sim.account.clock;
  const ssm = new SSMClient({});
  const { metrics, emf } = capturingMetrics(settings.metricNamespace);
  const calls: { message: string; extra: Record<string, unknown> }[] = [];
  const at = (message: string, extra: Record<string, unknown> = {}) => void calls.push({ message, extra });
  const logger = { info: at, warn: at, error: at };
  const store = new MemorySnapshotStore();
  const handler = createCheckHandler({
    settings,
    inventory: new Ec2SsmInventory({ ec2: new EC2Client({}), ssm, clock, optOutTagKey: settings.optOutTagKey }),
    runCommand: new SsmRunCommand({ ssm, clock }),
    clock,
    logger,
    metrics,
    findingsExport: { securityHub: createSecurityHubPort({ securityHub: new SecurityHubClient({}), clock }), compliance: createSsmCompliancePort({ ssm, clock }), store, clock, logger },
  });
  const metric = (name: string): unknown => emf.find((e) => name in e)?.[name];
  return { handler, calls, metric, store };
}

describe('check handler: findings export after a completed run', () => {
  it('imports the drifting instance\'s finding into the account\'s own product and puts every managed instance\'s items', async () => {
    sim.simulate([member(idOf(1)), member(idOf(2), { script: { output: chronyReport({ containers: 'docker' }) }, hopLimit: 1 }), member(idOf(3), { ssm: 'unmanaged' })], { accountId: '123456789012' });
    const t = setup();
    const result = await t.handler({}, { getRemainingTimeInMillis: () => 900_000, invokedFunctionArn: ARN });
    expect(result.completed).toBe(true);
    const sh = securityHubState(sim.account);
    expect([...sh.findings.values()].map((f) => f.finding['GeneratorId'])).toEqual(['timesync-guard/imds-hop-limit']);
    expect([...sh.compliance.keys()].sort()).toEqual([idOf(1), idOf(2)]);
    expect(t.metric(FINDINGS_EXPORT_METRICS.imported)).toBe(1);
    expect(t.metric(FINDINGS_EXPORT_METRICS.compliancePut)).toBe(2);
    expect(t.calls.find((c) => c.message === 'check-summary')!.extra['findingsExport']).toMatchObject({ findingsImported: 1, compliancePuts: 2 });
  });

  it('Security Hub off: the run completes, one warning, SecurityHubNotSubscribed = 1', async () => {
    sim.simulate([member(idOf(1), { script: { output: chronyReport({ containers: 'docker' }) }, hopLimit: 1 })], { accountId: '123456789012', securityHubEnabled: false });
    const t = setup();
    const result = await t.handler({}, { getRemainingTimeInMillis: () => 900_000, invokedFunctionArn: ARN });
    expect(result.completed).toBe(true);
    expect(t.calls.filter((c) => c.message === 'security-hub-not-subscribed')).toHaveLength(1);
    expect(t.metric(FINDINGS_EXPORT_METRICS.notSubscribed)).toBe(1);
  });

  it('without the function ARN (a test invoke) the account is unknown: nothing exported, said once', async () => {
    sim.simulate([member(idOf(1))]);
    const t = setup();
    await t.handler({}, { getRemainingTimeInMillis: () => 900_000 });
    expect(t.calls.filter((c) => c.message === 'findings-export-skipped')).toHaveLength(1);
    expect(t.store.writes).toBe(0);
  });
});
