/**
 * The shared simulated account (bench/sim, EC2 metadata defaults registered as EC2_SERVICE rows):
 * the real check engine and adapters read the defaults from it, and the set phase writes them,
 * with the account's own counters, buckets and virtual latency.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SimAccount } from '../../bench/sim/account';
import { metadataDefaultsOf, setMetadataDefaults, SimMetadataDefaults } from '../../bench/sim/ec2-metadata-defaults';
import { simInstance } from '../../bench/sim/fleet';
import { VirtualClock } from '../../lambda/aws/clock';
import { Ec2SsmInventory } from '../../lambda/aws/inventory';
import { createEc2MetadataDefaultsPort } from '../../lambda/aws/metadata-defaults';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import { parseSettings } from '../../lambda/core/settings';
import { runCheck } from '../../lambda/engine/check';
import { type AccountDefaultsAuditDetail, accountDefaultsStep } from '../../lambda/engine/remediation/account-defaults';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';

let account: SimAccount | undefined;
afterEach(() => account?.restore());

const settings = parseSettings({ ...SIM_DOCUMENT_PINS, TSG_ACCOUNT_DEFAULTS: 'set' });

async function nightly(defaults?: SimMetadataDefaults) {
  const clock = new VirtualClock();
  account = new SimAccount([simInstance('i-0000000000000a001', { containers: true, hopLimit: 2 }), simInstance('i-0000000000000a002')], clock).install();
  if (defaults) setMetadataDefaults(account, defaults);
  const ec2 = new EC2Client({});
  const ssm = new SSMClient({});
  const port = createEc2MetadataDefaultsPort({ ec2, clock });
  const run = await runCheck(
    { inventory: new Ec2SsmInventory({ ec2, ssm, clock, optOutTagKey: settings.optOutTagKey }), runCommand: new SsmRunCommand({ ssm, clock }), clock, metadataDefaults: port },
    settings,
  );
  const audit: AccountDefaultsAuditDetail[] = [];
  const record = await accountDefaultsStep({ defaults: port, audit: async (d) => void audit.push(d), clock }, run.accountDefaults, {
    runId: 'night-1',
    mode: settings.accountDefaults,
    dryRun: settings.dryRun,
    hopLimitTarget: settings.hopLimitTarget,
  });
  return { run, record, audit, calls: account.stats.calls };
}

describe('account defaults in the shared simulated account', () => {
  it('an account with no defaults: the check finds hop limit 1 for new launches, set mode raises it to 2, verified', async () => {
    const { run, record, calls } = await nightly();
    expect(run.completed).toBe(true);
    expect(run.accountDefaults).toMatchObject({ status: 'at-risk', containerHosts: 1, newLaunchHopLimit: 1 });
    expect(record?.set).toMatchObject({ result: 'verified', change: { hopLimit: 2 } });
    expect(calls).toMatchObject({ GetInstanceMetadataDefaults: 3, ModifyInstanceMetadataDefaults: 1 });
    expect(metadataDefaultsOf(account!).state.hopLimit).toBe(2);
    expect(metadataDefaultsOf(account!).lowered).toBe(0);
  });

  it('a declarative-policy-managed account is never written: zero Modify calls, its exception message reported', async () => {
    const { run, record, audit, calls } = await nightly(SimMetadataDefaults.policyManaged({ hopLimit: 1, httpTokens: 'optional' }, 'Org policy: hop limit 1 on purpose'));
    expect(run.accountDefaults).toMatchObject({ managedBy: 'declarative-policy', managedExceptionMessage: 'Org policy: hop limit 1 on purpose' });
    expect(record).toMatchObject({ set: { result: 'managed-by-policy', managedExceptionMessage: 'Org policy: hop limit 1 on purpose' } });
    expect(calls.ModifyInstanceMetadataDefaults ?? 0).toBe(0);
    expect(audit).toEqual([expect.objectContaining({ outcome: 'skipped', reason: 'managed-by-declarative-policy' })]);
  });
});
