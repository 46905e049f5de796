import 'aws-sdk-client-mock-jest';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { Ec2SsmInventory } from '../../lambda/aws/inventory';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import { TAIL_EXTRA_COMMANDS_MAX, TAIL_EXTRA_COMMANDS_SHARE } from '../../lambda/aws/run-command-session';
import { parseSettings } from '../../lambda/core/settings';
import type { InstanceEvaluation, Verdict } from '../../lambda/core/types';
import { SimAccount } from '../../bench/sim/account';
import { generateFleet } from '../../bench/sim/fleet';
import { DiscreteEventClock } from '../../bench/sim/virtual-clock';
import { SIM_DOCUMENT_HASHES, SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';
import { type CheckDeps, openDocumentRun, outcomeOf, runCheck } from '../../lambda/engine/check';
import type { InvocationScript, SimInstance } from '../../bench/sim/fleet';
import { awsError, idOf, member, useSimAccount } from '../support/sim';
import { chronyReport, fixtureReport, windowsAmazonReport } from './reports';

const settings = parseSettings({ ...SIM_DOCUMENT_PINS });
const sim = useSimAccount();
const simulateFleet = (fleet: SimInstance[], options?: Parameters<typeof sim.simulate>[1]): void => void sim.simulate(fleet, options);

function deps(clock = sim.account.clock, extra: Partial<CheckDeps> = {}): CheckDeps {
  const ssm = new SSMClient({});
  return {
    inventory: new Ec2SsmInventory({ ec2: new EC2Client({}), ssm, clock, optOutTagKey: settings.optOutTagKey }),
    runCommand: new SsmRunCommand({ ssm, clock }),
    clock,
    ...extra,
  };
}

describe('runCheck', () => {
  it('checks only online, managed, not-opted-out instances and accounts for every instance', async () => {
    const fleet: SimInstance[] = [
      member(idOf(1)),
      member(idOf(2), { script: { output: chronyReport({ address: '127.0.0.1' }) } }),
      member(idOf(3), { ssm: 'unmanaged' }),
      member(idOf(4), { ssm: 'ConnectionLost' }),
      member(idOf(5), { ssm: 'Inactive' }),
      member(idOf(6), { optedOut: true }),
    ];
    simulateFleet(fleet);
    const run = await runCheck(deps(), settings);
    expect(run.completed).toBe(true);
    expect(sim.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(sim.ssm.commandCalls(SendCommandCommand)[0]!.args[0].input.InstanceIds).toEqual([idOf(1), idOf(2)]);
    expect(sim.ssm).toHaveReceivedCommandWith(SendCommandCommand, { DocumentName: settings.collectorDocument });
    const byId = new Map(run.evaluations.map((e) => [e.instanceId, e]));
    expect(byId.get(idOf(1))).toMatchObject({ status: 'ok', checkState: 'checked' });
    expect(byId.get(idOf(2))).toMatchObject({ status: 'at-risk', checkState: 'checked' });
    expect(byId.get(idOf(3))).toMatchObject({ status: 'unknown', checkState: 'unmanaged' });
    expect(byId.get(idOf(4))!.findings.map((f) => f.code)).toEqual(['ssm-connection-lost']);
    expect(byId.get(idOf(5))).toMatchObject({ status: 'unknown', checkState: 'ssm-offline' });
    expect(byId.get(idOf(6))).toMatchObject({ status: 'opted-out', checkState: 'opted-out' });
    expect(run.summary.counts).toMatchObject({ instancesSeen: 6, instancesChecked: 2, instancesNotChecked: 3, instancesAtRisk: 1, notOnAmazonTimeSync: 1 });
  });

  it('runs the read-only collector on every target at once and to the end, whatever remediationMaxConcurrency and remediationMaxErrors say', async () => {
    simulateFleet([member(idOf(1)), member(idOf(2))]);
    const run = await runCheck(deps(), parseSettings({ ...SIM_DOCUMENT_PINS, TSG_REMEDIATION_MAX_CONCURRENCY: '1', TSG_REMEDIATION_MAX_ERRORS: '3' }));
    expect(run.completed).toBe(true);
    expect(sim.ssm).toHaveReceivedCommandWith(SendCommandCommand, { MaxConcurrency: '100%', MaxErrors: '100%' });
  });

  it('uses the injected diagnose on the collected report text', async () => {
    simulateFleet([member(idOf(1))]);
    const seen: string[] = [];
    const fake: Verdict = {
      platform: 'linux', daemon: 'chrony', timeSource: 'amazon-phc', synchronized: true, offsetSeconds: 0, clockErrorBoundSeconds: 0.00001, containers: false, status: 'ok', findings: [],
    };
    const run = await runCheck(deps(undefined, { diagnose: (r) => (seen.push(r), fake) }), settings);
    expect(seen).toEqual([chronyReport()]);
    expect(run.evaluations[0]!.verdict).toBe(fake);
  });

  it('reports instances that stop mid-run as gone, never as compliant', async () => {
    simulateFleet([
      member(idOf(1)),
      member(idOf(2), { script: { gone: true } }),
      member(idOf(3), { script: { status: 'Failed', statusDetails: 'Terminated' } }),
      member(idOf(4), { script: { noInvocation: true } }),
    ]);
    const run = await runCheck(deps(), settings);
    const states = run.evaluations.map((e) => [e.checkState, e.status]);
    expect(states).toEqual([
      ['checked', 'ok'],
      ['gone', 'unknown'],
      ['gone', 'unknown'],
      ['gone', 'unknown'],
    ]);
    expect(run.summary.counts.instancesNotChecked).toBe(3);
    expect(run.completed).toBe(true);
  });

  it.each([
    // The first run that cannot read a timed-out collector does not count it (the two-run rule, ./pending.test.ts).
    [{ status: 'TimedOut', statusDetails: 'ExecutionTimedOut' }, 'pending', 'check-pending'],
    [{ status: 'TimedOut', statusDetails: 'DeliveryTimedOut' }, 'pending', 'check-pending'],
    [{ status: 'Failed', statusDetails: 'Undeliverable' }, 'undeliverable', 'command-undeliverable'],
    [{ status: 'Failed', statusDetails: 'Failed', output: 'sh: 1: cannot create /tmp: Read-only file system' }, 'command-failed', 'command-failed'],
    [{ status: 'Cancelled', statusDetails: 'Cancelled' }, 'command-failed', 'command-cancelled'],
    [{ status: 'Success', output: 'hello' }, 'output-unreadable', 'output-unreadable'],
    [{ status: 'Success', output: '' }, 'output-unreadable', 'output-unreadable'],
  ] as [InvocationScript, string, string][])('an invocation %p becomes check state %s with finding %s', async (run, checkState, code) => {
    simulateFleet([member(idOf(1), { script: run })]);
    const out = await runCheck(deps(), settings);
    expect(out.evaluations[0]).toMatchObject({ status: 'unknown', checkState });
    expect(out.evaluations[0]!.findings.map((f) => f.code)).toEqual([code]);
  });

  it('still diagnoses a collector that Failed but printed a report', async () => {
    simulateFleet([member(idOf(1), { script: { status: 'Failed', statusDetails: 'Failed', responseCode: 2, output: chronyReport({ address: '127.0.0.1' }) } })]);
    const run = await runCheck(deps(), settings);
    expect(run.evaluations[0]).toMatchObject({ checkState: 'checked', status: 'at-risk', detail: 'collector Failed (rc 2) but printed a report' });
  });

  it('diagnoses a cut report after fetching it whole', async () => {
    simulateFleet([member(idOf(1), { script: { output: chronyReport({ padTo: 3200 }) } })]);
    const run = await runCheck(deps(), settings);
    expect(sim.ssm).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 1);
    expect(run.evaluations[0]).toMatchObject({ checkState: 'checked', status: 'ok' });
  });

  it('handles an empty fleet: no command sent, all-zero summary, completed', async () => {
    simulateFleet([]);
    const run = await runCheck(deps(), settings);
    expect(run.completed).toBe(true);
    expect(run.evaluations).toEqual([]);
    expect(sim.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 0);
    expect(Object.values(run.summary.counts).every((v) => v === 0)).toBe(true);
  });

  it('skips the guest when asked, keeping the IMDS findings', async () => {
    simulateFleet([member(idOf(1), { httpEndpoint: 'disabled' }), member(idOf(2))]);
    const run = await runCheck(deps(), settings, { guest: false });
    expect(sim.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 0);
    expect(run.evaluations.map((e) => [e.checkState, e.status])).toEqual([
      ['not-requested', 'at-risk'],
      ['not-requested', 'unknown'],
    ]);
  });

  it('sends the script text through AWS-RunShellScript / AWS-RunPowerShellScript per platform in scripts mode', async () => {
    simulateFleet([member(idOf(1)), member(idOf(2), { platform: 'windows' }), member(idOf(3))]);
    await runCheck(deps(), settings, { collector: { kind: 'scripts', linux: '#!/bin/sh\necho linux', windows: 'Write-Output win' } });
    expect(sim.ssm).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [idOf(1), idOf(3)],
      Parameters: { commands: ['#!/bin/sh\necho linux'], executionTimeout: ['120'] },
    });
    expect(sim.ssm).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: 'AWS-RunPowerShellScript',
      InstanceIds: [idOf(2)],
      Parameters: { commands: ['Write-Output win'], executionTimeout: ['120'] },
    });
  });

  it('marks the run failed (but keeps every evaluation) when SendCommand is denied', async () => {
    simulateFleet([member(idOf(1))], { failures: { SendCommand: [awsError('AccessDeniedException')] } });
    const run = await runCheck(deps(), settings);
    expect(run.completed).toBe(false);
    expect(run.errors[0]).toMatch(/AccessDeniedException/);
    expect(run.evaluations[0]).toMatchObject({ checkState: 'command-failed', status: 'unknown' });
  });

  it('throws when the inventory cannot be read', async () => {
    simulateFleet([member(idOf(1))], { failures: { DescribeInstances: [awsError('UnauthorizedOperation')] } });
    await expect(runCheck(deps(), settings)).rejects.toThrow('UnauthorizedOperation');
  });

  it('stops waiting at the deadline and reports the slow guests as pending (not counted on a first miss)', async () => {
    simulateFleet([member(idOf(1)), member(idOf(2), { script: { hang: true } })]);
    const clock = sim.account.clock;
    const run = await runCheck(deps(clock), settings, { deadline: clock.now() + 90_000 });
    expect(run.evaluations.map((e) => e.checkState)).toEqual(['checked', 'pending']);
    expect(run.summary.counts.instancesNotChecked).toBe(0);
    expect(run.durationMs).toBeLessThan(120_000);
  });

  it('checks 10,000 instances with O(N/50) calls and no per-instance call', async () => {
    const fleet = Array.from({ length: 10_000 }, (_, k) => member(idOf(k)));
    simulateFleet(fleet);
    const clock = sim.account.clock;
    const started = Date.now();
    const run = await runCheck(deps(clock), settings);
    const wallMs = Date.now() - started;
    expect(run.summary.counts.instancesChecked).toBe(10_000);
    expect(sim.ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 10);
    expect(sim.ssm).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 200);
    // ⌈N/50⌉, plus the few the run's tail may take to start its last collectors sooner (sizeTail).
    const sends = sim.ssm.commandCalls(SendCommandCommand).length;
    expect(sends).toBeGreaterThanOrEqual(200);
    expect(sends).toBeLessThanOrEqual(200 + Math.min(TAIL_EXTRA_COMMANDS_MAX, Math.floor(TAIL_EXTRA_COMMANDS_SHARE * 200)));
    // One listing per command, and one of the look-back window's timed-out collectors (none: the
    // first run); the shared account enforces SSM's request bucket (A1), so a few are retried after a throttle.
    expect(sim.ssm.commandCalls(ListCommandInvocationsCommand).length).toBe(sends + 1 + (sim.account.stats.throttled['ListCommandInvocations'] ?? 0));
    expect(sim.account.stats.throttled['ListCommandInvocations'] ?? 0).toBeLessThan(20);
    expect(sim.ssm).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 0);
    expect(run.commandStats.listCommands).toBeLessThanOrEqual(4 * run.commandStats.polls);
    // Recorded for the report: wall time of the whole engine over the mocks.
    process.stdout.write(`10k check: wall ${wallMs} ms, virtual ${run.durationMs} ms, stats ${JSON.stringify(run.commandStats)}\n`);
    expect(wallMs).toBeLessThan(30_000);
  });

  it("lists the look-back window's timed-out collectors for a fleet check, not for a check of named instances", async () => {
    const fleet = Array.from({ length: 60 }, (_, k) => member(idOf(k)));
    simulateFleet(fleet);
    const clock = sim.account.clock;
    const timedOutListings = () => sim.ssm.commandCalls(ListCommandInvocationsCommand).filter((c) => JSON.stringify(c.args[0].input.Filters ?? []).includes('TimedOut')).length;
    await runCheck(deps(clock), settings, { instanceIds: [idOf(3), idOf(7)] });
    expect(timedOutListings()).toBe(0);
    await runCheck(deps(clock), settings);
    expect(timedOutListings()).toBe(1);
  });
});

describe('openDocumentRun', () => {
  it('sends one stack document to both platforms in document mode (one streaming session)', async () => {
    simulateFleet([member(idOf(1)), member(idOf(2), { platform: 'windows' })]);
    const run = openDocumentRun(
      new SsmRunCommand({ ssm: new SSMClient({}), clock: sim.account.clock }),
      { kind: 'document', documentName: 'TimeSyncGuard-Remediate', documentHash: SIM_DOCUMENT_HASHES['TimeSyncGuard-Remediate'], parameters: { DryRun: ['true'] } },
      settings,
    );
    run.add([
      { instanceId: idOf(1), platform: 'linux' },
      { instanceId: idOf(2), platform: 'windows' },
    ]);
    const out = await run.finish();
    expect(sim.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(sim.ssm).toHaveReceivedCommandWith(SendCommandCommand, { DocumentName: 'TimeSyncGuard-Remediate', Parameters: { DryRun: ['true'] } });
    expect(out.results.size).toBe(2);
  });
});

describe('outcomeOf', () => {
  it('treats a missing result as gone', () => {
    expect(outcomeOf(undefined, () => { throw new Error('not called'); }, settings)).toMatchObject({ kind: 'not-checked', checkState: 'gone' });
  });
});

describe('runCheck on real collector output', () => {
  it('judges the real Linux reports and a Windows report through one two-platform document', async () => {
    simulateFleet([
      member(idOf(1), { script: { output: fixtureReport('reports/linux-chrony-loopback-synced.txt') } }),
      member(idOf(2), { script: { output: fixtureReport('reports/linux-chrony-loopback-skew.txt') } }),
      member(idOf(3), { script: { output: fixtureReport('reports/linux-chrony-loopback-lost.txt') } }),
      member(idOf(4), { platform: 'windows', script: { output: windowsAmazonReport() } }),
    ]);
    const run = await runCheck(deps(), settings);
    expect(sim.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    const [synced, skew, lost, win] = run.evaluations;
    expect(synced).toMatchObject({ status: 'at-risk', checkState: 'checked', verdict: { timeSource: 'other', synchronized: true } });
    // The source is 300 s ahead, so this clock is 300 s behind: negative offset.
    expect(skew!.verdict!.offsetSeconds).toBeCloseTo(-300, 0);
    expect(skew!.findings.map((f) => f.code)).toContain('offset-over-threshold');
    expect(lost!.status).toBe('at-risk');
    expect(win).toMatchObject({ platform: 'windows', status: 'ok', verdict: { timeSource: 'amazon-ipv4' } });
    expect(run.summary.counts).toMatchObject({
      instancesSeen: 4,
      instancesChecked: 4,
      instancesAtRisk: 3,
      clockErrorBoundOverThreshold: 1,
      notOnAmazonTimeSync: 3,
    });
    expect(run.summary.maxAbsOffsetSeconds).toBeCloseTo(300, 0);
  });
});

describe('runCheck with a streaming inventory', () => {
  it('sends the collector while EC2 is still listing instances', async () => {
    const fleet = Array.from({ length: 150 }, (_, k) => member(idOf(k)));
    simulateFleet(fleet);
    const order: string[] = [];
    let firstSend!: () => void;
    const sent = new Promise<void>((resolve) => (firstSend = resolve));
    sim.ec2.on(DescribeInstancesCommand).callsFake(async (input: { NextToken?: string }) => {
      const start = Number(input.NextToken ?? 0);
      // A later page waits (briefly, in real time) for a send: an engine that lists everything first never sends in time.
      if (start > 0) await Promise.race([sent, new Promise((resolve) => setTimeout(resolve, 200))]);
      order.push(`ec2@${start}`);
      const page = fleet.slice(start, start + 50).map((m) => ({ InstanceId: m.id, State: { Name: 'running' as const }, PrivateIpAddress: '10.0.0.1', Tags: [] }));
      return { Reservations: [{ Instances: page }], ...(start + 50 < fleet.length ? { NextToken: String(start + 50) } : {}) };
    });
    sim.ssm.on(SendCommandCommand).callsFake((input: unknown) => {
      order.push('send');
      firstSend();
      return sim.account.answer('SendCommand', input);
    });
    const clock = sim.account.clock;
    await runCheck(deps(clock), settings, { deadline: clock.now() + 30_000 });
    // The first page's batch goes out before the last EC2 page is even answered.
    expect(order.indexOf('send')).toBeLessThan(order.indexOf('ec2@100'));
    expect(order.filter((o) => o === 'send')).toHaveLength(3);
  });
});

describe('runCheck streaming its evaluations (CheckOptions.stream)', () => {
  let account: SimAccount | undefined;
  afterEach(() => {
    account?.restore();
    account = undefined;
  });

  it('hands each evaluation out once, as soon as it is final and long before the run ends, equal to the run\'s own', async () => {
    // Real Run Command timing: 50 quick guests, 50 slow ones (25 s) in the second command, 20 not managed.
    const fleet = generateFleet(120, { vanishing: 0 }).map((x, k) => ({
      ...x,
      platform: 'linux' as const,
      ssm: k >= 100 ? ('unmanaged' as const) : ('Online' as const),
      optedOut: false,
      guest: 'normal' as const,
      scenario: 'chrony-amazon' as const,
      ...(k >= 50 && k < 100 ? { guestMs: 25_000 } : {}),
    }));
    const clock = new DiscreteEventClock();
    account = new SimAccount(fleet, clock).install();
    const ssm = new SSMClient({ region: 'us-east-1' });
    const checkDeps: CheckDeps = {
      inventory: new Ec2SsmInventory({ ec2: new EC2Client({ region: 'us-east-1' }), ssm, clock, optOutTagKey: settings.optOutTagKey }),
      runCommand: new SsmRunCommand({ ssm, clock }),
      clock,
    };
    const handed: { at: number; evaluation: InstanceEvaluation }[] = [];
    const listed: number[] = [];
    const run = await clock.run(() =>
      runCheck(checkDeps, settings, {
        stream: { listed: (n) => listed.push(n), evaluated: (items) => handed.push(...items.map((i) => ({ at: clock.now(), evaluation: i.evaluation }))) },
      }),
    );
    expect(run.completed).toBe(true);
    expect(listed.at(-1)).toBe(120);
    const ids = handed.map((h) => h.evaluation.instanceId);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(fleet.map((x) => x.id).sort());
    // The very evaluations the run returns, not a second judgement.
    const final = new Map(run.evaluations.map((e) => [e.instanceId, e]));
    for (const h of handed) expect(final.get(h.evaluation.instanceId)).toBe(h.evaluation);
    const at = new Map(handed.map((h) => [h.evaluation.instanceId, h.at]));
    const quick = fleet.slice(0, 50).map((x) => at.get(x.id)!);
    const unmanaged = fleet.slice(100).map((x) => at.get(x.id)!);
    expect(Math.max(...unmanaged)).toBeLessThanOrEqual(run.startedAt + run.timings.inventoryMs);
    expect(Math.max(...quick)).toBeLessThan(run.finishedAt - 10_000);
    expect(fleet.slice(0, 50).every((x) => final.get(x.id)?.checkState === 'checked')).toBe(true);
  });
});
