/**
 * The account-defaults phase end to end against the simulated account's EC2 metadata defaults
 * (bench/sim/ec2-metadata-defaults.ts) through the real adapter and a real EC2Client (its `send`
 * mocked by aws-sdk-client-mock): report mode, set mode, a declarative-policy-managed account, an
 * unreadable read, dry run, throttling.
 */
import { EC2Client, GetInstanceMetadataDefaultsCommand, ModifyInstanceMetadataDefaultsCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { SimMetadataDefaults } from '../../bench/sim/ec2-metadata-defaults';
import { VirtualClock } from '../../lambda/aws/clock';
import { createEc2MetadataDefaultsPort } from '../../lambda/aws/metadata-defaults';
import { evaluateMetadataDefaults } from '../../lambda/core/fleet/metadata-defaults';
import {
  type AccountDefaultsAuditDetail,
  type AccountDefaultsInput,
  accountDefaultsRecordFrom,
  accountDefaultsStep,
  runAccountDefaultsPhase,
} from '../../lambda/engine/remediation/account-defaults';

const ec2Mock = mockClient(EC2Client);
beforeEach(() => ec2Mock.reset());

function world(sim: SimMetadataDefaults) {
  const clock = new VirtualClock();
  sim.attach(ec2Mock as never, (ms) => clock.sleep(ms));
  const audit: AccountDefaultsAuditDetail[] = [];
  const ports = { defaults: createEc2MetadataDefaultsPort({ ec2: new EC2Client({}), clock }), audit: async (d: AccountDefaultsAuditDetail) => void audit.push(d), clock };
  return { clock, audit, ports };
}

const input = (over: Partial<AccountDefaultsInput> = {}): AccountDefaultsInput => ({ runId: 'run-1', mode: 'set', dryRun: false, hopLimitTarget: 2, containerHosts: 3, ...over });

describe('account defaults against the simulated account', () => {
  it('report mode never writes, not even a read-modify round trip', async () => {
    const sim = new SimMetadataDefaults({ managedBy: 'account', hopLimit: 1 });
    const w = world(sim);
    const out = await runAccountDefaultsPhase(w.ports, input({ mode: 'report' }));
    expect(out).toEqual({ mode: 'report', result: 'report-only' });
    expect(sim.calls.modify).toBe(0);
    expect(ec2Mock.commandCalls(ModifyInstanceMetadataDefaultsCommand)).toHaveLength(0);
    expect(w.audit).toEqual([]);
  });

  it('set mode raises hop limit 1 to the target, sends nothing else, and verifies it by reading back', async () => {
    const sim = new SimMetadataDefaults({ managedBy: 'account', hopLimit: 1, httpTokens: 'optional' });
    const w = world(sim);
    const out = await runAccountDefaultsPhase(w.ports, input({ hopLimitTarget: 3 }));
    expect(out).toMatchObject({ result: 'verified', change: { hopLimit: 3 }, before: { hopLimit: 1 }, after: { hopLimit: 3, httpTokens: 'optional' } });
    expect(ec2Mock.commandCalls(ModifyInstanceMetadataDefaultsCommand).map((c) => c.args[0].input)).toEqual([{ HttpPutResponseHopLimit: 3 }]);
    expect(sim.state).toMatchObject({ hopLimit: 3, httpTokens: 'optional' });
    expect(sim.lowered).toBe(0);
    expect(w.audit.map((a) => a.outcome)).toEqual(['planned', 'applied', 'verified']);
    expect(w.audit.every((a) => a.action === 'set-account-metadata-defaults' && a.runId === 'run-1' && a.dryRun === false)).toBe(true);
  });

  it('waits for a change that shows only on a later read, then verifies it', async () => {
    const sim = new SimMetadataDefaults({ managedBy: 'account' }, { applyAfterReads: 1 });
    const w = world(sim);
    const out = await runAccountDefaultsPhase(w.ports, input(), { verifyPollMs: 1000 });
    expect(out.result).toBe('verified');
    expect(sim.calls.get).toBe(3); // fresh read, one stale read-back, one that shows it
  });

  it('reports not-applied when the read-back never shows the change', async () => {
    const sim = new SimMetadataDefaults({ managedBy: 'account' }, { applyAfterReads: 10 });
    const w = world(sim);
    const out = await runAccountDefaultsPhase(w.ports, input(), { verifyAttempts: 2 });
    expect(out.result).toBe('not-applied');
    expect(w.audit.at(-1)).toMatchObject({ outcome: 'failed', reason: 'not-applied' });
  });

  it('never lowers a higher hop-limit default', async () => {
    const sim = new SimMetadataDefaults({ managedBy: 'account', hopLimit: 5, httpTokens: 'required' });
    const w = world(sim);
    const out = await runAccountDefaultsPhase(w.ports, input({ hopLimitTarget: 2 }));
    expect(out).toMatchObject({ result: 'not-needed', reason: 'already-compliant' });
    expect(sim.calls.modify).toBe(0);
  });

  it('never writes a declarative-policy-managed account (zero Modify calls) and reports its exception message', async () => {
    const sim = SimMetadataDefaults.policyManaged({ hopLimit: 1, httpTokens: 'optional' }, 'IMDS defaults are set by the org (ticket CLOUD-42)');
    const w = world(sim);
    const out = await runAccountDefaultsPhase(w.ports, input({ gate: { enforcementOn: true, fleetReadyForTokensRequired: true } }));
    expect(out).toMatchObject({ result: 'managed-by-policy', managedExceptionMessage: 'IMDS defaults are set by the org (ticket CLOUD-42)' });
    expect(sim.calls.modify).toBe(0);
    expect(ec2Mock.commandCalls(ModifyInstanceMetadataDefaultsCommand)).toHaveLength(0);
    expect(w.audit).toEqual([expect.objectContaining({ outcome: 'skipped', reason: 'managed-by-declarative-policy', managedExceptionMessage: 'IMDS defaults are set by the org (ticket CLOUD-42)' })]);
  });

  it('the simulated policy-managed account refuses a write that bypasses the decision', async () => {
    const sim = SimMetadataDefaults.policyManaged({ hopLimit: 1 }, 'org says no');
    const w = world(sim);
    const res = await w.ports.defaults.modify({ hopLimit: 2 });
    expect(res).toMatchObject({ outcome: 'failed', error: expect.stringContaining('org says no') });
    expect(sim.state.hopLimit).toBe(1);
  });

  it('an unreadable defaults call is unknown and never acted on', async () => {
    const sim = new SimMetadataDefaults({ managedBy: 'account', hopLimit: 1 }, { failReads: { count: 99, code: 'UnauthorizedOperation', status: 403 } });
    const w = world(sim);
    const out = await runAccountDefaultsPhase(w.ports, input({ gate: { enforcementOn: true, fleetReadyForTokensRequired: true } }));
    expect(out).toMatchObject({ result: 'unknown', error: expect.stringContaining('UnauthorizedOperation') });
    expect(sim.calls.modify).toBe(0);
    expect(w.audit).toEqual([expect.objectContaining({ outcome: 'skipped', reason: 'defaults-unknown' })]);
  });

  it('retries a throttled read with the retry helper on the injected clock', async () => {
    const sim = new SimMetadataDefaults({ managedBy: 'account', hopLimit: 1 }, { failReads: { count: 2, code: 'RequestLimitExceeded', status: 503 } });
    const w = world(sim);
    const reading = await w.ports.defaults.read();
    expect(reading).toMatchObject({ status: 'read', defaults: { hopLimit: 1 } });
    expect(sim.calls.get).toBe(3);
    expect(w.clock.sleeps).toBeGreaterThanOrEqual(2);
  });

  it('dry run plans and audits but sends no Modify', async () => {
    const sim = new SimMetadataDefaults({ managedBy: 'account', hopLimit: 1 });
    const w = world(sim);
    const out = await runAccountDefaultsPhase(w.ports, input({ dryRun: true }));
    expect(out).toMatchObject({ result: 'dry-run', change: { hopLimit: 2 } });
    expect(sim.calls.modify).toBe(0);
    expect(w.audit).toEqual([expect.objectContaining({ outcome: 'planned', dryRun: true })]);
  });

  it('sets HttpTokens=required only through the gate, in the same call as the hop limit', async () => {
    const sim = new SimMetadataDefaults({ managedBy: 'account', hopLimit: 1, httpTokens: 'optional' });
    const w = world(sim);
    const out = await runAccountDefaultsPhase(w.ports, input({ gate: { enforcementOn: true, fleetReadyForTokensRequired: true } }));
    expect(out.result).toBe('verified');
    expect(ec2Mock.commandCalls(ModifyInstanceMetadataDefaultsCommand).map((c) => c.args[0].input)).toEqual([{ HttpPutResponseHopLimit: 2, HttpTokens: 'required' }]);
    expect(sim.state).toMatchObject({ hopLimit: 2, httpTokens: 'required' });
  });

  it('reads once per phase run and only GetInstanceMetadataDefaults when nothing is needed', async () => {
    const sim = new SimMetadataDefaults({ managedBy: 'account', hopLimit: 2, httpTokens: 'required' });
    const w = world(sim);
    await runAccountDefaultsPhase(w.ports, input());
    expect(ec2Mock.commandCalls(GetInstanceMetadataDefaultsCommand)).toHaveLength(1);
    expect(ec2Mock.calls()).toHaveLength(1);
  });

  it('gives a remediation run one small record: the check report and the set step, both through a continuation', async () => {
    const sim = SimMetadataDefaults.policyManaged({ hopLimit: 1 }, 'org P-9');
    const w = world(sim);
    const report = evaluateMetadataDefaults(await w.ports.defaults.read(), 2, 2);
    const rec = await accountDefaultsStep(w.ports, report, { runId: 'r', mode: 'set', dryRun: false, hopLimitTarget: 2 });
    expect(rec).toEqual({
      report: expect.objectContaining({ status: 'at-risk', managedBy: 'declarative-policy', managedExceptionMessage: 'org P-9', containerHosts: 2 }),
      set: { result: 'managed-by-policy', reason: 'managed-by-declarative-policy', managedExceptionMessage: 'org P-9' },
    });
    expect(accountDefaultsRecordFrom(JSON.parse(JSON.stringify(rec)))).toEqual(rec);
    expect(accountDefaultsRecordFrom({ report: {}, set: {} })).toBeUndefined();
    expect(await accountDefaultsStep(w.ports, undefined, { runId: 'r', mode: 'set', dryRun: false, hopLimitTarget: 2 })).toBeUndefined();
    expect(sim.calls.modify).toBe(0);
  });
});
