/**
 * The check reads the account defaults once per run (engine) and the handler reports them: run
 * summary field, two fleet metrics (no per-instance dimension), no per-instance record. An unreadable
 * read never fails the run.
 */
import { EC2Client, GetInstanceMetadataDefaultsCommand, ModifyInstanceMetadataDefaultsCommand } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SimMetadataDefaults, setMetadataDefaults } from '../../bench/sim/ec2-metadata-defaults';
import type { SimInstance } from '../../bench/sim/fleet';
import { VirtualClock } from '../../lambda/aws/clock';
import { Ec2SsmInventory } from '../../lambda/aws/inventory';
import { createEc2MetadataDefaultsPort } from '../../lambda/aws/metadata-defaults';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import { ACCOUNT_DEFAULTS_METRICS } from '../../lambda/core/fleet/metadata-defaults';
import { parseSettings } from '../../lambda/core/settings';
import { runCheck } from '../../lambda/engine/check';
import { createCheckHandler } from '../../lambda/handlers/check';
import { capturingMetrics } from '../support/emf';
import { idOf, member, useSimAccount } from '../support/sim';
import { chronyReport } from '../engine/reports';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';

const sim = useSimAccount();
const simulateFleet = (fleet: SimInstance[]): void => void sim.simulate(fleet);
/** The account's metadata defaults (the shared simulated account serves the EC2 calls). */
const defaults = (d: SimMetadataDefaults): SimMetadataDefaults => setMetadataDefaults(sim.account, d);

const settings = parseSettings({ ...SIM_DOCUMENT_PINS });
const containerFleet = () => [member(idOf(1), { script: { output: chronyReport({ containers: 'docker' }) } }), member(idOf(2))];

function engineDeps(clock: VirtualClock = sim.account.clock) {
  const ssm = new SSMClient({});
  const ec2 = new EC2Client({});
  return {
    inventory: new Ec2SsmInventory({ ec2, ssm, clock, optOutTagKey: settings.optOutTagKey }),
    runCommand: new SsmRunCommand({ ssm, clock }),
    clock,
    metadataDefaults: createEc2MetadataDefaultsPort({ ec2, clock }),
  };
}

describe('the check reads the account defaults', () => {
  it('judges hop limit 1 for new launches on a fleet that runs containers, with one Get call and no write', async () => {
    simulateFleet(containerFleet());
    const md = defaults(new SimMetadataDefaults({ managedBy: 'account', hopLimit: 1, httpTokens: 'required' }));
    const run = await runCheck(engineDeps(), settings);
    expect(run.completed).toBe(true);
    expect(run.accountDefaults).toMatchObject({ status: 'at-risk', managedBy: 'account', newLaunchHopLimit: 1, containerHosts: 1 });
    expect(run.accountDefaults!.findings.map((f) => f.code)).toEqual(['account-default-hop-limit-too-low']);
    expect(sim.ec2.commandCalls(GetInstanceMetadataDefaultsCommand)).toHaveLength(1);
    expect(sim.ec2.commandCalls(ModifyInstanceMetadataDefaultsCommand)).toHaveLength(0);
    expect(md.calls).toEqual({ get: 1, modify: 0 });
    // Account level: never on an instance's record.
    for (const e of run.evaluations) expect(e.findings.map((f) => f.code)).not.toContain('account-default-hop-limit-too-low');
  });

  it('finds nothing about the hop limit when no checked instance runs containers', async () => {
    simulateFleet([member(idOf(1))]);
    defaults(new SimMetadataDefaults({ managedBy: 'account', httpTokens: 'required' }));
    const run = await runCheck(engineDeps(), settings);
    expect(run.accountDefaults).toMatchObject({ status: 'ok', findings: [] });
  });

  it('completes with defaults unknown when the read is denied', async () => {
    simulateFleet(containerFleet());
    defaults(new SimMetadataDefaults({ managedBy: 'account' }, { failReads: { count: 9, code: 'UnauthorizedOperation', status: 403 } }));
    const run = await runCheck(engineDeps(), settings);
    expect(run.completed).toBe(true);
    expect(run.accountDefaults).toMatchObject({ status: 'unknown', detail: expect.stringContaining('UnauthorizedOperation') });
  });

  it('leaves the run without accountDefaults when no port is given (CLI, launch check)', async () => {
    simulateFleet(containerFleet());
    const { metadataDefaults: _unused, ...deps } = engineDeps();
    const run = await runCheck(deps, settings);
    expect(run.accountDefaults).toBeUndefined();
    expect(sim.ec2.commandCalls(GetInstanceMetadataDefaultsCommand)).toHaveLength(0);
  });
});

describe('the check handler reports them', () => {
  function handler() {
    const clock = sim.account.clock;
    const { metrics, emf } = capturingMetrics(settings.metricNamespace);
    const logs: { message: string; extra: Record<string, unknown> }[] = [];
    const log = (message: string, extra: Record<string, unknown> = {}) => logs.push({ message, extra });
    const d = engineDeps(clock);
    const h = createCheckHandler({ settings, ...d, logger: { info: log, warn: log, error: log }, metrics });
    return { h, emf, logs };
  }

  it('puts the defaults in the run summary and two fleet metrics with the service dimension only', async () => {
    simulateFleet(containerFleet());
    defaults(SimMetadataDefaults.policyManaged({ hopLimit: 1 }, 'Set by the org'));
    const { h, emf, logs } = handler();
    await h();
    const summary = logs.find((l) => l.message === 'check-summary')!.extra;
    expect(summary.accountDefaults).toMatchObject({
      status: 'at-risk',
      managedBy: 'declarative-policy',
      managedExceptionMessage: 'Set by the org',
      newLaunchHopLimit: 1,
      httpTokens: 'no-preference',
      findings: ['account-default-hop-limit-too-low', 'account-default-tokens-optional'],
    });
    const record = emf.find((e) => ACCOUNT_DEFAULTS_METRICS.accountDefaultFindings in e)!;
    expect(record[ACCOUNT_DEFAULTS_METRICS.accountDefaultFindings]).toBe(2);
    expect(record[ACCOUNT_DEFAULTS_METRICS.accountDefaultsUnknown]).toBe(0);
    const dims = (record._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]!.Dimensions;
    expect(dims).toEqual([['service']]);
    for (const l of logs.filter((x) => x.message === 'instance')) expect(String(l.extra.findings ?? '')).not.toContain('account-default');
  });

  it('emits AccountDefaultsUnknown=1 and no finding count when they could not be read', async () => {
    simulateFleet(containerFleet());
    defaults(new SimMetadataDefaults({ managedBy: 'account' }, { failReads: { count: 9, code: 'UnauthorizedOperation', status: 403 } }));
    const { h, emf } = handler();
    await expect(h()).resolves.toMatchObject({ completed: true });
    const record = emf.find((e) => ACCOUNT_DEFAULTS_METRICS.accountDefaultsUnknown in e)!;
    expect(record[ACCOUNT_DEFAULTS_METRICS.accountDefaultsUnknown]).toBe(1);
    expect(emf.some((e) => ACCOUNT_DEFAULTS_METRICS.accountDefaultFindings in e)).toBe(false);
  });
});
