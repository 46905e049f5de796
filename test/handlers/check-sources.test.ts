import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Ec2SsmInventory } from '../../lambda/aws/inventory';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import { parseSettings } from '../../lambda/core/settings';
import { SOURCE_METRICS } from '../../lambda/core/sources/report';
import type { LaunchSourcesPort } from '../../lambda/engine/source-ports';
import { createCheckHandler } from '../../lambda/handlers/check';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';
import { capturingMetrics } from '../support/emf';
import { idOf, member, useSimAccount } from '../support/sim';

const sim = useSimAccount();

/** A port with no groups or templates: every instance is decided below the template layer (or unknown). */
const emptySources = (calls: string[]): LaunchSourcesPort => ({
  listGroups: async () => (calls.push('groups'), { ok: true, value: [] }),
  describeTemplates: async () => ({ ok: true, value: [] }),
  describeVersions: async () => ({ ok: true, value: [] }),
  describeImages: async () => ({ ok: true, value: [] }),
  createVersion: async () => (calls.push('create'), { outcome: 'failed', error: 'not here' }),
  setDefaultVersion: async () => (calls.push('default'), { outcome: 'failed', error: 'not here' }),
});

function run(env: Record<string, string>) {
  const settings = parseSettings({ ...SIM_DOCUMENT_PINS, ...env });
  const clock = sim.account.clock;
  const ssm = new SSMClient({});
  const { metrics, emf } = capturingMetrics<Record<string, unknown>>(settings.metricNamespace);
  const logs: { message: string; extra: Record<string, unknown> }[] = [];
  const at = (message: string, extra: Record<string, unknown> = {}) => void logs.push({ message, extra });
  const calls: string[] = [];
  const handler = createCheckHandler({
    settings,
    inventory: new Ec2SsmInventory({ ec2: new EC2Client({}), ssm, clock, optOutTagKey: settings.optOutTagKey }),
    runCommand: new SsmRunCommand({ ssm, clock }),
    clock,
    logger: { info: at, warn: at, error: at },
    metrics,
    launchSources: emptySources(calls),
  });
  return { handler, emf, logs, calls };
}

describe('check handler: launch sources', () => {
  it('puts imdsSource in every instance record and the common layer in the summary, publishes no zero source metric; writes nothing', async () => {
    sim.simulate([member(idOf(1)), member(idOf(2))]);
    const { handler, emf, logs, calls } = run({});
    await handler({}, { getRemainingTimeInMillis: () => 900_000 });
    const records = logs.filter((l) => l.message === 'instance');
    expect(records).toHaveLength(2);
    // Both decided by the same layer: the summary names it, and every record still names its own.
    const common = (logs.find((l) => l.message === 'check-summary')!.extra.launchSources as { commonLayer?: string }).commonLayer;
    expect(typeof common).toBe('string');
    for (const r of records) expect(r.extra.imdsSource).toBe(common);
    // Zero counts are not published (sources-hook.ts: billed by the hours published).
    expect(emf[0]).not.toHaveProperty(SOURCE_METRICS.templatesLaunchingNonCompliant);
    expect(emf[0]).not.toHaveProperty(SOURCE_METRICS.groupsLaunchingNonCompliant);
    expect(logs.find((l) => l.message === 'check-summary')!.extra.launchSources).toMatchObject({ templatesLaunchingNonCompliant: 0 });
    expect(calls).toEqual(['groups']);
  });

  it('reads nothing with launchTemplates: off', async () => {
    sim.simulate([member(idOf(1))]);
    const { handler, logs, calls } = run({ TSG_LAUNCH_TEMPLATES: 'off' });
    await handler({}, { getRemainingTimeInMillis: () => 900_000 });
    expect(calls).toEqual([]);
    expect(logs.find((l) => l.message === 'instance')!.extra.imdsSource).toBeUndefined();
  });
});
