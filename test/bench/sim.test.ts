/**
 * The benchmark's simulator must enforce the limits it claims to enforce, on virtual time,
 * or the benchmark's figures mean nothing.
 */
import { DescribeInstancesCommand, EC2Client, ModifyInstanceMetadataOptionsCommand } from '@aws-sdk/client-ec2';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { diagnose as diagnosePlain } from '../../lambda/core/diagnosis/diagnose';
import { nodeReportCodec } from '../../lambda/engine/report-codec';
import type { Thresholds } from '../../lambda/core/types';
import { parseRemediationOutput } from '../../lambda/core/remediation/guest-result';
import { SimAccount, DETAILS_OUTPUT_CAP, type BucketSpec } from '../../bench/sim/account';
import { collectorReport, generateFleet, plainCollectorReport, remediationOutput, type SimInstance } from '../../bench/sim/fleet';
import { DeadlockError, DiscreteEventClock } from '../../bench/sim/virtual-clock';

/** The real diagnosis as the Lambda runs it: compressed envelopes opened with node:zlib. */
const diagnose = (report: string, t?: Thresholds) => diagnosePlain(report, t, nodeReportCodec);

function setup(n: number, opts: { ssmBucket?: BucketSpec; mutate?: (f: SimInstance[]) => void } = {}) {
  const clock = new DiscreteEventClock({ startMs: Date.UTC(2026, 0, 1) });
  const fleet = generateFleet(n, { vanishing: 0 });
  opts.mutate?.(fleet);
  const account = new SimAccount(fleet, clock, { ssmBucket: opts.ssmBucket }).install();
  return { clock, fleet, account, ec2: new EC2Client({ region: 'us-east-1' }), ssm: new SSMClient({ region: 'us-east-1' }) };
}

async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { name: string; message: string };
  }
  throw new Error('expected a rejection');
}

let current: SimAccount | undefined;
afterEach(() => {
  current?.restore();
  current = undefined;
});

describe('simulated guest reports', () => {
  // The simulated fleet is only realistic if the real diagnosis reads each scenario as intended.
  it.each([
    ['chrony-amazon', 'ok', 'amazon-ipv4', undefined],
    ['chrony-amazon-phc', 'ok', 'amazon-phc', undefined],
    ['chrony-amazon-ipv6', 'ok', 'amazon-ipv6', undefined],
    ['chrony-amazon-long', 'ok', 'amazon-ipv4', undefined],
    ['chrony-other-source', 'at-risk', 'other', 'not-amazon-time-sync'],
    ['chrony-not-synchronized', 'at-risk', 'none', 'not-synchronized'],
    ['chrony-source-lost', 'at-risk', 'none', 'source-lost'],
    ['chrony-big-offset', 'at-risk', 'amazon-ipv4', 'offset-over-threshold'],
    ['ntpd', 'at-risk', 'other', 'not-amazon-time-sync'],
    ['timesyncd', 'at-risk', 'other', 'not-amazon-time-sync'],
    ['two-daemons', 'at-risk', 'amazon-ipv4', 'multiple-daemons'],
    ['no-daemon', 'at-risk', 'none', 'no-daemon'],
    ['windows-amazon', 'ok', 'amazon-ipv4', undefined],
    ['windows-cmos', 'at-risk', 'none', 'local-cmos-clock'],
    ['windows-domain', 'at-risk', 'other', 'not-amazon-time-sync'],
  ] as const)('%s reads as %s / %s', (scenario, status, timeSource, code) => {
    const inst = generateFleet(3000, { vanishing: 0 }).find((x) => x.scenario === scenario && x.guest === 'normal')!;
    const v = diagnose(collectorReport(inst, 1_767_225_600));
    expect(v.status).toBe(status);
    expect(v.timeSource).toBe(timeSource);
    if (code) expect(v.findings.map((f) => f.code)).toContain(code);
    else expect(v.findings).toEqual([]);
  });

  it.each([
    ['chrony-amazon', 'already-compliant', 0],
    ['chrony-other-source', 'changed', 0],
    ['chrony-source-lost', 'rolled-back', 1],
    ['no-daemon', 'skipped', 0],
    ['windows-domain', 'skipped', 0],
    ['windows-cmos', 'changed', 0],
  ] as const)('remediation output of %s parses as %s with the real parser', (scenario, result, exitCode) => {
    const inst = { ...generateFleet(3000, { vanishing: 0 }).find((x) => x.scenario === scenario)! };
    const out = remediationOutput(inst, false);
    expect(out.exitCode).toBe(exitCode);
    expect(parseRemediationOutput(out.output).result).toBe(result);
  });

  it('prints every report as an envelope under the Details cap, the 40-source one too (its plain report is over it)', () => {
    const fleet = generateFleet(3000, { vanishing: 0 }).filter((x) => x.guest === 'normal');
    let longest = 0;
    for (const x of fleet) {
      const out = collectorReport(x, 1_767_225_600);
      expect(out.startsWith('TSG-REPORT-GZ1 ')).toBe(true);
      longest = Math.max(longest, out.length);
      if (x.scenario === 'chrony-amazon-long') expect(plainCollectorReport(x, 1_767_225_600).length).toBeGreaterThan(DETAILS_OUTPUT_CAP);
    }
    expect(longest).toBeLessThan(DETAILS_OUTPUT_CAP / 2);
  });

  it('prints the plain report for a guest without compression, and both read the same', () => {
    const inst = generateFleet(3000, { vanishing: 0 }).find((x) => x.scenario === 'chrony-amazon' && x.guest === 'normal')!;
    const plain = collectorReport({ ...inst, plainReport: true }, 1_767_225_600);
    expect(plain.startsWith('TSG-REPORT v1 linux')).toBe(true);
    expect(diagnose(plain)).toEqual(diagnose(collectorReport(inst, 1_767_225_600)));
  });
});

describe('DiscreteEventClock', () => {
  it('overlaps concurrent sleeps instead of adding them up', async () => {
    const clock = new DiscreteEventClock();
    const t0 = clock.now();
    await clock.run(() => Promise.all([clock.sleep(1000), clock.sleep(1000), clock.sleep(400)]));
    expect(clock.now() - t0).toBe(1000);
  });

  it('orders wake-ups by virtual time', async () => {
    const clock = new DiscreteEventClock();
    const order: number[] = [];
    await clock.run(() => Promise.all([300, 100, 200].map(async (ms) => {
      await clock.sleep(ms);
      order.push(ms);
    })));
    expect(order).toEqual([100, 200, 300]);
  });

  it('reports a deadlock instead of hanging when work waits on nothing', async () => {
    const clock = new DiscreteEventClock();
    await expect(clock.run(() => new Promise<void>(() => undefined))).rejects.toBeInstanceOf(DeadlockError);
  });
});

describe('EC2 token buckets', () => {
  it('throttles the 101st ModifyInstanceMetadataOptions of a burst with RequestLimitExceeded, and refills 5 per virtual second', async () => {
    const { clock, account, ec2, fleet } = setup(150, { mutate: (f) => f.forEach((x) => (x.hopLimit = 1)) });
    current = account;
    const results = await clock.run(() =>
      Promise.allSettled(fleet.slice(0, 101).map((x) => ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: x.id, HttpPutResponseHopLimit: 2 })))),
    );
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect((rejected[0]!.reason as Error).name).toBe('RequestLimitExceeded');
    // One second later, about 5 more tokens (the bucket refilled during the 100 ms latency too).
    await clock.run(() => clock.sleep(1000));
    const again = await clock.run(() =>
      Promise.allSettled(fleet.slice(101, 120).map((x) => ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: x.id, HttpPutResponseHopLimit: 2 })))),
    );
    const ok = again.filter((r) => r.status === 'fulfilled').length;
    expect(ok).toBeGreaterThanOrEqual(5);
    expect(ok).toBeLessThanOrEqual(6);
    expect(account.stats.throttled['ModifyInstanceMetadataOptions']).toBe(1 + (19 - ok));
  });

  it('throttles DescribeInstances beyond 100 calls in a burst', async () => {
    const { clock, account, ec2 } = setup(10);
    current = account;
    const results = await clock.run(() =>
      Promise.allSettled(Array.from({ length: 120 }, () => ec2.send(new DescribeInstancesCommand({ MaxResults: 5 })))),
    );
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(20);
  });

  it('moves a metadata change from pending to applied after a delay', async () => {
    const { clock, account, ec2, fleet } = setup(5);
    current = account;
    const id = fleet[0]!.id;
    const out = await clock.run(() => ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpPutResponseHopLimit: 3 })));
    expect(out.InstanceMetadataOptions?.State).toBe('pending');
    await clock.run(() => clock.sleep(5000));
    const d = await clock.run(() => ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })));
    expect(d.Reservations?.[0]?.Instances?.[0]?.MetadataOptions).toMatchObject({ State: 'applied', HttpPutResponseHopLimit: 3 });
  });
});

describe('pagination sizes', () => {
  it('rejects DescribeInstances MaxResults outside 5..1000 and pages 1,000 at a time', async () => {
    const { clock, account, ec2 } = setup(2500);
    current = account;
    expect((await errorOf(clock.run(() => ec2.send(new DescribeInstancesCommand({ MaxResults: 1001 }))))).name).toBe('InvalidParameterValue');
    expect((await errorOf(clock.run(() => ec2.send(new DescribeInstancesCommand({ MaxResults: 4 }))))).name).toBe('InvalidParameterValue');
    const sizes: number[] = [];
    let token: string | undefined;
    do {
      const page = await clock.run(() => ec2.send(new DescribeInstancesCommand({ MaxResults: 1000, NextToken: token })));
      sizes.push((page.Reservations ?? []).reduce((a, r) => a + (r.Instances?.length ?? 0), 0));
      token = page.NextToken;
    } while (token);
    expect(sizes).toEqual([1000, 1000, 500]);
  });

  it('rejects DescribeInstanceInformation MaxResults above 50 and lists only managed nodes', async () => {
    const { clock, account, ssm, fleet } = setup(300);
    current = account;
    expect((await errorOf(clock.run(() => ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 51 }))))).name).toBe('ValidationException');
    let token: string | undefined;
    let total = 0;
    let pages = 0;
    do {
      const page = await clock.run(() => ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 50, NextToken: token })));
      expect(page.InstanceInformationList!.length).toBeLessThanOrEqual(50);
      total += page.InstanceInformationList!.length;
      pages++;
      token = page.NextToken;
    } while (token);
    const managed = fleet.filter((x) => x.ssm !== 'unmanaged').length;
    expect(total).toBe(managed);
    expect(pages).toBe(Math.ceil(managed / 50));
  });

  it('answers an InstanceIds filter with the managed nodes among those ids only, in one page of at most 50', async () => {
    const { clock, account, ssm, fleet } = setup(300);
    current = account;
    const ids = fleet.slice(100, 150).map((x) => x.id);
    const page = await clock.run(() => ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 50, Filters: [{ Key: 'InstanceIds', Values: ids }] })));
    const expected = fleet.slice(100, 150).filter((x) => x.ssm !== 'unmanaged').map((x) => x.id).sort();
    expect(page.InstanceInformationList!.map((i) => i.InstanceId).sort()).toEqual(expected);
    expect(expected.length).toBeLessThan(50);
    expect(page.NextToken).toBeUndefined();
  });

  it('pages DescribeInstances from the token on, each running instance once, however the filter thins the list', async () => {
    const { clock, account, ec2, fleet } = setup(2500);
    current = account;
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await clock.run(() => ec2.send(new DescribeInstancesCommand({ MaxResults: 1000, NextToken: token, Filters: [{ Name: 'platform', Values: ['windows'] }] })));
      for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) seen.push(i.InstanceId!);
      token = page.NextToken;
    } while (token);
    expect(seen).toEqual(fleet.filter((x) => x.platform === 'windows').map((x) => x.id).sort());
  });
});

describe('Run Command', () => {
  const online = (f: SimInstance[]) => f.filter((x) => x.ssm === 'Online');

  it('rejects a SendCommand of 51 instance ids with the real ValidationException', async () => {
    const { clock, account, ssm, fleet } = setup(200);
    current = account;
    const ids = online(fleet).slice(0, 51).map((x) => x.id);
    const e = await errorOf(clock.run(() => ssm.send(new SendCommandCommand({ DocumentName: 'TimeSyncGuard-Collect', InstanceIds: ids }))));
    expect(e.name).toBe('ValidationException');
    expect(e.message).toMatch(/Member must have length less than or equal to 50/);
  });

  it('rejects unmanaged instance ids with InvalidInstanceId', async () => {
    const { clock, account, ssm, fleet } = setup(200);
    current = account;
    const unmanaged = fleet.find((x) => x.ssm === 'unmanaged')!;
    const e = await errorOf(clock.run(() => ssm.send(new SendCommandCommand({ DocumentName: 'TimeSyncGuard-Collect', InstanceIds: [unmanaged.id] }))));
    expect(e.name).toBe('InvalidInstanceId');
  });

  it('cuts Details output at 2,500 characters while GetCommandInvocation returns the whole report', async () => {
    const { clock, account, ssm, fleet } = setup(50, {
      // A plain (uncompressed) long report: the one kind of output still over the cap.
      mutate: (f) => f.forEach((x, k) => Object.assign(x, { ssm: 'Online', guest: 'normal', platform: 'linux', scenario: k === 0 ? 'chrony-amazon-long' : 'chrony-amazon', plainReport: k === 0 })),
    });
    current = account;
    const long = fleet[0]!;
    expect(collectorReport(long, 1_767_225_600).length).toBeGreaterThan(DETAILS_OUTPUT_CAP);
    const sent = await clock.run(() => ssm.send(new SendCommandCommand({ DocumentName: 'TimeSyncGuard-Collect', InstanceIds: [long.id], MaxConcurrency: '50' })));
    const commandId = sent.Command!.CommandId!;
    await clock.run(() => clock.sleep(30_000));
    const listed = await clock.run(() => ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true, MaxResults: 50 })));
    const output = listed.CommandInvocations![0]!.CommandPlugins![0]!.Output!;
    expect(output).toHaveLength(DETAILS_OUTPUT_CAP);
    expect(output).not.toContain('TSG-END');
    const full = await clock.run(() => ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: long.id })));
    expect(full.StandardOutputContent!.length).toBeGreaterThan(DETAILS_OUTPUT_CAP);
    expect(full.StandardOutputContent).toContain('TSG-END');
    // The full report is a real one: the real diagnosis reads it as synchronised to Amazon Time Sync.
    expect(diagnose(full.StandardOutputContent!).timeSource).toBe('amazon-ipv4');
  });

  it('ramps delivery 1, 3, 7… and moves invocations Pending → InProgress → Success on virtual time', async () => {
    const { clock, account, ssm, fleet } = setup(50, {
      mutate: (f) => f.forEach((x) => Object.assign(x, { ssm: 'Online', guest: 'normal', platform: 'linux', scenario: 'chrony-amazon' })),
    });
    current = account;
    const ids = fleet.map((x) => x.id);
    const sent = await clock.run(() => ssm.send(new SendCommandCommand({ DocumentName: 'TimeSyncGuard-Collect', InstanceIds: ids, MaxConcurrency: '50' })));
    const commandId = sent.Command!.CommandId!;
    const counts = async () => {
      const all = [];
      let token: string | undefined;
      do {
        const p = await clock.run(() => ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, MaxResults: 50, NextToken: token })));
        all.push(...p.CommandInvocations!);
        token = p.NextToken;
      } while (token);
      const by: Record<string, number> = {};
      for (const inv of all) by[inv.Status!] = (by[inv.Status!] ?? 0) + 1;
      return by;
    };
    // Right after sending: the first wave (1) has started, the rest waits.
    expect((await counts())['InProgress']).toBe(1);
    await clock.run(() => clock.sleep(1000));
    expect((await counts())['InProgress']).toBe(3);
    await clock.run(() => clock.sleep(20_000));
    expect(await counts()).toEqual({ Success: 50 });
    const cmd = await clock.run(() => ssm.send(new ListCommandsCommand({ CommandId: commandId })));
    expect(cmd.Commands![0]!.Status).toBe('Success');
  });

  it('throttles SSM calls beyond the configured rate with ThrottlingException', async () => {
    const { clock, account, ssm } = setup(100, { ssmBucket: { capacity: 10, refillPerSecond: 5 } });
    current = account;
    const results = await clock.run(() =>
      Promise.allSettled(Array.from({ length: 15 }, () => ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 50 })))),
    );
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(5);
    expect((rejected[0]!.reason as Error).name).toBe('ThrottlingException');
  });

  it('reports an instance terminated before delivery as Undeliverable, never Success', async () => {
    const { clock, account, ssm, fleet } = setup(10, {
      mutate: (f) => f.forEach((x, k) => Object.assign(x, { ssm: 'Online', guest: 'normal', platform: 'linux', scenario: 'chrony-amazon', vanishAfterMs: k === 5 ? 2000 : undefined })),
    });
    current = account;
    account.startRun();
    const ids = fleet.map((x) => x.id);
    const sent = await clock.run(() => ssm.send(new SendCommandCommand({ DocumentName: 'TimeSyncGuard-Collect', InstanceIds: ids, MaxConcurrency: '50' })));
    await clock.run(() => clock.sleep(30_000));
    const inv = await clock.run(() => ssm.send(new GetCommandInvocationCommand({ CommandId: sent.Command!.CommandId!, InstanceId: fleet[5]!.id })));
    expect(inv.StatusDetails).toBe('Undeliverable');
    expect(inv.Status).not.toBe('Success');
  });
});
