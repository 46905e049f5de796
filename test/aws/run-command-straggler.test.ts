/**
 * The straggler cutoff on the simulated account (bench/sim: real Run Command timing on a
 * discrete-event clock, 5 s guests, the collector document's 30 s step timeout): a hung collector
 * is left running as `pending` (never cancelled, never judged by this run: the next run reads it);
 * a slow but healthy one within the cutoff is judged; the cutoff follows the run's own run times.
 */
import { CancelCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { SimAccount } from '../../bench/sim/account';
import { generateFleet, type SimInstance } from '../../bench/sim/fleet';
import { DiscreteEventClock } from '../../bench/sim/virtual-clock';
import { request } from '../support/sim';
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

/** `n` managed, healthy Linux guests; `tweak` changes single ones (run time, hang). */
function fleetOf(n: number, tweak: (x: SimInstance, k: number) => SimInstance = (x) => x): SimInstance[] {
  return generateFleet(n, { vanishing: 0 }).map((x, k) =>
    tweak({ ...x, platform: 'linux', ssm: 'Online', optedOut: false, guest: 'normal', scenario: 'chrony-amazon', hopLimit: 2, httpEndpoint: 'enabled' }, k),
  );
}

async function collect(fleet: SimInstance[], cutoff = true, onResults?: (r: readonly InvocationResult[]) => void): Promise<{ out: RunDocumentResult; seconds: number; cancels: { CommandId?: string; InstanceIds?: string[] }[] }> {
  const clock = new DiscreteEventClock();
  account = new SimAccount(fleet, clock).install();
  const ssm = new SSMClient({ region: 'us-east-1' });
  const send = jest.spyOn(ssm, 'send');
  const rc = new SsmRunCommand({ ssm, clock });
  const t0 = clock.now();
  const out = await clock.run(() =>
    rc.runDocument(
      request(fleet.map((x) => x.id), { maxConcurrency: '100%', startMarker: 'TSG-REPORT', ...(cutoff ? { stragglerCutoff: {} } : {}), ...(onResults ? { onResults } : {}) }),
    ),
  );
  const cancels = send.mock.calls.map(([command]) => command).filter((c) => c instanceof CancelCommandCommand).map((c) => c.input as { CommandId?: string; InstanceIds?: string[] });
  return { out, seconds: (clock.now() - t0) / 1000, cancels };
}

describe('straggler cutoff', () => {
  it('judges a slow but healthy guest within the cutoff normally (9 s against a 10 s cutoff, still running when the rest is done)', async () => {
    // The 46th target starts in the ramp's last wave (≈ 5 s after the send) and ends ≈ 4 s after everyone else.
    const fleet = fleetOf(100, (x, k) => (k === 45 ? { ...x, guestMs: 9_000 } : x));
    const { out, cancels } = await collect(fleet);
    const slow = out.results.get(fleet[45]!.id)!;
    expect(slow.state).toBe('success');
    expect(diagnose(slow.output ?? '', { maxOffsetSeconds: 1, maxClockErrorBoundSeconds: 1 }, nodeReportCodec).status).toBe('ok');
    expect([...out.results.values()].every((r) => r.state === 'success')).toBe(true);
    expect(cancels).toEqual([]);
  });

  it('leaves a hung collector running as pending (no CancelCommand) and stops waiting long before the 30 s step timeout', async () => {
    const fleet = fleetOf(100, (x, k) => (k === 42 ? { ...x, guest: 'times-out' } : x));
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
    const fleet = fleetOf(100, (x, k) => (k === 45 ? { ...x, guestMs: 14_000 } : x));
    const { out } = await collect(fleet);
    const slow = out.results.get(fleet[45]!.id)!;
    expect(slow.state).toBe('pending');
    const inv = account!.commands.get(slow.commandId!)!.invocations.get(fleet[45]!.id)!;
    expect(inv.terminal).toBe('Success');
    expect(inv.endAt).toBeGreaterThan(account!.clock.now());
  });

  it('does not hand a pending result out (it is not final), and hands every other result out once', async () => {
    const fleet = fleetOf(100, (x, k) => (k === 42 ? { ...x, guest: 'times-out' } : x));
    const handed: InvocationResult[] = [];
    const { out } = await collect(fleet, true, (r) => void handed.push(...r));
    expect(handed).toHaveLength(99);
    for (const r of handed) expect(out.results.get(r.instanceId)).toBe(r);
    expect(handed.find((r) => r.instanceId === fleet[42]!.id)).toBeUndefined();
    expect(out.results.get(fleet[42]!.id)!.state).toBe('pending');
  });

  it('never judges a pending collector: check-pending, status unknown, never ok, and the plan does not touch its guest', async () => {
    const fleet = fleetOf(100, (x, k) => (k === 42 ? { ...x, guest: 'times-out', scenario: 'ntpd' } : x));
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
    const fleet = fleetOf(100, (x) => ({ ...x, guestMs: 25_000 }));
    const { out, cancels } = await collect(fleet);
    expect([...out.results.values()].every((r) => r.state === 'success')).toBe(true);
    expect(cancels).toEqual([]);
  });

  it('adapts to the run: in a slow run (14 s) a 25 s guest is within twice the 95th percentile and is judged', async () => {
    const fleet = fleetOf(100, (x, k) => ({ ...x, guestMs: k === 3 ? 25_000 : 14_000 }));
    const { out, cancels } = await collect(fleet);
    expect(out.results.get(fleet[3]!.id)!.state).toBe('success');
    expect(cancels).toEqual([]);
  });

  it('without a cutoff (a document that changes guests) waits for SSM: the hung one ends TimedOut at the step timeout', async () => {
    const fleet = fleetOf(100, (x, k) => (k === 42 ? { ...x, guest: 'times-out' } : x));
    const { out, seconds, cancels } = await collect(fleet, false);
    expect(out.results.get(fleet[42]!.id)!.state).toBe('timed-out');
    expect(cancels).toEqual([]);
    expect(seconds).toBeGreaterThan(30);
  });

  it('does not cut in a small run (fewer than 20 run times seen)', async () => {
    const fleet = fleetOf(10, (x, k) => (k === 4 ? { ...x, guest: 'times-out' } : x));
    const { out, cancels } = await collect(fleet);
    expect(out.results.get(fleet[4]!.id)!.state).toBe('timed-out');
    expect(cancels).toEqual([]);
  });
});
