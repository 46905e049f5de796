import 'aws-sdk-client-mock-jest';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DescribeInstancesCommand, EC2Client, ModifyInstanceMetadataOptionsCommand } from '@aws-sdk/client-ec2';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DEFAULT_RUN_COMMAND_MODEL, deliveryMakespanMs, type SimAccountOptions } from '../../bench/sim/account';
import { type InvocationScript, type SimInstance, simInstance } from '../../bench/sim/fleet';
import { SIM_DOCUMENT_PINS, simDocumentHash } from '../../bench/sim/ssm';
import { AUDIT_DETAIL_TYPES, createEventBridgeAudit } from '../../lambda/aws/audit';
import { VirtualClock } from '../../lambda/aws/clock';
import { createEc2ImdsPort } from '../../lambda/aws/imds';
import { createSnsNotifier } from '../../lambda/aws/notify';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import { formatRemediationLine, parseRemediationOutput } from '../../lambda/core/remediation/guest-result';
import { parseSettings, type Settings } from '../../lambda/core/settings';
import type { CheckState, InstanceEvaluation, TimeSource } from '../../lambda/core/types';
import {
  ContinuationError,
  decodeContinuation,
  encodeContinuation,
  CONTINUATION_MAX_AGE_MS,
  type RemediationDeps,
  type RemediationOptions,
  runRemediation,
  signContinuationPayload,
} from '../../lambda/engine/remediate';
import { GUEST_PHASE } from '../../lambda/engine/remediation/guest-phase';
import { IMDS_PHASE, imdsStages } from '../../lambda/engine/remediation/imds-phase';
import type { ImdsPhaseItem } from '../../lambda/engine/remediation/imds-phase';
import type { ActionPhase } from '../../lambda/engine/remediation/phase';
import type { GuestItem } from '../../lambda/engine/remediation/state';
import { ACTION_PHASES, RUN_PHASES } from '../../lambda/engine/remediation/phases';
import { type SimTestAccount, useSimAccount } from '../support/sim';

const sim = useSimAccount();
const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:tsg';

const id = (k: number): string => `i-0${String(k).padStart(16, '0')}`;
const KEY = Buffer.from('test-continuation-key-0123456789abcdef0123456789abcdef');
/** The guest document's phase: its items travel in the continuation under `actions.guest`. */
/** The codecs of the phases whose items these tests carry in continuations. */
const GUEST = [IMDS_PHASE as unknown as ActionPhase, GUEST_PHASE as unknown as ActionPhase];
const OPT_OUT = 'timesync-guard:opt-out';
/** Running instances as DescribeInstances sees them (hop limit 2; the guest step re-reads them before each wave). */
const running = (ids: readonly string[], script?: InvocationScript): SimInstance[] => ids.map((i) => simInstance(i, script ? { script } : {}));

/** The simulated account over `fleet` on a fresh clock (no latency); `account.clock` is the test's clock. */
function simulate(fleet: SimInstance[], options: SimAccountOptions = {}): SimTestAccount {
  return sim.simulate(fleet, options);
}

/** Every successful ModifyInstanceMetadataOptions, by instance in the order of their first change (an instance changed twice appears twice). */
function modified(): string[] {
  return [...sim.account.modified].flatMap(([i, n]) => Array.from({ length: n }, () => i));
}

function ev(
  instanceId: string,
  o: { hop?: number; containers?: boolean; timeSource?: TimeSource; checkState?: CheckState; optedOut?: boolean; endpoint?: 'enabled' | 'disabled' } = {},
): InstanceEvaluation {
  const checkState = o.optedOut ? 'opted-out' : (o.checkState ?? 'checked');
  return {
    instanceId,
    platform: 'linux',
    status: o.optedOut ? 'opted-out' : 'at-risk',
    checkState,
    findings: [],
    imds: { hopLimit: o.hop ?? 1, httpEndpoint: o.endpoint ?? 'enabled', httpTokens: 'required', state: 'applied' },
    hasInstanceProfile: true,
    verdict:
      checkState === 'checked'
        ? {
            platform: 'linux',
            daemon: 'chrony',
            timeSource: o.timeSource ?? 'amazon-ipv4',
            synchronized: true,
            offsetSeconds: 0,
            clockErrorBoundSeconds: 0.001,
            containers: o.containers ?? true,
            // As diagnose judges it: off Amazon Time Sync is at risk (only at-risk verdicts get a guest fix).
            status: /^amazon-/.test(o.timeSource ?? 'amazon-ipv4') ? 'ok' : 'at-risk',
            findings: [],
          }
        : undefined,
  };
}

function settings(over: Partial<Settings> = {}): Settings {
  return { ...parseSettings({ ...SIM_DOCUMENT_PINS, TSG_TOPIC_ARN: TOPIC }), maxChangesPercent: 100, maxChangesPerRun: 100_000, fixTimeSync: false, ...over };
}

/** `n` running instances with hop limit 1 (each needs the raise). */
function ec2Fleet(n: number, make: (k: number) => Partial<SimInstance> = () => ({})): SimInstance[] {
  return Array.from({ length: n }, (_, k) => simInstance(id(k), { hopLimit: 1, ...make(k) }));
}

function deps(clock: VirtualClock, evaluations: InstanceEvaluation[], over: Partial<RemediationDeps> = {}) {
  // Every client below talks to the simulated account: never build them without one on this clock.
  if (sim.account.clock !== clock) throw new Error('simulate the account first, and use its clock');
  const ec2 = new EC2Client({});
  const metrics = jest.fn();
  const check = jest.fn(async () => ({ evaluations }));
  const d: RemediationDeps = {
    clock,
    check,
    imds: (bucketState) => createEc2ImdsPort({ ec2, clock, optOutTagKey: OPT_OUT, ...(bucketState ? { bucketState } : {}) }),
    runCommand: new SsmRunCommand({ ssm: new SSMClient({}), clock }),
    parseOutput: parseRemediationOutput,
    audit: createEventBridgeAudit({ events: new EventBridgeClient({}), source: 'timesync-guard', sleep: (ms) => clock.sleep(ms) }),
    continuationKey: async () => KEY,
    notifier: createSnsNotifier({ sns: new SNSClient({}), topicArn: TOPIC }),
    metrics,
    newRunId: () => 'run-1',
    ...over,
  };
  return { d, metrics, check };
}

const far = (clock: VirtualClock, extra: Partial<RemediationOptions> = {}): RemediationOptions => ({ deadline: clock.now() + 3_600_000, ...extra });

function auditEntries(): PutEventsRequestEntry[] {
  return sim.events.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);
}
function actions(): Record<string, unknown>[] {
  return auditEntries()
    .filter((e) => e.DetailType === AUDIT_DETAIL_TYPES.action)
    .map((e) => JSON.parse(e.Detail!) as Record<string, unknown>);
}
function modifyInputs(): Record<string, unknown>[] {
  return sim.ec2.commandCalls(ModifyInstanceMetadataOptionsCommand).map((c) => c.args[0].input as unknown as Record<string, unknown>);
}

describe('runRemediation: IMDS hop limit', () => {
  it('raises only, never lowers: hop 1 → 2, hop 3 with target 2 untouched', async () => {
    const { clock, byId } = simulate([simInstance('i-low', { hopLimit: 1 }), simInstance('i-high', { hopLimit: 3 })]);
    const { d } = deps(clock, [ev('i-low', { hop: 1 }), ev('i-high', { hop: 3 })]);
    const out = await runRemediation(d, settings({ hopLimitScope: 'all' }), {}, far(clock));
    expect(out.done).toBe(true);
    expect(modified()).toEqual(['i-low']);
    expect(byId.get('i-high')!.hopLimit).toBe(3);
    expect(byId.get('i-low')!.hopLimit).toBe(2);
    expect(out.summary.counts).toEqual(expect.objectContaining({ attempted: 1, succeeded: 1, failed: 0 }));
  });

  it('never lowers even when the hop limit rose between the check and the change (fresh data wins)', async () => {
    // The check saw 1; by the time we act someone set 5.
    const { clock, byId } = simulate([simInstance('i-a', { hopLimit: 5 })]);
    const { d } = deps(clock, [ev('i-a', { hop: 1 })]);
    const out = await runRemediation(d, settings(), {}, far(clock));
    expect(sim.ec2).toHaveReceivedCommandTimes(ModifyInstanceMetadataOptionsCommand, 0);
    expect(byId.get('i-a')!.hopLimit).toBe(5);
    expect(actions()).toContainEqual(expect.objectContaining({ instanceId: 'i-a', action: 'raise-hop-limit', outcome: 'skipped', reason: 'already-compliant' }));
    expect(out.summary.counts.attempted).toBe(0);
  });

  it('passes only the option that changes', async () => {
    const { clock } = simulate([simInstance('i-hop', { hopLimit: 1 }), simInstance('i-ep', { hopLimit: 2, httpEndpoint: 'disabled' })]);
    const { d } = deps(clock, [ev('i-hop', { hop: 1 }), ev('i-ep', { hop: 2, endpoint: 'disabled' })]);
    await runRemediation(d, settings({ enableMetadataEndpoint: true }), {}, far(clock));
    expect(sim.ec2).toHaveReceivedCommandWith(ModifyInstanceMetadataOptionsCommand, { InstanceId: 'i-hop', HttpPutResponseHopLimit: 2 });
    expect(sim.ec2).toHaveReceivedCommandWith(ModifyInstanceMetadataOptionsCommand, { InstanceId: 'i-ep', HttpEndpoint: 'enabled' });
    const byId = new Map(modifyInputs().map((i) => [i.InstanceId, i]));
    expect(Object.keys(byId.get('i-hop')!).sort()).toEqual(['HttpPutResponseHopLimit', 'InstanceId']);
    expect(Object.keys(byId.get('i-ep')!).sort()).toEqual(['HttpEndpoint', 'InstanceId']);
    for (const i of modifyInputs()) {
      for (const k of ['HttpTokens', 'HttpProtocolIpv6', 'InstanceMetadataTags', 'DryRun']) expect(i).not.toHaveProperty(k);
    }
  });

  it('verifies that each change reached state applied before calling it a success', async () => {
    // EC2 keeps each change pending 12 s: the first two verify polls (every 5 s) still see `pending`.
    const { clock } = simulate(ec2Fleet(3), { runCommand: { metadataApplyMs: 12_000 } });
    const { d } = deps(clock, [0, 1, 2].map((k) => ev(id(k))));
    const out = await runRemediation(d, settings(), {}, far(clock));
    expect(out.summary.counts.succeeded).toBe(3);
    const verified = actions().filter((a) => a.outcome === 'verified');
    expect(verified).toHaveLength(3);
    expect(verified[0]).toEqual(expect.objectContaining({ after: expect.objectContaining({ hopLimit: 2, state: 'applied' }) }));
  });

  it('a change that stays pending past the bounded wait is a failure, reported as one', async () => {
    const { clock } = simulate([simInstance('i-stuck', { hopLimit: 1, metadataApplyMs: Number.POSITIVE_INFINITY }), simInstance('i-ok', { hopLimit: 1 })]);
    const { d, metrics } = deps(clock, [ev('i-stuck'), ev('i-ok')]);
    const start = clock.now();
    const out = await runRemediation(d, settings(), {}, far(clock, { verifyTimeoutMs: 60_000, verifyPollMs: 5_000 }));
    expect(out.done).toBe(true);
    expect(actions()).toContainEqual(
      expect.objectContaining({ instanceId: 'i-stuck', outcome: 'failed', reason: 'not-applied', after: expect.objectContaining({ state: 'pending' }) }),
    );
    expect(actions()).toContainEqual(expect.objectContaining({ instanceId: 'i-ok', outcome: 'verified' }));
    expect(out.summary.counts).toEqual(expect.objectContaining({ succeeded: 1, failed: 1 }));
    // Bounded: it gave up about when the wait ran out, not later.
    expect(clock.now() - start).toBeGreaterThanOrEqual(60_000);
    expect(clock.now() - start).toBeLessThan(60_000 + 15_000);
    expect(metrics).toHaveBeenCalledWith(expect.objectContaining({ failed: 1, succeeded: 1, completed: 1 }));
  });

  it('absorbs RequestLimitExceeded bursts without losing an instance or changing one twice', async () => {
    const n = 150;
    // Bursts: 12 throttles in a row out of every 20 calls, and one instance throttled 10 times in a row (past one retry budget).
    let stubborn = 0;
    const throttle = (action: string, input: { InstanceId?: string }, call: number): boolean => {
      if (action !== 'ModifyInstanceMetadataOptions') return false;
      if (input.InstanceId === id(7) && stubborn < 10) {
        stubborn++;
        return true;
      }
      return call % 20 < 12 && call < 400;
    };
    const account = simulate(ec2Fleet(n), { throttle });
    const clock = account.clock;
    const { d } = deps(clock, Array.from({ length: n }, (_, k) => ev(id(k))));
    const out = await runRemediation(d, settings(), {}, far(clock));
    expect(out.done).toBe(true);
    expect(account.stats.throttled['ModifyInstanceMetadataOptions']).toBeGreaterThan(100);
    expect(new Set(modified()).size).toBe(n);
    expect(modified()).toHaveLength(n);
    expect(account.fleet.every((i) => i.hopLimit === 2)).toBe(true);
    expect(out.summary.counts).toEqual(expect.objectContaining({ attempted: n, succeeded: n, failed: 0 }));
  });

  it('sustained DescribeInstances throttling delays the work but loses nothing', async () => {
    // The first 12 describes (more than one call's retry budget) and every third one later are throttled.
    const { clock } = simulate(ec2Fleet(120), { throttle: (action, _input, call) => action === 'DescribeInstances' && (call < 12 || call % 3 === 0) });
    const { d } = deps(clock, Array.from({ length: 120 }, (_, k) => ev(id(k))));
    const out = await runRemediation(d, settings(), {}, far(clock, { imdsChunkSize: 50 }));
    expect(out.done).toBe(true);
    expect(new Set(modified()).size).toBe(120);
    expect(modified()).toHaveLength(120);
    expect(out.summary.counts).toEqual(expect.objectContaining({ attempted: 120, succeeded: 120, failed: 0 }));
  });

  it('a Describe error that is not throttling (e.g. access denied) fails the run loudly instead of guessing', async () => {
    // Every describe is denied (more denials than any retry budget would try).
    const denied = Array.from({ length: 20 }, () => Object.assign(new Error('no'), { name: 'UnauthorizedOperation' }));
    const { clock } = simulate(ec2Fleet(2), { failures: { DescribeInstances: denied } });
    const { d } = deps(clock, [ev(id(0)), ev(id(1))]);
    await expect(runRemediation(d, settings(), {}, far(clock))).rejects.toThrow(/no/);
    expect(sim.ec2).toHaveReceivedCommandTimes(ModifyInstanceMetadataOptionsCommand, 0);
  });

  it('paces Modify calls to the token bucket: 300 changes take ≥ (300 − 100)/5 = 40 s of clock time', async () => {
    const times: number[] = [];
    const { clock } = simulate(ec2Fleet(300));
    const { d } = deps(clock, Array.from({ length: 300 }, (_, k) => ev(id(k))), {
      imds: (b) => {
        const port = createEc2ImdsPort({ ec2: new EC2Client({}), clock, ...(b ? { bucketState: b } : {}) });
        return { ...port, modify: async (r) => { const res = await port.modify(r); times.push(clock.now()); return res; } };
      },
    });
    await runRemediation(d, settings(), {}, far(clock));
    expect(times).toHaveLength(300);
    expect(times[299]! - times[0]!).toBeGreaterThanOrEqual(39_800);
    // Never more than capacity + rate × window in any window.
    for (let i = 0; i < times.length; i++) {
      const windowEnd = times[i]! + 10_000;
      const inWindow = times.filter((t) => t >= times[i]! && t < windowEnd).length;
      expect(inWindow).toBeLessThanOrEqual(100 + 50 + 1);
    }
  });

  it('an instance terminated since the check is skipped as gone, not failed and not retried forever', async () => {
    const { clock } = simulate([simInstance('i-gone', { hopLimit: 1, vanishAfterMs: 0 })]);
    const { d } = deps(clock, [ev('i-gone')]);
    const out = await runRemediation(d, settings(), {}, far(clock));
    expect(out.done).toBe(true);
    expect(sim.ec2).toHaveReceivedCommandTimes(ModifyInstanceMetadataOptionsCommand, 0);
    expect(actions()).toContainEqual(expect.objectContaining({ instanceId: 'i-gone', outcome: 'skipped', reason: 'instance-gone' }));
  });

  it('describes in batches of at most 200 ids (the non-mutating bucket, not one call per instance)', async () => {
    const account = simulate(ec2Fleet(450));
    const clock = account.clock;
    const { d } = deps(clock, Array.from({ length: 450 }, (_, k) => ev(id(k))));
    await runRemediation(d, settings(), {}, far(clock, { imdsChunkSize: 150 }));
    for (const c of sim.ec2.commandCalls(DescribeInstancesCommand)) {
      expect(c.args[0].input.Filters![0]!.Values!.length).toBeLessThanOrEqual(200);
    }
    expect(account.stats.calls['DescribeInstances']).toBeLessThan(450 / 10);
  });
});

describe('runRemediation: guardrails', () => {
  it.each`
    count   | percent | fleet  | changed
    ${7}    | ${100}  | ${20}  | ${7}
    ${500}  | ${25}   | ${20}  | ${5}
    ${3}    | ${25}   | ${20}  | ${3}
    ${0}    | ${100}  | ${20}  | ${0}
  `('caps: count $count, percent $percent of $fleet → $changed changes', async ({ count, percent, fleet, changed }) => {
    const { clock } = simulate(ec2Fleet(fleet));
    const { d } = deps(clock, Array.from({ length: fleet }, (_, k) => ev(id(k))));
    const out = await runRemediation(d, settings({ maxChangesPerRun: count, maxChangesPercent: percent }), {}, far(clock));
    expect(modified()).toHaveLength(changed);
    expect(modified()).toEqual(Array.from({ length: changed }, (_, k) => id(k)));
    expect(actions().filter((a) => a.reason === 'cap-reached')).toHaveLength(fleet - changed);
    expect(out.summary.cap).toBe(changed);
  });

  it('dry run: zero Modify calls, zero SendCommand, every would-be action audited as planned and skipped(dry-run)', async () => {
    const { clock } = simulate(ec2Fleet(4));
    const evs = [ev(id(0)), ev(id(1), { timeSource: 'other' }), ev(id(2), { hop: 2, timeSource: 'other' }), ev(id(3), { optedOut: true })];
    const { d, metrics } = deps(clock, evs);
    const out = await runRemediation(d, settings({ dryRun: true, fixTimeSync: true }), {}, far(clock));
    expect(out.done).toBe(true);
    expect(sim.ec2).toHaveReceivedCommandTimes(ModifyInstanceMetadataOptionsCommand, 0);
    expect(sim.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 0);
    const a = actions();
    expect(a.every((x) => x.dryRun === true)).toBe(true);
    expect(a.filter((x) => x.outcome === 'planned').map((x) => [x.instanceId, x.action])).toEqual([
      [id(0), 'raise-hop-limit'],
      [id(1), 'raise-hop-limit'],
      [id(1), 'enable-amazon-time-sync'],
      [id(2), 'enable-amazon-time-sync'],
    ]);
    expect(a.filter((x) => x.reason === 'dry-run')).toHaveLength(4);
    expect(out.summary).toEqual(expect.objectContaining({ dryRun: true, plannedInstances: 3 }));
    expect(out.summary.counts).toEqual(expect.objectContaining({ attempted: 0, succeeded: 0 }));
    expect(sim.sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: TOPIC, Subject: expect.stringContaining('dry run') });
    expect(metrics).toHaveBeenCalledWith(expect.objectContaining({ attempted: 0, completed: 1 }));
  });

  it('opted-out instances are never touched and the skip says why', async () => {
    const { clock } = simulate(ec2Fleet(2));
    const { d } = deps(clock, [ev(id(0), { optedOut: true }), ev(id(1))]);
    await runRemediation(d, settings({ hopLimitScope: 'all' }), {}, far(clock));
    expect(modified()).toEqual([id(1)]);
    expect(actions()).toContainEqual(expect.objectContaining({ instanceId: id(0), outcome: 'skipped', reason: 'opted-out' }));
  });
});

describe('runRemediation: audit', () => {
  it('emits every action as an EventBridge event on the default bus, ≤ 10 entries per call, with the documented detail', async () => {
    const { clock } = simulate(ec2Fleet(23));
    const { d } = deps(clock, Array.from({ length: 23 }, (_, k) => ev(id(k))));
    await runRemediation(d, settings(), {}, far(clock));
    for (const c of sim.events.commandCalls(PutEventsCommand)) {
      expect(c.args[0].input.Entries!.length).toBeLessThanOrEqual(10);
      for (const e of c.args[0].input.Entries!) {
        expect(e.Source).toBe('timesync-guard');
        expect(e.EventBusName).toBeUndefined();
      }
    }
    const a = actions();
    // planned, applied, verified for each of 23 instances.
    expect(a).toHaveLength(69);
    const first = a.find((x) => x.instanceId === id(0) && x.outcome === 'applied')!;
    expect(first).toEqual({
      runId: 'run-1',
      instanceId: id(0),
      action: 'raise-hop-limit',
      outcome: 'applied',
      before: { hopLimit: 1, httpEndpoint: 'enabled' },
      after: { hopLimit: 2 },
      dryRun: false,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const summaries = auditEntries().filter((e) => e.DetailType === AUDIT_DETAIL_TYPES.summary);
    expect(summaries).toHaveLength(1);
    expect(JSON.parse(summaries[0]!.Detail!)).toEqual(expect.objectContaining({ runId: 'run-1', done: true, counts: expect.objectContaining({ succeeded: 23 }) }));
  });

  it('retries entries EventBridge rejected and counts what is finally lost instead of hiding it', async () => {
    // The first call rejects its second entry once; later, everything is accepted.
    const { clock } = simulate(ec2Fleet(1), { rejectEntry: (call, entry, entries) => call === 0 && entries > 1 && entry === 1 });
    const { d } = deps(clock, [ev(id(0)), ev(id(1), { optedOut: true })]);
    const out = await runRemediation(d, settings({ hopLimitScope: 'all' }), {}, far(clock));
    expect(out.summary.auditLost).toBe(0);
    const [firstCall, secondCall] = sim.events.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!);
    expect(firstCall!.length).toBeGreaterThan(1);
    const resent = secondCall!;
    expect(resent).toHaveLength(1);
    // The resend is the rejected entry itself, and it reached the bus.
    expect(resent[0]).toEqual(firstCall![1]);
    expect(sim.account.eventCount).toBe(auditEntries().length - 1);
  });
});

describe('runRemediation: continuation', () => {
  it('a run that would exceed the Lambda time stops cleanly and continues; no change is made twice and the check runs once', async () => {
    const n = 300;
    const { clock } = simulate(ec2Fleet(n));
    const { d, check, metrics } = deps(clock, Array.from({ length: n }, (_, k) => ev(id(k))));
    const s = settings();
    // 100 burst + 5/s: 300 changes need ≥ 40 s; give the first invocation 25 s.
    const first = await runRemediation(d, s, {}, { deadline: clock.now() + 25_000, reserveMs: 2_000 });
    expect(first.done).toBe(false);
    expect(first.continuation).toEqual(expect.any(String));
    expect(first.summary.pending.imds).toBeGreaterThan(0);
    expect(metrics).not.toHaveBeenCalled();
    expect(sim.sns).toHaveReceivedCommandTimes(PublishCommand, 0);
    const doneFirst = modified().length;
    expect(doneFirst).toBeGreaterThan(100);
    expect(doneFirst).toBeLessThan(n);

    let result = first;
    let invocations = 1;
    while (!result.done && invocations < 10) {
      result = await runRemediation(d, s, { continuation: result.continuation }, { deadline: clock.now() + 25_000, reserveMs: 2_000 });
      invocations++;
    }
    expect(result.done).toBe(true);
    expect(check).toHaveBeenCalledTimes(1);
    expect(modified()).toHaveLength(n);
    expect(new Set(modified()).size).toBe(n);
    expect(result.summary.counts).toEqual(expect.objectContaining({ planned: n, attempted: n, succeeded: n, failed: 0 }));
    expect(result.summary.invocations).toBe(invocations);
    expect(metrics).toHaveBeenCalledTimes(1);
    expect(sim.sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(actions().filter((a) => a.outcome === 'planned')).toHaveLength(n);
  });

  it('never overruns its deadline while pacing', async () => {
    const { clock } = simulate(ec2Fleet(400));
    const { d } = deps(clock, Array.from({ length: 400 }, (_, k) => ev(id(k))));
    const deadline = clock.now() + 30_000;
    const r = await runRemediation(d, settings(), {}, { deadline, reserveMs: 3_000 });
    expect(r.done).toBe(false);
    expect(clock.now()).toBeLessThanOrEqual(deadline);
  });

  it('the continuation for 10,000 pending instances stays well under the 256 KB Step Functions payload', () => {
    const now = 1_800_000_000_000;
    const state = decodeContinuation(
      encodeContinuation({
        runId: 'x', startedAt: now - 3_600_000, invocations: 1, phase: 'imds', dryRun: false, fleetSize: 10_000, cap: 10_000, plannedInstances: 10_000,
        counts: { planned: 0, attempted: 0, succeeded: 0, failed: 0, rolledBack: 0, skipped: 0 }, reasons: {},
        guestPlanned: 0, guestFailures: 0, guestStopped: false, auditLost: 0,
      }, KEY, now),
      KEY,
      now,
    );
    const rnd = (): string => `i-0${Array.from({ length: 16 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('')}`;
    const ids = Array.from({ length: 10_000 }, rnd);
    // Pending hop raises carry no target (1 = "raise to the configured one"), so the round trip keeps 1.
    // The IMDS phase's list: the changes made (verifying) first, then those to make.
    state.actions = {
      imds: [...ids.slice(0, 100).map((i) => ({ id: i, hop: 2, endpoint: false, at: 1_800_000_000_000, seen: 0 })), ...ids.map((i) => ({ id: i, hop: 1, from: 1, endpoint: false }))] as ImdsPhaseItem[],
      guest: ids.map((i) => ({ id: i, platform: 'linux', ipv6: false })),
    };
    state.reasons = { 'skipped:cap-reached': 3 };
    const text = encodeContinuation(state, KEY, now, GUEST);
    // Every instance pending in both phases, with random ids (no compression luck).
    console.info(`continuation for 10,000 pending instances: ${text.length} bytes`);
    expect(text.length).toBeLessThan(160_000);
    expect(decodeContinuation(text, KEY, now, GUEST)).toEqual(state);
    expect(imdsStages(decodeContinuation(text, KEY, now, GUEST)).pending).toHaveLength(10_000);
    expect(decodeContinuation(text, KEY, now, GUEST).actions!.guest![9_999]!.id).toBe(ids[9_999]);
  });

  it.each([['not base64 at all'], [Buffer.from('{"v":1}').toString('base64')], ['']])('a malformed continuation %p is refused with a clear error, never guessed at', async (bad) => {
    if (bad === '') return; // empty means "start a new run" (the state machine's first call)
    const { clock } = simulate([]);
    const { d } = deps(clock, []);
    await expect(runRemediation(d, settings(), { continuation: bad }, far(clock))).rejects.toThrow(ContinuationError);
  });
});

describe('runRemediation: in-guest step', () => {
  const line = (result: string, reason = ''): string =>
    `progress…\n${formatRemediationLine({ result: result as 'changed', daemon: 'chrony', action: 'add-source', reason })}\n`;

  it.each`
    output                               | status      | outcome          | reason
    ${line('changed')}                   | ${'Success'} | ${'verified'}    | ${undefined}
    ${line('already-compliant')}         | ${'Success'} | ${'skipped'}     | ${'already-compliant'}
    ${line('skipped', 'no-daemon')}      | ${'Success'} | ${'skipped'}     | ${'no-daemon'}
    ${line('rolled-back', 'not-synced')} | ${'Failed'}  | ${'rolled-back'} | ${'not-synced'}
    ${line('failed', 'validation')}      | ${'Failed'}  | ${'failed'}      | ${'validation'}
    ${'Segmentation fault\n'}            | ${'Failed'}  | ${'failed'}      | ${'unknown-result:no-result-line'}
    ${'TSG-REMEDIATE v1 result=changed'} | ${'Success'} | ${'failed'}      | ${'unknown-result:garbled-result-line'}
    ${undefined}                         | ${'TimedOut'} | ${'failed'}     | ${'invocation-timed-out'}
  `('guest output → $outcome ($reason)', async ({ output, status, outcome, reason }) => {
    // No output at all (a timed-out invocation) is an empty stdout.
    const { clock } = simulate(running(['i-g'], { status, output: output ?? '' }));
    const { d } = deps(clock, [ev('i-g', { hop: 2, timeSource: 'other' })]);
    const out = await runRemediation(d, settings({ fixTimeSync: true }), {}, far(clock, { guestVerifySeconds: 5, guestWaveBudgetMs: 120_000 }));
    expect(out.done).toBe(true);
    const a = actions().filter((x) => x.action === 'enable-amazon-time-sync' && x.outcome !== 'planned');
    expect(a).toEqual([expect.objectContaining({ instanceId: 'i-g', outcome, ...(reason ? { reason } : {}) })]);
    const c = out.summary.counts;
    expect(c.attempted).toBe(1);
    if (outcome === 'verified') expect(c.succeeded).toBe(1);
    if (outcome === 'rolled-back') expect(c.rolledBack).toBe(1);
    if (outcome === 'failed') expect(c.failed).toBe(1);
  });

  it('sends the stack document with the settings as parameters, Endpoint ipv6 only for IPv6-only instances, ≤ 50 ids per call', async () => {
    const ids = Array.from({ length: 70 }, (_, k) => id(k));
    const { clock } = simulate(running(ids, { output: line('changed') }), { documents: { 'Stack-Remediate': 'remediate' } });
    const { d } = deps(clock, ids.map((i) => ev(i, { hop: 2, timeSource: 'other' })), {
      check: async () => ({ evaluations: ids.map((i) => ev(i, { hop: 2, timeSource: 'other' })), ipv6Only: new Set([id(3)]) }),
    });
    const pin = simDocumentHash('Stack-Remediate');
    const out = await runRemediation(d, settings({ fixTimeSync: true, usePhc: true, remediationDocument: 'Stack-Remediate', remediationDocumentHash: pin, remediationMaxConcurrency: '10', remediationMaxErrors: '5' }), {}, far(clock, { guestVerifySeconds: 30 }));
    expect(out.summary.counts.succeeded).toBe(70);
    const sends = sim.ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input);
    expect(sends.every((s) => s.DocumentName === 'Stack-Remediate' && s.InstanceIds!.length <= 50 && s.MaxConcurrency === '10' && s.MaxErrors === '5')).toBe(true);
    // Pinned: SSM runs it only if its content is the one deployed.
    expect(sends.every((s) => s.DocumentHash === pin && s.DocumentHashType === 'Sha256')).toBe(true);
    const v6 = sends.filter((s) => s.Parameters!.Endpoint![0] === 'ipv6');
    expect(v6.map((s) => s.InstanceIds)).toEqual([[id(3)]]);
    expect(sends[0]!.Parameters).toEqual({
      DryRun: ['false'],
      Endpoint: ['auto'],
      UsePhc: ['true'],
      InstallChrony: ['false'],
      StepLargeOffset: ['false'],
      ForceDomainMembers: ['false'],
      VerifySeconds: ['30'],
      FixNoProxy: ['false'],
      FixTimeSync: ['true'],
      FixMixedSources: ['false'],
    });
  });

  it('sends each platform its own remediation document with its own pin: Linux and Windows never share a SendCommand', async () => {
    const ids = ['i-l1', 'i-w1', 'i-l2', 'i-w2'];
    const { clock } = simulate(running(ids, { output: line('changed') }), { documents: { 'Stack-Remediate': 'remediate', 'Stack-Remediate-Windows': 'remediate' } });
    const evaluations = ids.map((i) => ({ ...ev(i, { hop: 2, timeSource: 'other' }), platform: i.startsWith('i-w') ? ('windows' as const) : ('linux' as const) }));
    const { d } = deps(clock, evaluations, { check: async () => ({ evaluations, ipv6Only: new Set(['i-w2']) }) });
    const linuxPin = simDocumentHash('Stack-Remediate');
    const windowsPin = simDocumentHash('Stack-Remediate-Windows');
    const doc = { remediationDocument: 'Stack-Remediate', remediationDocumentHash: linuxPin, windowsRemediationDocument: 'Stack-Remediate-Windows', windowsRemediationDocumentHash: windowsPin };
    const out = await runRemediation(d, settings({ fixTimeSync: true, ...doc }), {}, far(clock, { guestVerifySeconds: 30 }));
    expect(out.summary.counts.succeeded).toBe(4);
    const sends = sim.ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input);
    const by = (name: string) => sends.filter((s) => s.DocumentName === name);
    expect(by('Stack-Remediate').flatMap((s) => s.InstanceIds).sort()).toEqual(['i-l1', 'i-l2']);
    expect(by('Stack-Remediate').every((s) => s.DocumentHash === linuxPin)).toBe(true);
    expect(by('Stack-Remediate-Windows').map((s) => [s.InstanceIds, s.Parameters!.Endpoint![0], s.DocumentHash])).toEqual(
      expect.arrayContaining([[['i-w1'], 'auto', windowsPin], [['i-w2'], 'ipv6', windowsPin]]),
    );
    expect(sends).toHaveLength(3);
  });

  it('passes fixNoProxy and fixTimeSync to the document, and runs it for the NO_PROXY step alone when time sync is off', async () => {
    const npLine = 'TSG-NO-PROXY v1 result=changed files=/etc/environment reason=services-pick-it-up-at-next-restart\n';
    const { clock } = simulate(running(['i-p'], { output: npLine + line('skipped', 'time-sync-fix-off') }));
    const e = ev('i-p', { hop: 2 });
    const withProxy = { ...e, verdict: { ...e.verdict!, status: 'at-risk' as const, findings: [{ code: 'proxy-without-no-proxy' as const, message: 'm' }] } };
    const { d } = deps(clock, [withProxy]);
    const out = await runRemediation(d, settings({ fixTimeSync: false, fixNoProxy: true }), {}, far(clock, { guestVerifySeconds: 5, guestWaveBudgetMs: 120_000 }));
    expect(out.done).toBe(true);
    const sends = sim.ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input);
    expect(sends.map((s) => [s.InstanceIds, s.Parameters!.FixNoProxy, s.Parameters!.FixTimeSync])).toEqual([[['i-p'], ['true'], ['false']]]);
    const np = actions().filter((a) => a.action === 'add-imds-no-proxy');
    expect(np.map((a) => [a.outcome, a.reason])).toEqual([
      ['planned', undefined],
      ['verified', undefined],
    ]);
    expect(np[1]!.after).toEqual({ result: 'changed', files: ['/etc/environment'], note: 'services-pick-it-up-at-next-restart' });
    expect(actions().filter((a) => a.action === 'enable-amazon-time-sync' && a.outcome === 'planned')).toEqual([]);
  });

  it.each`
    npResult               | outcome          | counted
    ${'rolled-back'}       | ${'rolled-back'} | ${true}
    ${'failed'}            | ${'failed'}      | ${true}
    ${'already-compliant'} | ${'skipped'}     | ${false}
  `('a NO_PROXY step that reports $npResult is audited $outcome and counts toward MaxErrors: $counted', async ({ npResult, outcome, counted }) => {
    // 51 instances, one batch of 50 per wave, MaxErrors 0: counted errors in the first wave stop the second.
    const ids = Array.from({ length: 51 }, (_, k) => id(k));
    const output = `TSG-NO-PROXY v1 result=${npResult} files=/etc/environment reason=write-failed\n${line('already-compliant')}`;
    const { clock } = simulate(running(ids, { output }));
    const evs = ids.map((i) => {
      const e = ev(i, { hop: 2 });
      return { ...e, verdict: { ...e.verdict!, status: 'at-risk' as const, findings: [{ code: 'proxy-without-no-proxy' as const, message: 'm' }] } };
    });
    const { d } = deps(clock, evs);
    const out = await runRemediation(d, settings({ fixNoProxy: true, remediationMaxErrors: '0' }), {}, far(clock, { guestWaveBatches: 1, guestVerifySeconds: 5, guestWaveBudgetMs: 120_000 }));
    const np = actions().filter((a) => a.action === 'add-imds-no-proxy' && a.outcome !== 'planned');
    expect(np.filter((a) => a.outcome === outcome)).toHaveLength(counted ? 50 : 51);
    expect(out.summary.guestStoppedAtMaxErrors).toBe(counted);
  });

  it('stops sending new batches once failures pass MaxErrors; the rest are skipped, not attempted', async () => {
    const ids = Array.from({ length: 150 }, (_, k) => id(k));
    const { clock } = simulate(running(ids, { status: 'Failed', output: line('rolled-back', 'not-synced') }));
    const { d } = deps(clock, ids.map((i) => ev(i, { hop: 2, timeSource: 'other' })));
    // MaxConcurrency 100%: every invocation of the batch starts (the ramp has them all going 5 s in)
    // before the guests' 5 s runs end. SSM, as the shared account models it, stops a command past its
    // own MaxErrors and cancels the invocations still queued behind MaxConcurrency; this test is about
    // the engine's brake between batches, so the whole batch runs and fails.
    const out = await runRemediation(d, settings({ fixTimeSync: true, remediationMaxErrors: '10%', remediationMaxConcurrency: '100%' }), {}, far(clock, { guestWaveBatches: 1 }));
    expect(out.done).toBe(true);
    expect(sim.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(out.summary.guestStoppedAtMaxErrors).toBe(true);
    expect(out.summary.counts).toEqual(expect.objectContaining({ attempted: 50, rolledBack: 50 }));
    expect(actions().filter((a) => a.reason === 'max-errors-reached')).toHaveLength(100);
  });

  it('acts on fresh data: the check runs first, and a failing check means no action at all', async () => {
    const { clock } = simulate(ec2Fleet(1));
    const { d } = deps(clock, [], { check: async () => { throw new Error('DescribeInstances denied'); } });
    await expect(runRemediation(d, settings(), {}, far(clock))).rejects.toThrow(/denied/);
    expect(sim.ec2).toHaveReceivedCommandTimes(ModifyInstanceMetadataOptionsCommand, 0);
  });
});

describe('runRemediation: continuation across phases', () => {
  const changed = `${formatRemediationLine({ result: 'changed', daemon: 'chrony', action: 'add-source', reason: '' })}\n`;

  it('the guest step continues in the next invocation when the next wave would not fit; each instance is sent once', async () => {
    const ids = Array.from({ length: 120 }, (_, k) => id(k));
    // Each command takes several polls (≈ 1 min of clock time, within the wave budget), as a real guest
    // step does: at the default MaxConcurrency 50% a batch of 50 runs in two rounds of 25, so a 28 s
    // guest run ends the batch 60 s after its send (the ramp starts the first round over 4 s).
    const runCommand = { guestMs: 28_000 };
    expect(deliveryMakespanMs(50, 25, { ...DEFAULT_RUN_COMMAND_MODEL, ...runCommand })).toBe(60_000);
    const { clock } = simulate(running(ids, { output: changed }), { runCommand });
    const { d, check } = deps(clock, ids.map((i) => ev(i, { hop: 2, timeSource: 'other' })));
    const s = settings({ fixTimeSync: true });
    const engine = { guestWaveBatches: 1, guestWaveBudgetMs: 100_000, reserveMs: 1_000 };
    // Room for one wave only.
    let out = await runRemediation(d, s, {}, { deadline: clock.now() + 150_000, ...engine });
    expect(out.done).toBe(false);
    expect(out.summary.phase).toBe('guest');
    expect(out.summary.pending.guest).toBe(70);
    let n = 1;
    while (!out.done && n < 10) {
      out = await runRemediation(d, s, { continuation: out.continuation }, { deadline: clock.now() + 150_000, ...engine });
      n++;
    }
    expect(out.done).toBe(true);
    expect(check).toHaveBeenCalledTimes(1);
    const sent = sim.ssm.commandCalls(SendCommandCommand).flatMap((c) => c.args[0].input.InstanceIds ?? []);
    expect(sent.sort()).toEqual([...ids].sort());
    expect(out.summary.reasons).toEqual({});
    expect(out.summary.counts).toEqual(expect.objectContaining({ attempted: 120, succeeded: 120 }));
  });

  it('sends the guest waves while the IMDS changes are still being paced, not after them', async () => {
    // 300 hop-limit changes: (300 − 100)/5 = 40 s of ModifyInstanceMetadataOptions pacing.
    const ids = Array.from({ length: 300 }, (_, k) => id(k));
    const { clock } = simulate(ec2Fleet(300, () => ({ script: { output: changed } })));
    const { d } = deps(clock, ids.map((i) => ev(i, { timeSource: 'other' })));
    const out = await runRemediation(d, settings({ hopLimitScope: 'all', fixTimeSync: true }), {}, far(clock));
    expect(out.done).toBe(true);
    const modifies = sim.ec2.commandCalls(ModifyInstanceMetadataOptionsCommand);
    const sends = sim.ssm.commandCalls(SendCommandCommand);
    expect(modifies).toHaveLength(300);
    // sinon orders calls across all mocks: the first guest batch went out before the last IMDS change.
    expect(sends[0]!.calledBefore(modifies.at(-1)!)).toBe(true);
    // Both sides finished, each instance once; nothing was lowered or skipped for lack of time.
    expect(out.summary.counts).toEqual(expect.objectContaining({ attempted: 600, succeeded: 600, failed: 0 }));
    expect(out.summary.pending).toEqual({ imds: 0, verifying: 0, guest: 0 });
  });

  it('changes still being verified when the time runs out are verified by the next invocation, not redone', async () => {
    // EC2 keeps the changes pending 45 s: past the first invocation's 30 s, applied 15 s into the second.
    const { clock } = simulate(ec2Fleet(5), { runCommand: { metadataApplyMs: 45_000 } });
    const { d } = deps(clock, Array.from({ length: 5 }, (_, k) => ev(id(k))));
    const s = settings();
    const first = await runRemediation(d, s, {}, { deadline: clock.now() + 30_000, reserveMs: 1_000, verifyPollMs: 5_000, verifyTimeoutMs: 600_000 });
    expect(first.done).toBe(false);
    expect(first.summary.phase).toBe('imds-verify');
    expect(first.summary.pending.verifying).toBe(5);
    const second = await runRemediation(d, s, { continuation: first.continuation }, { deadline: clock.now() + 60_000, reserveMs: 1_000, verifyPollMs: 5_000 });
    expect(second.done).toBe(true);
    expect(modified()).toHaveLength(5);
    expect(second.summary.counts).toEqual(expect.objectContaining({ attempted: 5, succeeded: 5, failed: 0 }));
  });

  it('hop limit and endpoint on one instance: one Modify call carrying both, each action audited', async () => {
    const { clock } = simulate([simInstance('i-both', { hopLimit: 1, httpEndpoint: 'disabled' })]);
    const { d } = deps(clock, [ev('i-both', { hop: 1, endpoint: 'disabled' })]);
    const out = await runRemediation(d, settings({ enableMetadataEndpoint: true }), {}, far(clock));
    expect(modifyInputs()).toEqual([{ InstanceId: 'i-both', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled' }]);
    const verified = actions().filter((a) => a.outcome === 'verified').map((a) => a.action);
    expect(verified.sort()).toEqual(['enable-metadata-endpoint', 'raise-hop-limit']);
    expect(out.summary.counts).toEqual(expect.objectContaining({ attempted: 2, succeeded: 2 }));
  });

  it('an API error other than throttling fails that instance only; the others proceed', async () => {
    const { clock } = simulate(ec2Fleet(3, (k) => (k === 1 ? { modifyError: 'UnauthorizedOperation' } : {})));
    const { d } = deps(clock, [0, 1, 2].map((k) => ev(id(k))));
    const out = await runRemediation(d, settings(), {}, far(clock));
    expect(out.done).toBe(true);
    expect(actions()).toContainEqual(expect.objectContaining({ instanceId: id(1), outcome: 'failed', reason: 'modify-failed' }));
    expect(out.summary.counts).toEqual(expect.objectContaining({ attempted: 3, succeeded: 2, failed: 1 }));
  });
});

describe('runRemediation: a continuation that cannot be forged or stretched', () => {
  type State = Parameters<typeof encodeContinuation>[0];
  const clock0 = (): number => Date.UTC(2026, 0, 1);
  const OTHER_KEY = Buffer.from('another-stacks-continuation-key-0123456789abcdef');
  const zero = { planned: 0, attempted: 0, succeeded: 0, failed: 0, rolledBack: 0, skipped: 0 };
  const crafted = (clock: VirtualClock, over: Partial<State> = {}): State => ({
    runId: 'run-1', startedAt: clock.now() - 60_000, invocations: 1, phase: 'imds', dryRun: false, fleetSize: 10, cap: 10, plannedInstances: 2,
    counts: { ...zero }, reasons: {}, guestPlanned: 0, guestFailures: 0, guestStopped: false, auditLost: 0,
    ...over,
  });
  const refusals = (): Record<string, unknown>[] =>
    auditEntries().filter((e) => e.DetailType === AUDIT_DETAIL_TYPES.continuationRefused).map((e) => JSON.parse(e.Detail!) as Record<string, unknown>);
  /** A real first invocation that stops with work pending: 300 hop raises, 25 s of deadline. */
  async function genuine() {
    const n = 300;
    const account = simulate(ec2Fleet(n));
    const clock = account.clock;
    const ctx = deps(clock, Array.from({ length: n }, (_, k) => ev(id(k))));
    const first = await runRemediation(ctx.d, settings(), {}, { deadline: clock.now() + 25_000, reserveMs: 2_000 });
    expect(first.done).toBe(false);
    return { ...ctx, account, clock, n, first, modifiedFirst: modified().length };
  }
  /** Refused on a fresh account (its mocks record only this attempt). */
  async function expectRefused(text: string, reason: string) {
    const { clock } = simulate(ec2Fleet(3));
    const { d, check } = deps(clock, [ev(id(0))]);
    await expect(runRemediation(d, settings(), { continuation: text }, far(clock))).rejects.toMatchObject({ name: 'ContinuationError', reason });
    expect(check).not.toHaveBeenCalled();
    expect(sim.ec2).toHaveReceivedCommandTimes(ModifyInstanceMetadataOptionsCommand, 0);
    expect(sim.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 0);
    expect(refusals()).toEqual([expect.objectContaining({ reason, continuationChars: text.length, continuationSha256: expect.stringMatching(/^[0-9a-f]{16}$/) })]);
  }

  it('refuses a forged (unsigned) continuation with a ContinuationError and audits the refusal', async () => {
    const forged = gzipSync(Buffer.from(JSON.stringify({ v: 2, ia: Date.now(), r: 'evil', s: 0, n: 1, p: 'imds', q: '1.64.1.1', t: '0123456789abcdef0' }))).toString('base64');
    await expectRefused(forged, 'forged');
    expect(refusals()[0]!.message).toMatch(/no signature/);
  });

  it('refuses a genuine continuation with one byte edited, in the payload or in the signature', async () => {
    const { first } = await genuine();
    const text = first.continuation!;
    const flip = (t: string, at: number): string => `${t.slice(0, at)}${t[at] === 'A' ? 'B' : 'A'}${t.slice(at + 1)}`;
    await expectRefused(flip(text, Math.floor(text.indexOf('.') / 2)), 'forged');
    await expectRefused(flip(text, text.length - 3), 'forged');
  });

  it('refuses a continuation signed with another key (another stack, or a guessed key)', async () => {
    const clock = new VirtualClock();
    await expectRefused(encodeContinuation(crafted(clock, { actions: { imds: [{ id: id(0), hop: 1, from: 1, endpoint: false }] as ImdsPhaseItem[] } }), OTHER_KEY, clock.now(), GUEST), 'forged');
  });

  it('refuses a genuine continuation replayed after its validity, and one of a run older than a day', async () => {
    const clock = new VirtualClock();
    await expectRefused(encodeContinuation(crafted(clock), KEY, clock.now() - CONTINUATION_MAX_AGE_MS - 1), 'expired');
    await expectRefused(encodeContinuation(crafted(clock, { startedAt: clock.now() - 25 * 3_600_000 }), KEY, clock.now()), 'expired');
  });

  it('current dry run wins: a live run resumed after dryRun was switched on applies nothing more', async () => {
    const { d, clock, first, modifiedFirst } = await genuine();
    const out = await runRemediation(d, settings({ dryRun: true }), { continuation: first.continuation }, far(clock));
    expect(out.done).toBe(true);
    expect(out.summary.dryRun).toBe(true);
    expect(modified()).toHaveLength(modifiedFirst);
    expect(out.summary.reasons['skipped:dry-run']).toBe(first.summary.pending.imds);
  });

  it('a continuation carried from a dry run is resumed under the current (live) settings: it follows them', async () => {
    const { clock } = simulate(ec2Fleet(2));
    const { d } = deps(clock, []);
    const state = crafted(clock, { dryRun: true, actions: { imds: [0, 1].map((k) => ({ id: id(k), hop: 1, from: 1, endpoint: false })) } });
    const out = await runRemediation(d, settings(), { continuation: encodeContinuation(state, KEY, clock.now(), GUEST) }, far(clock));
    expect(out.summary.dryRun).toBe(false);
    expect(modified()).toEqual([id(0), id(1)]);
    expect(modifyInputs().map((i) => i.HttpPutResponseHopLimit)).toEqual([2, 2]);
  });

  it('the hop-limit target cannot be carried: a signed continuation asking for 64 raises to the configured target only', async () => {
    const account = simulate(ec2Fleet(2));
    const clock = account.clock;
    const { d } = deps(clock, []);
    // A payload the encoder would never write (hop 64), signed with the stack's own key.
    const text = encodeContinuation(crafted(clock, { actions: { imds: [0, 1].map((k) => ({ id: id(k), hop: 1, from: 1, endpoint: false })) } }), KEY, clock.now(), GUEST);
    const json = JSON.parse(gunzipSync(Buffer.from(text.split('.')[0]!, 'base64')).toString()) as { x: { imds: string } };
    expect(json.x.imds).toBe('1.p.1.1.0,1.p.1.1.0');
    json.x.imds = '1.p.64.1.0,1.p.64.1.0';
    const stretched = signContinuationPayload(gzipSync(Buffer.from(JSON.stringify(json))).toString('base64'), KEY);
    expect(imdsStages(decodeContinuation(stretched, KEY, clock.now(), GUEST)).pending.map((i) => i.hop)).toEqual([1, 1]);
    // The previous format's list (`q`) is read the same way.
    const old = { ...json, x: undefined, q: '1.64.1.0,1.64.1.0' };
    const stretchedOld = signContinuationPayload(gzipSync(Buffer.from(JSON.stringify(old))).toString('base64'), KEY);
    expect(imdsStages(decodeContinuation(stretchedOld, KEY, clock.now(), GUEST)).pending.map((i) => i.hop)).toEqual([1, 1]);
    const out = await runRemediation(d, settings({ hopLimitTarget: 3 }), { continuation: stretched }, far(clock));
    expect(out.done).toBe(true);
    expect(modifyInputs().map((i) => i.HttpPutResponseHopLimit)).toEqual([3, 3]);
    expect(account.fleet.map((i) => i.hopLimit)).toEqual([3, 3]);
  });

  it('an instance opted out between invocations is not touched on resume (the tag key in any case)', async () => {
    const { d, account, clock, n, first } = await genuine();
    const pending = Array.from({ length: n }, (_, k) => id(k)).filter((i) => !modified().includes(i));
    const tagged = pending[pending.length - 1]!;
    account.byId.get(tagged)!.tags = [{ Key: 'TimeSync-Guard:Opt-Out', Value: 'true' }];
    let out = first;
    while (!out.done) out = await runRemediation(d, settings(), { continuation: out.continuation }, { deadline: clock.now() + 25_000, reserveMs: 2_000 });
    expect(modified()).not.toContain(tagged);
    expect(modified()).toHaveLength(n - 1);
    expect(actions()).toContainEqual(expect.objectContaining({ instanceId: tagged, action: 'raise-hop-limit', outcome: 'skipped', reason: 'opted-out' }));
  });

  it('a continuation written before the guest document was a phase (its list under `g`) is read into actions.guest', () => {
    const now = clock0();
    const state = crafted(new VirtualClock(now), { phase: 'guest', actions: { guest: [id(2), id(5)].map((i, k) => ({ id: i, platform: k === 0 ? ('windows' as const) : ('linux' as const), ipv6: k === 1 })) }, guestPlanned: 2 });
    const text = encodeContinuation(state, KEY, now, GUEST);
    const json = JSON.parse(gunzipSync(Buffer.from(text.split('.')[0]!, 'base64')).toString()) as { x?: { guest?: string }; g?: string };
    // The old encoder's layout: the same delta list and fields, under `g`, and no `x`.
    json.g = json.x!.guest!;
    delete json.x;
    const legacy = signContinuationPayload(gzipSync(Buffer.from(JSON.stringify(json))).toString('base64'), KEY);
    const all = [...RUN_PHASES, ...ACTION_PHASES];
    expect(decodeContinuation(legacy, KEY, now, all)).toEqual(decodeContinuation(text, KEY, now, all));
    expect(decodeContinuation(legacy, KEY, now, all).actions!.guest!.map((i) => i.id)).toEqual([id(2), id(5)]);
    // An engine without the guest phase has nowhere to put the list: refused, never dropped.
    expect(() => decodeContinuation(legacy, KEY, now, [])).toThrow(ContinuationError);
  });

  /**
   * A continuation of this format rewritten as the previous encoder wrote it: the IMDS phase's list
   * (`x.imds`) back to its two lists, `q` (to make) and `w` (made, verifying), same fields without
   * the stage, each delta-coded on its own.
   */
  function previousFormat(text: string): string {
    const json = JSON.parse(gunzipSync(Buffer.from(text.split('.')[0]!, 'base64')).toString()) as { x?: Record<string, string>; q?: string; w?: string };
    const lists: Record<string, [number, string][]> = { p: [], v: [] };
    let at = -1;
    for (const e of (json.x?.['imds'] ?? '').split(',').filter(Boolean)) {
      const [d, stage, ...f] = e.split('.');
      at += Number(d);
      lists[stage!]!.push([at, f.join('.')]);
    }
    const deltas = (l: [number, string][]): string => {
      let prev = -1;
      return l.map(([k, f]) => `${k - prev}.${f}${((prev = k), '')}`).join(',');
    };
    json.q = deltas(lists['p']!);
    json.w = deltas(lists['v']!);
    delete json.x!['imds'];
    if (Object.keys(json.x!).length === 0) delete json.x;
    return signContinuationPayload(gzipSync(Buffer.from(JSON.stringify(json))).toString('base64'), KEY);
  }

  it('a continuation written before the IMDS side was a phase (its lists `q` and `w`) resumes to the same outcome', async () => {
    const finish = async (convert: (t: string) => string) => {
      const { d, clock, first } = await genuine();
      let out = await runRemediation(d, settings(), { continuation: convert(first.continuation!) }, { deadline: clock.now() + 25_000, reserveMs: 2_000 });
      for (let k = 0; k < 20 && !out.done; k++) out = await runRemediation(d, settings(), { continuation: out.continuation }, { deadline: clock.now() + 25_000, reserveMs: 2_000 });
      return { first, out, modified: modified(), actions: actions() };
    };
    const now = await finish((t) => t);
    const before = await finish(previousFormat);
    // The first invocation stopped with changes both to make and made (being verified): both lists carried.
    const old = JSON.parse(gunzipSync(Buffer.from(previousFormat(now.first.continuation!).split('.')[0]!, 'base64')).toString()) as { q: string; w: string };
    expect([old.q.length > 0, old.w.length > 0]).toEqual([true, true]);
    expect(before.out.done).toBe(true);
    expect(before.out.summary).toEqual(now.out.summary);
    expect(before.modified).toEqual(now.modified);
    expect(before.actions).toEqual(now.actions);
    expect(now.out.summary.counts).toEqual(expect.objectContaining({ succeeded: 300, failed: 0 }));
  });

  it('the guest step re-reads opt-out before each wave: an instance tagged since the plan is never sent the document', async () => {
    const ids2 = [id(0), id(1), id(2)];
    const [first, tagged, gone] = running(ids2, { output: `${formatRemediationLine({ result: 'changed', daemon: 'chrony', action: 'add-source', reason: '' })}\n` });
    const { clock } = simulate([first!, { ...tagged!, tags: [{ Key: OPT_OUT, Value: 'yes' }] }, { ...gone!, vanishAfterMs: 0 }]); // id(2): terminated since the plan
    const { d } = deps(clock, []);
    const state = crafted(clock, { phase: 'guest', actions: { guest: ids2.map((i) => ({ id: i, platform: 'linux' as const, ipv6: false })) }, guestPlanned: 3 });
    const out = await runRemediation(d, settings({ fixTimeSync: true }), { continuation: encodeContinuation(state, KEY, clock.now(), GUEST) }, far(clock));
    expect(out.done).toBe(true);
    expect(sim.ssm.commandCalls(SendCommandCommand).flatMap((c) => c.args[0].input.InstanceIds)).toEqual([id(0)]);
    expect(actions()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ instanceId: id(1), outcome: 'skipped', reason: 'opted-out' }),
        expect.objectContaining({ instanceId: id(2), outcome: 'skipped', reason: 'instance-gone' }),
        expect.objectContaining({ instanceId: id(0), outcome: 'verified' }),
      ]),
    );
    expect(out.summary.counts.attempted).toBe(1);
  });

  it('switches turned off since the run started win: no endpoint change, no guest step', async () => {
    const account = simulate(ec2Fleet(2, () => ({ httpEndpoint: 'disabled' })));
    const clock = account.clock;
    const { d } = deps(clock, []);
    const state = crafted(clock, {
      actions: { imds: [{ id: id(0), hop: 0, from: 2, endpoint: true }, { id: id(1), hop: 1, from: 1, endpoint: true }] as ImdsPhaseItem[], guest: [{ id: id(0), platform: 'linux', ipv6: false } as GuestItem] },
      guestPlanned: 1,
    });
    const out = await runRemediation(d, settings({ enableMetadataEndpoint: false, fixTimeSync: false }), { continuation: encodeContinuation(state, KEY, clock.now(), GUEST) }, far(clock));
    expect(out.done).toBe(true);
    expect(modifyInputs()).toEqual([{ InstanceId: id(1), HttpPutResponseHopLimit: 2 }]);
    expect(account.fleet.map((i) => i.httpEndpoint)).toEqual(['disabled', 'disabled']);
    expect(sim.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 0);
    expect(out.summary.reasons).toEqual(expect.objectContaining({ 'skipped:setting-off': 3 }));
  });

  it('an instance IAM denies in the guest step is skipped (access-denied) and does not count toward MaxErrors', async () => {
    const list = [id(0), id(1)];
    const { clock } = simulate([
      simInstance(id(0), { script: { output: `${formatRemediationLine({ result: 'changed', daemon: 'chrony', action: 'add-source', reason: '' })}\n` } }),
      simInstance(id(1), { script: { denied: true } }),
    ]);
    const { d } = deps(clock, list.map((i) => ev(i, { hop: 2, timeSource: 'other' })));
    const out = await runRemediation(d, settings({ fixTimeSync: true, remediationMaxErrors: '0' }), {}, far(clock));
    expect(out.summary.guestStoppedAtMaxErrors).toBe(false);
    expect(actions()).toContainEqual(expect.objectContaining({ instanceId: id(1), outcome: 'skipped', reason: 'access-denied' }));
    expect(actions()).toContainEqual(expect.objectContaining({ instanceId: id(0), outcome: 'verified' }));
  });
});
