/**
 * The account-defaults step inside a real remediation run (lambda/engine/remediation) on the shared
 * simulated account: set mode writes once and the final summary (SNS message, summary event) carries
 * the record through a continuation; a declarative-policy-managed account is never written.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SSMClient } from '@aws-sdk/client-ssm';
import { NO_LATENCY, SimAccount } from '../../bench/sim/account';
import { setMetadataDefaults, SimMetadataDefaults } from '../../bench/sim/ec2-metadata-defaults';
import { simInstance } from '../../bench/sim/fleet';
import { createEventBridgeAudit } from '../../lambda/aws/audit';
import { VirtualClock } from '../../lambda/aws/clock';
import { createEc2ImdsPort } from '../../lambda/aws/imds';
import { createEc2MetadataDefaultsPort } from '../../lambda/aws/metadata-defaults';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import { Ec2SsmInventory } from '../../lambda/aws/inventory';
import { parseRemediationOutput } from '../../lambda/core/remediation/guest-result';
import { parseSettings } from '../../lambda/core/settings';
import { type RemediationDeps, runRemediation } from '../../lambda/engine/remediate';
import { decodeContinuation, encodeContinuation } from '../../lambda/engine/remediation/continuation';
import { freshCheck } from '../../lambda/engine/remediation/fresh-check';
import { newRunState } from '../../lambda/engine/remediation/state';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';

let account: SimAccount | undefined;
afterEach(() => account?.restore());

async function night(env: Record<string, string>, defaults?: SimMetadataDefaults) {
  const clock = new VirtualClock();
  account = new SimAccount([simInstance('i-0000000000000b001', { containers: true, hopLimit: 1 })], clock, { latencies: NO_LATENCY }).install();
  if (defaults) setMetadataDefaults(account, defaults);
  const settings = parseSettings({ ...SIM_DOCUMENT_PINS, TSG_FIX_TIME_SYNC: 'false', ...env });
  const ec2 = new EC2Client({});
  const ssm = new SSMClient({});
  const metadataDefaults = createEc2MetadataDefaultsPort({ ec2, clock });
  const runCommand = new SsmRunCommand({ ssm, clock });
  const deadline = clock.now() + 600_000;
  const deps: RemediationDeps = {
    clock,
    check: freshCheck({ inventory: new Ec2SsmInventory({ ec2, ssm, clock, optOutTagKey: settings.optOutTagKey }), runCommand, clock, metadataDefaults }, settings, deadline),
    imds: (b) => createEc2ImdsPort({ ec2, clock, ...(b ? { bucketState: b } : {}) }),
    runCommand,
    parseOutput: parseRemediationOutput,
    audit: createEventBridgeAudit({ events: new EventBridgeClient({}), source: 'timesync-guard', sleep: (ms) => clock.sleep(ms) }),
    continuationKey: async () => Buffer.from('account-defaults-test-key-0123456789abcdef'),
    metadataDefaults,
  };
  const out = await runRemediation(deps, settings, {}, { deadline });
  return { out, calls: account.stats.calls, events: account.eventsByType };
}

describe('account defaults in the nightly run', () => {
  it('set mode: raises the hop-limit default once, audits it, and the run summary carries it', async () => {
    const { out, calls, events } = await night({ TSG_ACCOUNT_DEFAULTS: 'set' });
    expect(out.done).toBe(true);
    expect(out.summary.accountDefaults).toMatchObject({ report: { status: 'at-risk', containerHosts: 1 }, set: { result: 'verified', change: { hopLimit: 2 } } });
    expect(calls.ModifyInstanceMetadataDefaults).toBe(1);
    expect(events['TimeSync Guard Account Defaults Action']).toBe(3); // planned, applied, verified
  });

  it('report mode (the default): reported in the summary, never written', async () => {
    const { out, calls } = await night({});
    expect(out.summary.accountDefaults).toMatchObject({ set: { result: 'report-only' } });
    expect(calls.ModifyInstanceMetadataDefaults ?? 0).toBe(0);
  });

  it('a declarative-policy-managed account: zero Modify calls, the exception message in the summary', async () => {
    const { out, calls } = await night({ TSG_ACCOUNT_DEFAULTS: 'set' }, SimMetadataDefaults.policyManaged({ hopLimit: 1 }, 'Set by org policy P-3'));
    expect(out.summary.accountDefaults).toMatchObject({ set: { result: 'managed-by-policy', managedExceptionMessage: 'Set by org policy P-3' } });
    expect(calls.ModifyInstanceMetadataDefaults ?? 0).toBe(0);
  });

  it('dry run: planned only', async () => {
    const { out, calls } = await night({ TSG_ACCOUNT_DEFAULTS: 'set', TSG_DRY_RUN: 'true' });
    expect(out.summary.accountDefaults).toMatchObject({ set: { result: 'dry-run', change: { hopLimit: 2 } } });
    expect(calls.ModifyInstanceMetadataDefaults ?? 0).toBe(0);
  });

  it('carries the record through a signed continuation, and a run without it encodes as before', () => {
    const key = Buffer.from('account-defaults-test-key-0123456789abcdef');
    const state = newRunState({ runId: 'r', startedAt: 1_000, dryRun: false, fleetSize: 1, cap: 1, plannedInstances: 0 });
    const without = encodeContinuation(state, key, 2_000, []);
    const record = { report: { status: 'ok', findings: [] }, set: { result: 'verified' as const, change: { hopLimit: 2 } } };
    const withIt = encodeContinuation({ ...state, accountDefaults: record }, key, 2_000, []);
    expect(decodeContinuation(withIt, key, 3_000, []).accountDefaults).toEqual(record);
    expect(decodeContinuation(without, key, 3_000, []).accountDefaults).toBeUndefined();
  });
});
