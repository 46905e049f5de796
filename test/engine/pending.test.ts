/**
 * The two-run rule for collectors past the straggler cutoff, through the check handler on the
 * simulated account (real Run Command timing on a discrete-event clock, 5 s guests, the collector
 * document's 30 s step timeout): a slow healthy host is pending on run 1 and read on run 2 from its
 * run-1 collector, never counted; a host unread in two runs is counted in InstancesNotChecked.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SimAccount } from '../../bench/sim/account';
import type { SimInstance } from '../../bench/sim/fleet';
import { healthyLinuxFleet } from '../support/sim';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';
import { DiscreteEventClock } from '../../bench/sim/virtual-clock';
import { Ec2SsmInventory } from '../../lambda/aws/inventory';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { parseSettings } from '../../lambda/core/settings';
import { PENDING_RESULT_MAX_AGE_MS, previousOutcome, resolvePending } from '../../lambda/engine/pending';
import type { InvocationResult, RunCommandPort } from '../../lambda/engine/ports';
import { createCheckHandler } from '../../lambda/handlers/check';
import { chronyReport } from './reports';

let account: SimAccount | undefined;
afterEach(() => {
  account?.restore();
  account = undefined;
});

const HOUR = 3600_000;
const thresholds = { maxOffsetSeconds: 1, maxClockErrorBoundSeconds: 1 };

/**
 * 60 healthy managed Linux guests, two commands: the first one's 50 run times make the cutoff known
 * (it needs 20) while the second still runs. `tweak` changes single ones.
 */
function fleetOf(tweak: (x: SimInstance, k: number) => SimInstance): SimInstance[] {
  return healthyLinuxFleet(60, tweak);
}

/** One SSM call as the adapters made it. */
interface SsmCall {
  readonly at: number;
  readonly name: string;
  readonly input: Record<string, unknown>;
}

interface Logged {
  message: string;
  extra: Record<string, unknown>;
}

/** Hourly checks through the real handler and adapters; each returns its per-instance records and summary. */
function hourlyChecks(fleet: SimInstance[], calls?: SsmCall[]): () => Promise<{ records: Map<string, Record<string, unknown>>; notChecked: number; seconds: number }> {
  const clock = new DiscreteEventClock();
  account = new SimAccount(fleet, clock).install();
  const settings = parseSettings({ ...SIM_DOCUMENT_PINS, TSG_IMDSV2: 'off' });
  const ssm = new SSMClient({ region: 'us-east-1' });
  if (calls) {
    const send = ssm.send.bind(ssm) as (c: unknown) => Promise<unknown>;
    (ssm as unknown as { send: (c: unknown) => Promise<unknown> }).send = (c) => {
      calls.push({ at: clock.now(), name: (c as object).constructor.name, input: (c as { input: Record<string, unknown> }).input });
      return send(c);
    };
  }
  const ec2 = new EC2Client({ region: 'us-east-1' });
  let runs = 0;
  return async () => {
    if (runs++ > 0) await clock.run(() => clock.sleep(HOUR));
    const logged: Logged[] = [];
    const at = (message: string, extra: Record<string, unknown> = {}) => void logged.push({ message, extra });
    const handler = createCheckHandler({
      settings,
      inventory: new Ec2SsmInventory({ ec2, ssm, clock, optOutTagKey: settings.optOutTagKey }),
      runCommand: new SsmRunCommand({ ssm, clock }),
      clock,
      logger: { info: at, warn: at, error: at },
      metrics: new Metrics({ serviceName: 'test', namespace: 'Test' }),
    });
    const t0 = clock.now();
    const result = await clock.run(() => handler({}, { getRemainingTimeInMillis: () => 900_000 }));
    const records = new Map(logged.filter((l) => l.message === 'instance').map((l) => [l.extra['instanceId'] as string, l.extra]));
    return { records, notChecked: result.counts.instancesNotChecked, seconds: (clock.now() - t0) / 1000 };
  };
}

describe('pending collectors: the two-run rule', () => {
  it('the next run starts the collector that hung before first, at the head of its command, and reads its previous result from one listing of the timed-out ones', async () => {
    // Hung in the second command's last wave on run 1; 60 guests, two commands.
    const fleet = fleetOf((x, k) => (k === 57 ? { ...x, guest: 'times-out' } : x));
    const hung = fleet[57]!.id;
    const calls: SsmCall[] = [];
    const check = hourlyChecks(fleet, calls);
    const run1 = await check();
    expect(run1.records.get(hung)).toMatchObject({ checkState: 'pending', status: 'unknown' });
    const from = calls.length;
    const run2 = await check();
    const own = calls.slice(from);
    // The window's timed-out collectors, listed once, at the start.
    const timedOut = own.filter((c) => c.name === 'ListCommandInvocationsCommand' && JSON.stringify(c.input['Filters'] ?? []).includes('TimedOut'));
    expect(timedOut).toHaveLength(1);
    expect(timedOut[0]!.at).toBe(own[0]!.at);
    // Its collector leads its command (the ramp's first wave), where run 1 started it in the fourth.
    const sends = own.filter((c) => c.name === 'SendCommandCommand').map((c) => c.input['InstanceIds'] as string[]);
    expect(sends.find((ids) => ids.includes(hung))![0]).toBe(hung);
    // Unread in two runs, counted, with no read of its own.
    expect(run2.records.get(hung)).toMatchObject({ checkState: 'timed-out', findings: 'check-timed-out' });
    expect(run2.notChecked).toBe(1);
    expect(own.filter((c) => c.name === 'ListCommandInvocationsCommand' && c.input['InstanceId'] !== undefined)).toEqual([]);
    // Left pending 10 s after its early start (run 1: its fourth ramp wave): run 2 ends 2.5 s sooner,
    // when the first command's last wave is read.
    expect(run2.seconds).toBeLessThanOrEqual(run1.seconds - 2.5);
  });

  it('a slow healthy host is pending on run 1 (not counted), read on run 2 from its run-1 collector, never counted', async () => {
    // 14 s every run: past the 10 s cutoff each time, so this run never reads it itself.
    const fleet = fleetOf((x, k) => (k === 57 ? { ...x, guestMs: 14_000 } : x));
    const slow = fleet[57]!.id;
    const check = hourlyChecks(fleet);

    const run1 = await check();
    expect(run1.records.get(slow)).toMatchObject({ checkState: 'pending', status: 'unknown', findings: 'check-pending' });
    expect(run1.notChecked).toBe(0);
    expect(run1.seconds).toBeLessThan(25);

    const run2 = await check();
    // Absent checkState: checked (the log record leaves its default out).
    expect(run2.records.get(slow)).not.toHaveProperty('checkState');
    expect(run2.records.get(slow)).toMatchObject({ status: 'ok', timeSource: 'amazon-ipv4' });
    expect(String(run2.records.get(slow)!['detail'])).toMatch(/judged from the previous run's collector/);
    expect(run2.notChecked).toBe(0);

    const run3 = await check();
    // Absent checkState: checked (the log record leaves its default out).
    expect(run3.records.get(slow)).not.toHaveProperty('checkState');
    expect(run3.records.get(slow)).toMatchObject({ status: 'ok' });
    expect(run3.notChecked).toBe(0);
  });

  it('a hung host is pending on run 1 (not counted) and counted on run 2, unread in two runs', async () => {
    const fleet = fleetOf((x, k) => (k === 55 ? { ...x, guest: 'times-out' } : x));
    const hung = fleet[55]!.id;
    const check = hourlyChecks(fleet);

    const run1 = await check();
    expect(run1.records.get(hung)).toMatchObject({ checkState: 'pending', status: 'unknown' });
    expect(run1.notChecked).toBe(0);

    const run2 = await check();
    expect(run2.records.get(hung)).toMatchObject({ checkState: 'timed-out', status: 'unknown', findings: 'check-timed-out' });
    expect(String(run2.records.get(hung)!['detail'])).toMatch(/not read in two runs/);
    expect(run2.notChecked).toBe(1);
  });

  it('on a fleet too small for the straggler cutoff, a host that SSM times out once is pending (not counted), then read; one that times out every run is counted on the second', async () => {
    // Five guests: too few run times for the cutoff, so the run waits for SSM's own TimedOut verdict.
    const fleet = fleetOf((x) => x).slice(0, 5);
    // SSM's verdict once: the document's step timeout (the simulator runs slow guests to the end).
    Object.assign(fleet[1]!, { script: { status: 'TimedOut', statusDetails: 'ExecutionTimedOut' } });
    Object.assign(fleet[2]!, { guest: 'times-out' });
    const check = hourlyChecks(fleet);
    const run1 = await check();
    expect(run1.records.get(fleet[1]!.id)).toMatchObject({ checkState: 'pending', status: 'unknown', findings: 'check-pending' });
    expect(String(run1.records.get(fleet[1]!.id)!['detail'])).toMatch(/TimedOut.*counted only if the next run cannot read it either/);
    expect(run1.records.get(fleet[2]!.id)).toMatchObject({ checkState: 'pending', status: 'unknown' });
    expect(run1.notChecked).toBe(0);
    delete (fleet[1] as { script?: unknown }).script;
    const run2 = await check();
    // Absent checkState: checked (the log record leaves its default out).
    expect(run2.records.get(fleet[1]!.id)).not.toHaveProperty('checkState');
    expect(run2.records.get(fleet[1]!.id)).toMatchObject({ status: 'ok' });
    expect(run2.records.get(fleet[2]!.id)).toMatchObject({ checkState: 'timed-out', findings: 'check-timed-out' });
    expect(run2.notChecked).toBe(1);
  });

  it("lists the previous runs' commands as soon as a collector is left pending, while the run still waits, and reads them from that one listing", async () => {
    // Two hung guests: one early in the first command, one in the second command's last wave (left pending last).
    const fleet = fleetOf((x, k) => (k === 2 || k === 55 ? { ...x, guest: 'times-out' } : x));
    const calls: SsmCall[] = [];
    const check = hourlyChecks(fleet, calls);
    await check();
    const from = calls.length;
    const run2 = await check();
    const own = calls.slice(from);
    const windowListings = own.filter((c) => c.name === 'ListCommandsCommand' && JSON.stringify(c.input['Filters'] ?? []).includes('InvokedBefore'));
    // One page (run 1's two commands), listed once: the read after the run reuses it.
    expect(windowListings).toHaveLength(1);
    const lastLook = Math.max(...own.filter((c) => c.name === 'ListCommandInvocationsCommand' && c.input['InstanceId'] === undefined).map((c) => c.at));
    expect(windowListings[0]!.at).toBeLessThan(lastLook);
    // And the rule still holds: both unread in two runs, counted.
    expect(run2.records.get(fleet[2]!.id)).toMatchObject({ checkState: 'timed-out', findings: 'check-timed-out' });
    expect(run2.records.get(fleet[55]!.id)).toMatchObject({ checkState: 'timed-out', findings: 'check-timed-out' });
    expect(run2.notChecked).toBe(2);
  });

  it('a host slow only once is pending, then read by its own collector on the next run', async () => {
    const fleet = fleetOf((x, k) => (k === 53 ? { ...x, guestMs: 14_000 } : x));
    const check = hourlyChecks(fleet);
    const run1 = await check();
    expect(run1.records.get(fleet[53]!.id)).toMatchObject({ checkState: 'pending' });
    // The fleet's instances are the account's (mutable where the simulated APIs change them).
    delete (fleet[53] as { guestMs?: number }).guestMs;
    const run2 = await check();
    // Absent checkState: checked (the log record leaves its default out).
    expect(run2.records.get(fleet[53]!.id)).not.toHaveProperty('checkState');
    expect(run2.records.get(fleet[53]!.id)).toMatchObject({ status: 'ok' });
    expect(run2.records.get(fleet[53]!.id)!['detail']).toBeUndefined();
  });
});

describe('previousOutcome', () => {
  const startedAt = Date.UTC(2026, 0, 1, 12);
  const ctx = { startedAt, diagnose, thresholds };
  const prev = (over: Partial<InvocationResult>): InvocationResult => ({ instanceId: 'i-0123456789abcdef0', state: 'success', commandId: 'c', output: chronyReport(), finishedAt: startedAt - HOUR + 14_000, ...over });

  it('a previous report that ended within the age limit is judged', () => {
    expect(previousOutcome(prev({}), ctx)).toMatchObject({ kind: 'report', verdict: { status: 'ok' } });
  });

  it.each([
    ['ended too long ago', prev({ finishedAt: startedAt - PENDING_RESULT_MAX_AGE_MS - 1 })],
    ['no finish time', prev({ finishedAt: undefined })],
    ['a finish time in the future', prev({ finishedAt: startedAt + 10 * HOUR })],
    ['TimedOut (hung)', prev({ state: 'timed-out', status: 'TimedOut', output: '' })],
    ['Success without a report', prev({ output: 'sh: chronyc: not found' })],
  ])('is unread twice (check-timed-out, counted) when the previous collector %s', (_why, p) => {
    expect(previousOutcome(p, ctx)).toMatchObject({ kind: 'not-checked', checkState: 'timed-out', code: 'check-timed-out' });
  });
});

describe('resolvePending', () => {
  const clock = { now: () => Date.UTC(2026, 0, 1, 12), sleep: async () => undefined };
  const strategy = { kind: 'document' as const, documentName: 'TimeSyncGuard-Collect', documentHash: 'a'.repeat(64) };
  const results = new Map<string, InvocationResult>([
    ['i-1', { instanceId: 'i-1', state: 'pending' }],
    ['i-2', { instanceId: 'i-2', state: 'success', output: chronyReport() }],
  ]);
  const ctx = { startedAt: clock.now(), clock, diagnose, thresholds };

  it('asks only for the pending instances, before this run, with the check comment; an instance without a previous invocation stays pending', async () => {
    const asked: unknown[] = [];
    const port: RunCommandPort = { startSession: () => { throw new Error('unused'); }, previousResults: async (r) => (asked.push(r), new Map()) };
    const out = await resolvePending(port, strategy, results, ctx);
    expect([...out.keys()]).toEqual(['i-1']);
    expect(out.get('i-1')).toEqual({ kind: 'not-checked', checkState: 'pending', code: 'check-pending' });
    expect(asked).toEqual([expect.objectContaining({ instanceIds: ['i-1'], before: clock.now(), documentName: 'TimeSyncGuard-Collect', comment: 'timesync-guard check' })]);
  });

  it('a failed look-up acts on nothing: pending stays pending (not counted), and it is logged', async () => {
    const warned: string[] = [];
    const port: RunCommandPort = { startSession: () => { throw new Error('unused'); }, previousResults: () => Promise.reject(new Error('ThrottlingException')) };
    const out = await resolvePending(port, strategy, results, { ...ctx, logger: { info: () => undefined, warn: (m) => void warned.push(m), error: () => undefined } });
    expect([...out.values()].map((o) => o.kind === 'not-checked' && o.checkState)).toEqual(['pending']);
    expect(warned).toEqual(['previous collector results not read']);
  });

  it.each([
    ['SSM TimedOut (ExecutionTimedOut)', { instanceId: 'i-3', state: 'timed-out', status: 'TimedOut', detail: 'ExecutionTimedOut' }],
    ['SSM TimedOut (DeliveryTimedOut)', { instanceId: 'i-3', state: 'timed-out', status: 'TimedOut', detail: 'DeliveryTimedOut' }],
    ['no invocation by the deadline', { instanceId: 'i-3', state: 'no-invocation', detail: 'no invocation by the deadline', atDeadline: true }],
  ] as [string, InvocationResult][])('a collector late by %s falls under the two-run rule: pending once, read from the previous run, or counted', async (_why, late) => {
    const asked: string[][] = [];
    const lateResults = new Map<string, InvocationResult>([['i-3', late]]);
    const none: RunCommandPort = { startSession: () => { throw new Error('unused'); }, previousResults: async (r) => (asked.push([...r.instanceIds]), new Map()) };
    const once = (await resolvePending(none, strategy, lateResults, ctx)).get('i-3');
    expect(once).toMatchObject({ kind: 'not-checked', checkState: 'pending', code: 'check-pending' });
    expect(once!.kind === 'not-checked' && once!.detail).toMatch(/counted only if the next run cannot read it either/);
    expect(asked).toEqual([['i-3']]);
    const withPrev = (p: InvocationResult): RunCommandPort => ({ startSession: () => { throw new Error('unused'); }, previousResults: async () => new Map([['i-3', p]]) });
    const read = await resolvePending(withPrev({ instanceId: 'i-3', state: 'success', commandId: 'c0', output: chronyReport(), finishedAt: ctx.startedAt - HOUR + 9_000 }), strategy, lateResults, ctx);
    expect(read.get('i-3')).toMatchObject({ kind: 'report', verdict: { status: 'ok' } });
    const twice = await resolvePending(withPrev({ instanceId: 'i-3', state: 'timed-out', status: 'TimedOut', commandId: 'c0', output: '' }), strategy, lateResults, ctx);
    expect(twice.get('i-3')).toMatchObject({ kind: 'not-checked', checkState: 'timed-out', code: 'check-timed-out' });
  });

  it('a failed collector or a vanished instance is not late: it is judged alone', async () => {
    const port: RunCommandPort = { startSession: () => { throw new Error('unused'); }, previousResults: () => Promise.reject(new Error('must not be called')) };
    const notLate = new Map<string, InvocationResult>([
      ['i-4', { instanceId: 'i-4', state: 'failed', status: 'Failed', output: '' }],
      ['i-5', { instanceId: 'i-5', state: 'no-invocation', detail: 'command ended without an invocation for this instance' }],
    ]);
    expect((await resolvePending(port, strategy, notLate, ctx)).size).toBe(0);
  });

  it('the CLI scripts (AWS-owned documents others use too) never read previous results', async () => {
    const port: RunCommandPort = { startSession: () => { throw new Error('unused'); }, previousResults: () => Promise.reject(new Error('must not be called')) };
    expect((await resolvePending(port, { kind: 'scripts', linux: 'x', windows: 'y' }, results, ctx)).size).toBe(0);
  });
});
