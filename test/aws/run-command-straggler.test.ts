/**
 * The straggler cutoff on the simulated account (bench/sim: real Run Command timing on a
 * discrete-event clock, 5 s guests, the collector document's 30 s step timeout): a hung collector
 * is left running as `pending` (never cancelled, never judged by this run: the next run reads it);
 * a slow but healthy one within the cutoff is judged; the cutoff follows the run's own run times.
 */
import { CancelCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { NO_LATENCY, SimAccount, type SimAccountOptions } from '../../bench/sim/account';
import type { SimInstance } from '../../bench/sim/fleet';
import { DiscreteEventClock } from '../../bench/sim/virtual-clock';
import { healthyLinuxFleet, request } from '../support/sim';
import { SsmRunCommand, type RunDocumentResult } from '../../lambda/aws/run-command';
import { evaluateInstance } from '../../lambda/core/fleet/evaluate-instance';
import { planRemediation } from '../../lambda/core/remediation/plan';
import { parseSettings } from '../../lambda/core/settings';
import { outcomeOf } from '../../lambda/engine/check';
import type { InvocationResult } from '../../lambda/engine/ports';
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { nodeReportCodec } from '../../lambda/engine/report-codec';
import type { InstanceRecord } from '../../lambda/core/types';

let account: SimAccount | undefined;
afterEach(() => {
  account?.restore();
  account = undefined;
});

/** One SSM call of the run: its command, input and virtual time. */
interface SsmCall {
  readonly name: string;
  readonly input: Record<string, unknown>;
  readonly at: number;
}

/** Collects `fleet` on a fresh simulated account (`options`), with every SSM call the run made. */
async function collect(
  fleet: SimInstance[],
  cutoff = true,
  onResults?: (r: readonly InvocationResult[]) => void,
  options: SimAccountOptions = {},
): Promise<{ out: RunDocumentResult; seconds: number; cancels: { CommandId?: string; InstanceIds?: string[] }[]; calls: SsmCall[] }> {
  const clock = new DiscreteEventClock();
  account = new SimAccount(fleet, clock, options).install();
  const ssm = new SSMClient({ region: 'us-east-1' });
  const calls: SsmCall[] = [];
  const send = ssm.send.bind(ssm) as (c: unknown) => Promise<unknown>;
  jest.spyOn(ssm, 'send').mockImplementation(((command: { constructor: { name: string }; input: Record<string, unknown> }) => {
    calls.push({ name: command.constructor.name, input: command.input, at: clock.now() });
    return send(command);
  }) as never);
  const rc = new SsmRunCommand({ ssm, clock });
  const t0 = clock.now();
  const out = await clock.run(() =>
    rc.runDocument(
      request(fleet.map((x) => x.id), { maxConcurrency: '100%', startMarker: 'TSG-REPORT', ...(cutoff ? { stragglerCutoff: {} } : {}), ...(onResults ? { onResults } : {}) }),
    ),
  );
  const cancels = calls.filter((c) => c.name === CancelCommandCommand.name).map((c) => c.input as { CommandId?: string; InstanceIds?: string[] });
  return { out, seconds: (clock.now() - t0) / 1000, cancels, calls };
}

describe('straggler cutoff', () => {
  it('judges a slow but healthy guest within the cutoff normally (9 s against a 10 s cutoff, still running when the rest is done)', async () => {
    // The 46th target starts in the ramp's last wave (≈ 5 s after the send) and ends ≈ 4 s after everyone else.
    const fleet = healthyLinuxFleet(100, (x, k) => (k === 45 ? { ...x, guestMs: 9_000 } : x));
    const { out, cancels } = await collect(fleet);
    const slow = out.results.get(fleet[45]!.id)!;
    expect(slow.state).toBe('success');
    expect(diagnose(slow.output ?? '', { maxOffsetSeconds: 1, maxClockErrorBoundSeconds: 1 }, nodeReportCodec).status).toBe('ok');
    expect([...out.results.values()].every((r) => r.state === 'success')).toBe(true);
    expect(cancels).toEqual([]);
  });

  it('leaves a hung collector running as pending (no CancelCommand) and stops waiting long before the 30 s step timeout', async () => {
    const fleet = healthyLinuxFleet(100, (x, k) => (k === 42 ? { ...x, guest: 'times-out' } : x));
    const { out, seconds, cancels } = await collect(fleet);
    const hung = out.results.get(fleet[42]!.id)!;
    expect(hung.state).toBe('pending');
    expect(hung.detail).toMatch(/past the straggler cutoff \(10 s\).*left running, its result is read by the next run$/);
    expect(cancels).toEqual([]);
    expect(out.stats.cancelCommand ?? 0).toBe(0);
    // The hung guest starts within the ramp (≤ 6 s) and is left 10 s later; SSM would end it at start + 30 s.
    expect(seconds).toBeLessThan(20);
    expect([...out.results.values()].filter((r) => r.state === 'success')).toHaveLength(99);
  });

  it('a slow healthy guest past the cutoff is pending, and its command keeps running in SSM to Success', async () => {
    const fleet = healthyLinuxFleet(100, (x, k) => (k === 45 ? { ...x, guestMs: 14_000 } : x));
    const { out } = await collect(fleet);
    const slow = out.results.get(fleet[45]!.id)!;
    expect(slow.state).toBe('pending');
    const inv = account!.commands.get(slow.commandId!)!.invocations.get(fleet[45]!.id)!;
    expect(inv.terminal).toBe('Success');
    expect(inv.endAt).toBeGreaterThan(account!.clock.now());
  });

  it('does not hand a pending result out (it is not final), and hands every other result out once', async () => {
    const fleet = healthyLinuxFleet(100, (x, k) => (k === 42 ? { ...x, guest: 'times-out' } : x));
    const handed: InvocationResult[] = [];
    const { out } = await collect(fleet, true, (r) => void handed.push(...r));
    expect(handed).toHaveLength(99);
    for (const r of handed) expect(out.results.get(r.instanceId)).toBe(r);
    expect(handed.find((r) => r.instanceId === fleet[42]!.id)).toBeUndefined();
    expect(out.results.get(fleet[42]!.id)!.state).toBe('pending');
  });

  it('never judges a pending collector: check-pending, status unknown, never ok, and the plan does not touch its guest', async () => {
    const fleet = healthyLinuxFleet(100, (x, k) => (k === 42 ? { ...x, guest: 'times-out', scenario: 'ntpd' } : x));
    const { out } = await collect(fleet);
    const thresholds = { maxOffsetSeconds: 1, maxClockErrorBoundSeconds: 1 };
    const outcome = outcomeOf(out.results.get(fleet[42]!.id), diagnose, thresholds);
    expect(outcome).toEqual(expect.objectContaining({ kind: 'not-checked', checkState: 'pending', code: 'check-pending' }));
    const settings = parseSettings({});
    // Its report would have said ntpd (at risk, fixable) and the hop limit is 1: neither is acted on blind.
    const record: InstanceRecord = {
      instanceId: fleet[42]!.id,
      platform: 'linux',
      hasInstanceProfile: true,
      optedOut: false,
      imds: { httpTokens: 'required', hopLimit: 1, httpEndpoint: 'enabled', state: 'applied' },
      ssm: { pingStatus: 'Online' },
    };
    const e = evaluateInstance(record, outcome, settings);
    expect(e.status).toBe('unknown');
    expect(e.findings.map((f) => f.code)).toContain('check-pending');
    const plan = planRemediation([e], settings, 100);
    expect(plan.instances).toEqual([]);
    expect(plan.skipped).toEqual(expect.arrayContaining([expect.objectContaining({ instanceId: fleet[42]!.id })]));
  });

  it('adapts to the run: a fleet of uniformly slow guests (25 s each) is not cut', async () => {
    const fleet = healthyLinuxFleet(100, (x) => ({ ...x, guestMs: 25_000 }));
    const { out, cancels } = await collect(fleet);
    expect([...out.results.values()].every((r) => r.state === 'success')).toBe(true);
    expect(cancels).toEqual([]);
  });

  it('adapts to the run: in a slow run (14 s) a 25 s guest is within twice the 95th percentile and is judged', async () => {
    const fleet = healthyLinuxFleet(100, (x, k) => ({ ...x, guestMs: k === 3 ? 25_000 : 14_000 }));
    const { out, cancels } = await collect(fleet);
    expect(out.results.get(fleet[3]!.id)!.state).toBe('success');
    expect(cancels).toEqual([]);
  });

  it('without a cutoff (a document that changes guests) waits for SSM: the hung one ends TimedOut at the step timeout', async () => {
    const fleet = healthyLinuxFleet(100, (x, k) => (k === 42 ? { ...x, guest: 'times-out' } : x));
    const { out, seconds, cancels } = await collect(fleet, false);
    expect(out.results.get(fleet[42]!.id)!.state).toBe('timed-out');
    expect(cancels).toEqual([]);
    expect(seconds).toBeGreaterThan(30);
  });

  it('does not cut in a small run (fewer than 20 run times seen)', async () => {
    const fleet = healthyLinuxFleet(10, (x, k) => (k === 4 ? { ...x, guest: 'times-out' } : x));
    const { out, cancels } = await collect(fleet);
    expect(out.results.get(fleet[4]!.id)!.state).toBe('timed-out');
    expect(cancels).toEqual([]);
  });
});

const listings = (calls: readonly SsmCall[]): SsmCall[] => calls.filter((c) => c.name === 'ListCommandInvocationsCommand');

describe('straggler sweep', () => {
  it('settles the stragglers of several commands with one sweep of the invocations in progress, not a second listing per command', async () => {
    // Four commands of 50, one hung guest in each.
    const hung = [5, 60, 110, 160];
    const fleet = healthyLinuxFleet(200, (x, k) => (hung.includes(k) ? { ...x, guest: 'times-out' } : x));
    const { out, calls } = await collect(fleet);
    for (const k of hung) expect(out.results.get(fleet[k]!.id)!.state).toBe('pending');
    expect([...out.results.values()].filter((r) => r.state === 'success')).toHaveLength(196);
    const sweeps = listings(calls).filter((c) => c.input['CommandId'] === undefined);
    expect(sweeps).toHaveLength(1);
    expect(sweeps[0]!.input['Filters']).toEqual([
      { key: 'Status', value: 'InProgress' },
      { key: 'DocumentName', value: 'TimeSyncGuard-Collect' },
      { key: 'InvokedAfter', value: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) },
    ]);
    // Every command is listed at its completion, none again for its cutoff look: the sweep does
    // those (four more listings before the sweep, at 12.1 s and 13.1 s of this run).
    const perCommand = listings(calls).filter((c) => c.input['CommandId'] !== undefined);
    expect(new Set(perCommand.map((c) => c.input['CommandId'])).size).toBe(4);
    expect(perCommand.every((c) => c.at < sweeps[0]!.at)).toBe(true);
    expect(perCommand.length).toBeLessThanOrEqual(5);
  });

  it('reads a straggler that ended before the sweep from its command, rather than leaving it pending', async () => {
    // A 12 s guest early in the second command would be past the 10 s cutoff at its own look; the
    // hung guest in the last command's last wave defers the sweep past the slow guest's end.
    const fleet = healthyLinuxFleet(200, (x, k) => (k === 55 ? { ...x, guestMs: 12_000 } : k === 199 ? { ...x, guest: 'times-out' } : x));
    const { out, calls } = await collect(fleet);
    expect(out.results.get(fleet[55]!.id)!.state).toBe('success');
    expect(out.results.get(fleet[199]!.id)!.state).toBe('pending');
    // The sweep did not find it in progress: its command was listed again, and read.
    const second = listings(calls).filter((c) => c.input['CommandId'] === out.results.get(fleet[55]!.id)!.commandId);
    expect(second).toHaveLength(2);
    expect(listings(calls).filter((c) => c.input['CommandId'] === undefined)).toHaveLength(1);
  });

  it('falls back to listing each command when the sweep would take more pages than its stragglers need', async () => {
    // One invocation a page: three stragglers would need three sweep pages, more than the two allowed.
    const hung = [5, 60, 110];
    const fleet = healthyLinuxFleet(150, (x, k) => (hung.includes(k) ? { ...x, guest: 'times-out' } : x));
    const { out, calls } = await collect(fleet, true, undefined, { invocationPageSize: 1, latencies: NO_LATENCY });
    for (const k of hung) expect(out.results.get(fleet[k]!.id)!.state).toBe('pending');
    expect([...out.results.values()].filter((r) => r.state === 'success')).toHaveLength(147);
    expect(listings(calls).filter((c) => c.input['CommandId'] === undefined)).toHaveLength(2);
    // Each command was listed again for its cutoff look.
    for (const k of hung) {
      const commandId = out.results.get(fleet[k]!.id)!.commandId;
      expect(listings(calls).filter((c) => c.input['CommandId'] === commandId && c.input['NextToken'] === undefined)).toHaveLength(2);
    }
  });

  it("the simulated ListCommandInvocations applies SSM's filters and refuses ListCommands' ExecutionStage", async () => {
    const fleet = healthyLinuxFleet(3, (x, k) => (k === 1 ? { ...x, guest: 'times-out' } : x));
    const clock = new DiscreteEventClock();
    account = new SimAccount(fleet, clock).install();
    const ssm = new SSMClient({ region: 'us-east-1' });
    const { ListCommandInvocationsCommand, SendCommandCommand } = await import('@aws-sdk/client-ssm');
    await clock.run(async () => {
      const sent = await ssm.send(new SendCommandCommand({ DocumentName: 'TimeSyncGuard-Collect', DocumentHash: request([]).documentHash, DocumentHashType: 'Sha256', InstanceIds: fleet.map((x) => x.id) }));
      await clock.sleep(15_000);
      const running = await ssm.send(new ListCommandInvocationsCommand({ Filters: [{ key: 'Status', value: 'InProgress' }, { key: 'DocumentName', value: 'TimeSyncGuard-Collect' }] }));
      expect(running.CommandInvocations?.map((i) => [i.CommandId, i.InstanceId])).toEqual([[sent.Command!.CommandId, fleet[1]!.id]]);
      const other = await ssm.send(new ListCommandInvocationsCommand({ Filters: [{ key: 'DocumentName', value: 'Another' }] }));
      expect(other.CommandInvocations).toEqual([]);
      const later = await ssm.send(new ListCommandInvocationsCommand({ Filters: [{ key: 'InvokedAfter', value: new Date(clock.now()).toISOString() }] }));
      expect(later.CommandInvocations).toEqual([]);
      await expect(ssm.send(new ListCommandInvocationsCommand({ Filters: [{ key: 'ExecutionStage', value: 'Executing' }] }))).rejects.toMatchObject({ name: 'InvalidFilterKey' });
    });
  });
});
