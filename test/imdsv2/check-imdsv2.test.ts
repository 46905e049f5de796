/**
 * IMDSv2 end to end in the simulated account: the check engine with the real adapters (inventory,
 * GetMetricData, the IMDS port with tokens, CreateTags) against the simulated EC2/SSM fleet and
 * the simulated CloudWatch; enforcement through the nightly phase; rollback through the check.
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { EC2Client, ModifyInstanceMetadataOptionsCommand } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { SimInstance } from '../../bench/sim/fleet';
import { createEventBridgeAudit } from '../../lambda/aws/audit';
import { VirtualClock } from '../../lambda/aws/clock';
import { CloudWatchInstanceMetrics } from '../../lambda/aws/cloudwatch-metrics';
import { createEc2ImdsPort } from '../../lambda/aws/imds';
import { createImdsv2Ec2Port, createImdsv2Tagger } from '../../lambda/aws/imdsv2-ec2';
import { Ec2SsmInventory } from '../../lambda/aws/inventory';
import { MemorySnapshotStore } from '../../lambda/aws/readiness-cache';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import { enforcedTagValueOf, parseEnforcedTag, planImdsv2Enforcement } from '../../lambda/core/imdsv2/enforcement';
import { IMDSV2_ENFORCED_TAG_KEY } from '../../lambda/core/imdsv2/readiness';
import { parseSettings, type Settings } from '../../lambda/core/settings';
import { runCheck } from '../../lambda/engine/check';
import { runRemediation } from '../../lambda/engine/remediate';
import { encodeContinuation } from '../../lambda/engine/remediation/continuation';
import { freshCheck } from '../../lambda/engine/remediation/fresh-check';
import { IMDSV2_PHASE } from '../../lambda/engine/remediation/imdsv2-phase';
import { newRunState } from '../../lambda/engine/remediation/state';
import { parseRemediationOutput } from '../../lambda/core/remediation/guest-result';
import { freshUsageRecheck, type Imdsv2AuditRecord, type Imdsv2CheckPorts, runImdsv2Enforcement } from '../../lambda/engine/imdsv2';
import { buildSnapshot } from '../../lambda/core/imdsv2/snapshot';
import { readinessWindow } from '../../lambda/core/imdsv2/readiness';
import { idOf, member, useSimAccount } from '../support/sim';
import { chronyReport } from '../engine/reports';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';

const sim = useSimAccount();
const DAY = 86_400_000;
const HOUR = 3_600_000;
const NIGHT = Date.UTC(2026, 10, 30, 2, 0);
/** The stack's record key in these tests (the deployed one is a generated secret). */
const KEY = new Uint8Array(32).fill(9);

/** A healthy instance still on IMDSv1-optional with hop limit 1, launched `launchedDaysAgo` before NIGHT. */
function ec2Member(k: number, launchedDaysAgo = 60, extra: Partial<SimInstance> = {}): SimInstance {
  return member(idOf(k), { launchedAtMs: NIGHT - launchedDaysAgo * DAY, httpTokens: 'optional', hopLimit: 1, ...extra });
}

/**
 * The simulated account on `clock`: its fleet (ModifyInstanceMetadataOptions and CreateTags change
 * what DescribeInstances returns), its CloudWatch, and the adapters over them.
 */
function account(fleet: SimInstance[], clock: VirtualClock) {
  const { cloudwatch: cw, byId } = sim.simulate(fleet, { clock });
  const store = new MemorySnapshotStore();
  const metrics = new CloudWatchInstanceMetrics({ cloudwatch: new CloudWatchClient({}), clock });
  const ec2 = new EC2Client({});
  const audits: Imdsv2AuditRecord[] = [];
  const ec2Port = createImdsv2Ec2Port(createEc2ImdsPort({ ec2, clock, optOutTagKey: 'timesync-guard:opt-out' }), ec2, clock);
  const ports: Imdsv2CheckPorts = { metrics, store, ec2: ec2Port, audit: async (r) => void audits.push(...r), recordKey: async () => KEY };
  const check = (settings: Settings) => {
    const ssm = new SSMClient({});
    return runCheck(
      { inventory: new Ec2SsmInventory({ ec2, ssm, clock, optOutTagKey: settings.optOutTagKey }), runCommand: new SsmRunCommand({ ssm, clock }), clock, imdsv2: ports },
      settings,
    );
  };
  return { cw, store, metrics, ec2Port, audits, check, byId, ports, ec2 };
}

const tagOf = (i: SimInstance): string | undefined => enforcedTagValueOf(i.tags);

describe('IMDSv2 readiness in the check', () => {
  it('reports each state per instance and names the day of the last IMDSv1 call', async () => {
    const clock = new VirtualClock(NIGHT);
    const fleet = [ec2Member(1), ec2Member(2), ec2Member(3, 5), ec2Member(4)];
    fleet[3]!.httpTokens = 'required';
    const a = account(fleet, clock);
    for (const m of fleet) a.cw.runInstance(m.id, m.launchedAtMs!, NIGHT, (d) => (m.id === idOf(2) && d === NIGHT - 2 * DAY - 2 * HOUR ? 1 : 0));
    const run = await a.check(parseSettings({ ...SIM_DOCUMENT_PINS }));
    const r = run.imdsv2!.readiness;
    expect(r.refreshed).toBe(true);
    expect(r.readiness.get(idOf(1))).toMatchObject({ state: 'ready' });
    expect(r.readiness.get(idOf(2))).toMatchObject({ state: 'uses-imdsv1', lastImdsv1Day: '2026-11-28', imdsv1Calls: 1 });
    expect(r.readiness.get(idOf(3))).toMatchObject({ state: 'not-enough-history', reason: 'younger-than-window' });
    expect(r.readiness.get(idOf(4))).toMatchObject({ state: 'already-required' });
    expect(r.counts).toEqual({ 'uses-imdsv1': 1, ready: 1, 'not-enough-history': 1, 'already-required': 1 });
  });

  it('makes no GetMetricData call on an hourly run within 24 h of the refresh, and refreshes after', async () => {
    const clock = new VirtualClock(NIGHT);
    const fleet = [ec2Member(1), ec2Member(2)];
    const a = account(fleet, clock);
    for (const m of fleet) a.cw.runInstance(m.id, m.launchedAtMs!, NIGHT + 2 * DAY);
    const settings = parseSettings({ ...SIM_DOCUMENT_PINS });
    await a.check(settings);
    const afterRefresh = sim.cloudwatch.commandCalls(GetMetricDataCommand).length;
    expect(afterRefresh).toBe(1);
    for (let h = 1; h < 24; h++) {
      clock.advance(HOUR - (clock.now() - NIGHT - (h - 1) * HOUR));
      const run = await a.check(settings);
      expect(run.imdsv2!.readiness.refreshed).toBe(false);
      expect(run.imdsv2!.readiness.readiness.get(idOf(1))?.state).toBe('ready');
    }
    expect(sim.cloudwatch.commandCalls(GetMetricDataCommand).length).toBe(afterRefresh);
    expect(a.store.writes).toBe(1);
    clock.advance(NIGHT + 24 * HOUR - clock.now());
    const next = await a.check(settings);
    expect(next.imdsv2!.readiness.refreshed).toBe(true);
    expect(sim.cloudwatch.commandCalls(GetMetricDataCommand).length).toBe(afterRefresh + 1);
  });

  it('is not assessed at all with imdsv2 off', async () => {
    const clock = new VirtualClock(NIGHT);
    const a = account([ec2Member(1)], clock);
    const run = await a.check(parseSettings({ ...SIM_DOCUMENT_PINS, TSG_IMDSV2: 'off' }));
    expect(run.imdsv2).toBeUndefined();
    expect(sim.cloudwatch.commandCalls(GetMetricDataCommand)).toHaveLength(0);
  });
});

describe('gated enforcement and automatic undo', () => {
  const enforce = parseSettings({ ...SIM_DOCUMENT_PINS, TSG_IMDSV2: 'enforce' });

  /** The nightly run's IMDSv2 part: check, plan (pure), act (phase) — what the remediation engine does. */
  async function night(a: ReturnType<typeof account>, clock: VirtualClock, settings: Settings) {
    const run = await a.check(settings);
    const readiness = run.imdsv2!.readiness.readiness;
    const plan = planImdsv2Enforcement(
      run.evaluations.map((e) => ({ evaluation: e, readiness: readiness.get(e.instanceId), tag: parseEnforcedTag(tagOf(a.byId.get(e.instanceId)!)) })),
      settings,
      settings.maxChangesPerRun,
    );
    const audit: Imdsv2AuditRecord[] = [];
    const done = await runImdsv2Enforcement(
      { ec2: a.ec2Port, clock, audit: (r) => void audit.push(r), recheck: freshUsageRecheck(a.metrics, clock, settings.imdsv2LookbackDays), recordKey: async () => KEY },
      { pending: [...plan.enforce], verifying: [] },
      { deadline: clock.now() + 600_000, verifyPollMs: 1_000 },
    );
    return { run, plan, audit, done };
  }

  it('does not enforce an instance with one IMDSv1 call on day 13, and enforces the clean one (hop limit raised on a container host)', async () => {
    const clock = new VirtualClock(NIGHT);
    const fleet = [ec2Member(1), ec2Member(2), ec2Member(3, 60, { script: { output: chronyReport({ containers: 'docker' }) } })];
    const a = account(fleet, clock);
    const day13 = readinessDay(13);
    for (const m of fleet) a.cw.runInstance(m.id, m.launchedAtMs!, NIGHT, (d) => (m.id === idOf(2) && d === day13 ? 1 : 0));
    const { plan, audit, done } = await night(a, clock, enforce);
    expect(done).toBe(true);
    expect(plan.enforce).toEqual([{ instanceId: idOf(1) }, { instanceId: idOf(3), hopLimit: 2 }]);
    expect(a.byId.get(idOf(2))!.httpTokens).toBe('optional');
    expect(tagOf(a.byId.get(idOf(2))!)).toBeUndefined();
    expect(a.byId.get(idOf(1))).toMatchObject({ httpTokens: 'required', hopLimit: 1 });
    expect(a.byId.get(idOf(3))).toMatchObject({ httpTokens: 'required', hopLimit: 2 });
    expect(tagOf(a.byId.get(idOf(1))!)).toMatch(/^2026-11-30T02:00:/);
    expect(audit.filter((r) => r.outcome === 'verified').map((r) => r.instanceId)).toEqual([idOf(1), idOf(3)]);
    // One call carries tokens and hop limit together on the container host.
    expect(sim.ec2.commandCalls(ModifyInstanceMetadataOptionsCommand).map((c) => c.args[0].input)).toEqual([
      { InstanceId: idOf(1), HttpTokens: 'required' },
      { InstanceId: idOf(3), HttpTokens: 'required', HttpPutResponseHopLimit: 2 },
    ]);
  });

  it('does not roll back on one rejected call by default: the check alarms (Imdsv2Rejected) and audits it, tokens stay required', async () => {
    const clock = new VirtualClock(NIGHT);
    const fleet = [ec2Member(1), ec2Member(2)];
    const a = account(fleet, clock);
    for (const m of fleet) a.cw.runInstance(m.id, m.launchedAtMs!, NIGHT + 3 * DAY);
    await night(a, clock, enforce);
    expect(a.byId.get(idOf(1))!.httpTokens).toBe('required');

    // An hour later nothing was rejected: both watched, nothing to report.
    clock.advance(HOUR);
    const quiet = await a.check(enforce);
    expect(quiet.imdsv2!.watch).toMatchObject({ watched: 2, rejected: [], rolledBack: [], unverified: [] });

    // Then one tokenless request on i-1 is refused (a workload still on IMDSv1, or an SSRF probe).
    a.cw.publish('MetadataNoTokenRejected', idOf(1), clock.now() + 5 * 60_000, 1);
    clock.advance(HOUR);
    const run = await a.check(enforce);
    expect(run.imdsv2!.watch).toMatchObject({ rejected: [{ instanceId: idOf(1), rejectedCalls: 1, rejectedHours: 1 }], rolledBack: [] });
    expect(sim.ec2.commandCalls(ModifyInstanceMetadataOptionsCommand).filter((c) => c.args[0].input.HttpTokens === 'optional')).toHaveLength(0);
    expect(a.byId.get(idOf(1))!.httpTokens).toBe('required');
    expect(parseEnforcedTag(tagOf(a.byId.get(idOf(1))!))?.kind).toBe('enforced');
    expect(a.audits).toEqual([
      expect.objectContaining({ instanceId: idOf(1), action: 'rollback-imdsv2', outcome: 'skipped', reason: 'auto-undo-off', before: { httpTokens: 'required', rejectedCalls: 1, rejectedHours: 1 } }),
    ]);
  });

  it('with imdsv2AutoUndo, one hourly period of rejections is not enough; a second one rolls back, tags it and it is never enforced again', async () => {
    const autoUndo = { ...enforce, imdsv2AutoUndo: true };
    const clock = new VirtualClock(NIGHT);
    const fleet = [ec2Member(1), ec2Member(2)];
    const a = account(fleet, clock);
    for (const m of fleet) a.cw.runInstance(m.id, m.launchedAtMs!, NIGHT + 3 * DAY);
    await night(a, clock, autoUndo);

    // A burst of 40 refused calls inside one hour: alarm only.
    for (let k = 0; k < 40; k++) a.cw.publish('MetadataNoTokenRejected', idOf(1), NIGHT + HOUR + k * 60_000, 1);
    clock.advance(2 * HOUR);
    const one = await a.check(autoUndo);
    expect(one.imdsv2!.watch).toMatchObject({ rejected: [{ instanceId: idOf(1), rejectedCalls: 40, rejectedHours: 1 }], rolledBack: [] });
    expect(a.byId.get(idOf(1))!.httpTokens).toBe('required');
    expect(a.audits.at(-1)).toMatchObject({ outcome: 'skipped', reason: 'rejected-in-one-hour-only' });

    // One more refused call in another hour: two separate hourly periods, rolled back.
    a.cw.publish('MetadataNoTokenRejected', idOf(1), clock.now() + 10 * 60_000, 1);
    clock.advance(HOUR);
    const two = await a.check(autoUndo);
    expect(two.imdsv2!.watch!.rolledBack).toEqual([{ instanceId: idOf(1), rejectedCalls: 41, rejectedHours: 2 }]);
    expect(a.byId.get(idOf(1))!.httpTokens).toBe('optional');
    expect(a.byId.get(idOf(2))!.httpTokens).toBe('required');
    expect(tagOf(a.byId.get(idOf(1))!)).toMatch(/^rolled-back:2026-11-30T/);
    expect(a.audits.at(-1)).toMatchObject({ instanceId: idOf(1), action: 'rollback-imdsv2', outcome: 'rolled-back', reason: 'imdsv1-calls-rejected' });

    // The next night: still `ready` in the snapshot, but rolled back before: left alone.
    clock.advance(NIGHT + DAY - clock.now());
    const next = await night(a, clock, autoUndo);
    expect(next.plan.enforce).toEqual([]);
    expect(next.plan.skipped).toContainEqual({ instanceId: idOf(1), reason: 'previously-rolled-back' });
    expect(a.byId.get(idOf(1))!.httpTokens).toBe('optional');
  });

  it('never rolls back in report mode, even with imdsv2AutoUndo set and rejections in many hours (alarm only)', async () => {
    const clock = new VirtualClock(NIGHT);
    const a = account([ec2Member(1)], clock);
    a.cw.runInstance(idOf(1), NIGHT - 60 * DAY, NIGHT + 3 * DAY);
    await night(a, clock, enforce);
    for (let h = 1; h <= 5; h++) a.cw.publish('MetadataNoTokenRejected', idOf(1), NIGHT + h * HOUR, 1);
    clock.advance(6 * HOUR);
    const run = await a.check({ ...parseSettings({ ...SIM_DOCUMENT_PINS }), imdsv2AutoUndo: true });
    expect(run.imdsv2!.watch).toMatchObject({ rejected: [{ instanceId: idOf(1), rejectedHours: 5 }], rolledBack: [] });
    expect(a.byId.get(idOf(1))!.httpTokens).toBe('required');
  });

  it('stops watching after the window and removes nothing', async () => {
    const clock = new VirtualClock(NIGHT);
    const fleet = [ec2Member(1)];
    const a = account(fleet, clock);
    a.cw.runInstance(idOf(1), NIGHT - 60 * DAY, NIGHT + 5 * DAY);
    await night(a, clock, enforce);
    clock.advance(73 * HOUR);
    a.cw.publish('MetadataNoTokenRejected', idOf(1), clock.now() - HOUR, 4);
    const run = await a.check(enforce);
    expect(run.imdsv2!.watch).toMatchObject({ watched: 0, rolledBack: [] });
    expect(a.byId.get(idOf(1))!.httpTokens).toBe('required');
    expect(tagOf(a.byId.get(idOf(1))!)).toMatch(/^2026-11-30T/);
  });

  it('switches nothing in report mode (the default)', async () => {
    const clock = new VirtualClock(NIGHT);
    const a = account([ec2Member(1)], clock);
    a.cw.runInstance(idOf(1), NIGHT - 60 * DAY, NIGHT);
    const { plan } = await night(a, clock, parseSettings({ ...SIM_DOCUMENT_PINS }));
    expect(plan).toEqual({ enforce: [], skipped: [{ instanceId: idOf(1), reason: 'mode-report' }] });
    expect(sim.ec2.commandCalls(ModifyInstanceMetadataOptionsCommand)).toHaveLength(0);
  });
});

/** Start (ms) of day `n` (1-based) of the 14-day window that ends at NIGHT. */
function readinessDay(n: number): number {
  return Date.UTC(2026, 10, 16) + (n - 1) * DAY;
}

/** The real nightly engine (fresh check with readiness, IMDS and IMDSv2 ports) on the simulated account. */
async function remediateNight(a: ReturnType<typeof account>, clock: VirtualClock, settings: ReturnType<typeof parseSettings>, runId: string, continuation?: string) {
  const ssm = new SSMClient({});
  const deadline = clock.now() + 600_000;
  const inventory = new Ec2SsmInventory({ ec2: a.ec2, ssm, clock, optOutTagKey: settings.optOutTagKey });
  return runRemediation(
    {
      clock,
      check: freshCheck({ inventory, runCommand: new SsmRunCommand({ ssm, clock }), clock, imdsv2: { metrics: a.metrics, store: a.store } }, settings, deadline),
      imds: (bucketState) => createEc2ImdsPort({ ec2: a.ec2, clock, optOutTagKey: settings.optOutTagKey, ...(bucketState ? { bucketState } : {}) }),
      imdsv2Tag: createImdsv2Tagger(a.ec2, clock),
      imdsv2Recheck: freshUsageRecheck(a.metrics, clock, settings.imdsv2LookbackDays),
      imdsv2RecordKey: async () => KEY,
      runCommand: new SsmRunCommand({ ssm, clock }),
      parseOutput: parseRemediationOutput,
      audit: createEventBridgeAudit({ events: new EventBridgeClient({}), source: 'timesync-guard', sleep: (ms) => clock.sleep(ms) }),
      continuationKey: async () => new Uint8Array(32).fill(7),
      newRunId: () => runId,
    },
    settings,
    continuation ? { continuation } : {},
    { deadline, verifyPollMs: 1_000 },
  );
}

/** The details of every audit event put on the bus. */
function auditDetails(): Record<string, unknown>[] {
  return sim.events.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []).map((e) => JSON.parse(e.Detail!) as Record<string, unknown>);
}

describe('the nightly remediation run with imdsv2 enforce', () => {
  it('enforces through its IMDSv2 phase only the ready instance, tagged and verified, and audits it', async () => {
    const clock = new VirtualClock(NIGHT);
    const fleet = [ec2Member(1), ec2Member(2)];
    const a = account(fleet, clock);
    for (const m of fleet) a.cw.runInstance(m.id, m.launchedAtMs!, NIGHT, (d) => (m.id === idOf(2) && d === readinessDay(13) ? 1 : 0));
    const settings = { ...parseSettings({ ...SIM_DOCUMENT_PINS, TSG_IMDSV2: 'enforce' }), fixTimeSync: false };
    const result = await remediateNight(a, clock, settings, 'run-1');
    expect(result.done).toBe(true);
    expect(a.byId.get(idOf(1))!.httpTokens).toBe('required');
    expect(a.byId.get(idOf(2))!.httpTokens).toBe('optional');
    expect(tagOf(a.byId.get(idOf(1))!)).toMatch(/^2026-11-30T02:0/);
    const events = auditDetails();
    const v2 = events.filter((e) => e.action === 'require-imdsv2').map((e) => [e.instanceId, e.outcome]);
    expect(v2).toEqual([
      [idOf(1), 'planned'],
      [idOf(1), 'applied'],
      [idOf(1), 'verified'],
    ]);
  });

  it('in a dry run, audits the switch as planned and changes nothing', async () => {
    const clock = new VirtualClock(NIGHT);
    const fleet = [ec2Member(1)];
    const a = account(fleet, clock);
    a.cw.runInstance(idOf(1), fleet[0]!.launchedAtMs!, NIGHT);
    const settings = { ...parseSettings({ ...SIM_DOCUMENT_PINS, TSG_IMDSV2: 'enforce', TSG_DRY_RUN: 'true' }), fixTimeSync: false };
    const result = await remediateNight(a, clock, settings, 'run-dry');
    expect(result.done).toBe(true);
    expect(a.byId.get(idOf(1))!.httpTokens).toBe('optional');
    expect(sim.ec2.commandCalls(ModifyInstanceMetadataOptionsCommand)).toHaveLength(0);
    const events = auditDetails();
    expect(events.filter((e) => e.action === 'require-imdsv2').map((e) => [e.instanceId, e.outcome])).toEqual([[idOf(1), 'planned']]);
  });

  it('a resumed run raises the hop limit to the current target, never to a value carried in the continuation', async () => {
    const clock = new VirtualClock(NIGHT);
    const fleet = [ec2Member(1)];
    const a = account(fleet, clock);
    const settings = { ...parseSettings({ ...SIM_DOCUMENT_PINS, TSG_IMDSV2: 'enforce', TSG_HOP_LIMIT_TARGET: '2' }), fixTimeSync: false };
    // Signed with the run's own key, as a genuine continuation would be, but asking for 64.
    const state = { ...newRunState({ runId: 'run-2', startedAt: clock.now() - 60_000, dryRun: false, fleetSize: 1, cap: 1, plannedInstances: 1 }), phase: 'guest' as const, actions: { imdsv2: [{ id: idOf(1), hop: 64 }] } };
    const text = encodeContinuation(state, new Uint8Array(32).fill(7), clock.now(), [IMDSV2_PHASE]);
    const result = await remediateNight(a, clock, settings, 'run-2', text);
    expect(result.done).toBe(true);
    expect(sim.ec2.commandCalls(ModifyInstanceMetadataOptionsCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({ InstanceId: idOf(1), HttpTokens: 'required', HttpPutResponseHopLimit: 2 }),
    ]);
    expect(a.byId.get(idOf(1))!.hopLimit).toBe(2);
  });
});

describe('what others cannot make it do: forged enforcement tags', () => {
  const report = parseSettings({ ...SIM_DOCUMENT_PINS });
  const enforce = parseSettings({ ...SIM_DOCUMENT_PINS, TSG_IMDSV2: 'enforce' });
  const autoUndo = { ...enforce, imdsv2AutoUndo: true };
  const optionalCalls = () => sim.ec2.commandCalls(ModifyInstanceMetadataOptionsCommand).filter((c) => c.args[0].input.HttpTokens === 'optional');

  /**
   * i-1 was made IMDSv2-only by its owner; the guard never touched it. i-2 was enforced by the guard
   * (its record is genuine). Someone with ec2:CreateTags writes `forged` on i-1 and then makes
   * tokenless calls to it in three separate hours.
   */
  async function attack(settings: Settings, forge: (genuine: string) => { Key: string; Value: string }) {
    const clock = new VirtualClock(NIGHT);
    const fleet = [ec2Member(1, 60, { httpTokens: 'required' }), ec2Member(2)];
    const a = account(fleet, clock);
    for (const m of fleet) a.cw.runInstance(m.id, m.launchedAtMs!, NIGHT + 3 * DAY);
    // The guard's own enforcement of i-2, with the stack's key.
    const plan = planImdsv2Enforcement(
      [{ evaluation: { instanceId: idOf(2), platform: 'linux', status: 'ok', checkState: 'checked', findings: [], imds: { httpTokens: 'optional', hopLimit: 1 }, hasInstanceProfile: true, verdict: { platform: 'linux', daemon: 'chrony', timeSource: 'amazon-ipv4', synchronized: true, offsetSeconds: 0, clockErrorBoundSeconds: 0.001, containers: false, status: 'ok', findings: [] } }, readiness: { instanceId: idOf(2), state: 'ready' }, tag: undefined }],
      enforce,
      10,
    );
    await runImdsv2Enforcement(
      { ec2: a.ec2Port, clock, audit: () => undefined, recheck: freshUsageRecheck(a.metrics, clock, 14), recordKey: async () => KEY },
      { pending: [...plan.enforce], verifying: [] },
      { deadline: clock.now() + 600_000, verifyPollMs: 1_000 },
    );
    const genuine = tagOf(a.byId.get(idOf(2))!)!;
    expect(parseEnforcedTag(genuine)).toMatchObject({ kind: 'enforced', signed: expect.any(Object) });
    a.byId.get(idOf(1))!.tags = [...(a.byId.get(idOf(1))!.tags ?? []), forge(genuine)];
    for (const h of [1, 2, 3]) a.cw.publish('MetadataNoTokenRejected', idOf(1), NIGHT + h * HOUR + 60_000, 1);
    const before = optionalCalls().length;
    clock.advance(4 * HOUR);
    const run = await a.check(settings);
    return { a, run, optional: optionalCalls().length - before };
  }

  const forgeries: [string, (genuine: string) => { Key: string; Value: string }][] = [
    ['the right key and a recent time', () => ({ Key: IMDSV2_ENFORCED_TAG_KEY, Value: new Date(NIGHT - HOUR).toISOString() })],
    ['the key in another case', () => ({ Key: 'TimeSync-Guard:IMDSv2-Enforced', Value: new Date(NIGHT).toISOString() })],
    ['a time in the future', () => ({ Key: IMDSV2_ENFORCED_TAG_KEY, Value: new Date(NIGHT + 2 * HOUR).toISOString() })],
    ['a made-up MAC', () => ({ Key: IMDSV2_ENFORCED_TAG_KEY, Value: `${new Date(NIGHT).toISOString()}/${'x'.repeat(43)}` })],
    ['a valid value copied from an instance the guard enforced', (genuine) => ({ Key: IMDSV2_ENFORCED_TAG_KEY, Value: genuine })],
  ];
  const modes: [string, Settings][] = [
    ['report (the default)', report],
    ['enforce', enforce],
    ['enforce with imdsv2AutoUndo', autoUndo],
  ];
  for (const [mode, settings] of modes) {
    it.each(forgeries)(`changes nothing in ${mode}: a forged tag with %s buys no downgrade, no alarm, no audit`, async (_what, forge) => {
      const { a, run, optional } = await attack(settings, forge);
      expect(optional).toBe(0);
      expect(a.byId.get(idOf(1))!.httpTokens).toBe('required');
      expect(run.imdsv2!.watch!.unverified).toEqual([idOf(1)]);
      expect(run.imdsv2!.watch!.rejected.map((r) => r.instanceId)).not.toContain(idOf(1));
      expect(a.audits.filter((r) => r.instanceId === idOf(1))).toEqual([]);
      // The genuine record on i-2 is still watched.
      expect(run.imdsv2!.watch!.watched).toBe(1);
    });
  }

  it('the test can fail: a genuine record under the same conditions is rolled back with imdsv2AutoUndo', async () => {
    // i-1 carries a record signed with the stack's key: it counts as the guard's own enforcement.
    const { enforcementRecord } = await import('../../lambda/engine/imdsv2-record');
    const { a, run, optional } = await attack(autoUndo, () => ({ Key: IMDSV2_ENFORCED_TAG_KEY, Value: enforcementRecord(KEY, idOf(1), NIGHT) }));
    expect(run.imdsv2!.watch!.rolledBack.map((r) => r.instanceId)).toEqual([idOf(1)]);
    expect(optional).toBe(1);
    expect(a.byId.get(idOf(1))!.httpTokens).toBe('optional');
  });

  it('a record signed under another stack\'s key is not ours', async () => {
    const { enforcementRecord } = await import('../../lambda/engine/imdsv2-record');
    const { run, optional } = await attack(autoUndo, () => ({ Key: IMDSV2_ENFORCED_TAG_KEY, Value: enforcementRecord(new Uint8Array(32).fill(1), idOf(1), NIGHT) }));
    expect(optional).toBe(0);
    expect(run.imdsv2!.watch!.unverified).toEqual([idOf(1)]);
  });

  it('watches nothing when the record key cannot be read (nothing unverified is acted on)', async () => {
    const clock = new VirtualClock(NIGHT);
    const a = account([ec2Member(1, 60, { httpTokens: 'required', tags: [{ Key: IMDSV2_ENFORCED_TAG_KEY, Value: new Date(NIGHT).toISOString() }] })], clock);
    a.cw.runInstance(idOf(1), NIGHT - 60 * DAY, NIGHT + DAY);
    a.cw.publish('MetadataNoTokenRejected', idOf(1), NIGHT + 60_000, 1);
    a.cw.publish('MetadataNoTokenRejected', idOf(1), NIGHT + HOUR + 60_000, 1);
    clock.advance(3 * HOUR);
    const ssm = new SSMClient({});
    const run = await runCheck(
      {
        inventory: new Ec2SsmInventory({ ec2: a.ec2, ssm, clock, optOutTagKey: autoUndo.optOutTagKey }),
        runCommand: new SsmRunCommand({ ssm, clock }),
        clock,
        imdsv2: { ...a.ports, recordKey: async () => Promise.reject(new Error('AccessDeniedException')) },
      },
      autoUndo,
    );
    expect(run.imdsv2!.watch).toMatchObject({ watched: 0, rolledBack: [], error: expect.stringContaining('AccessDeniedException') });
    expect(optionalCalls()).toHaveLength(0);
  });

  it('a forged tag on a ready instance does not change its plan: it is enforced as if untagged', async () => {
    const clock = new VirtualClock(NIGHT);
    const fleet = [ec2Member(1, 60, { tags: [{ Key: IMDSV2_ENFORCED_TAG_KEY, Value: new Date(NIGHT - DAY).toISOString() }] })];
    const a = account(fleet, clock);
    a.cw.runInstance(idOf(1), NIGHT - 60 * DAY, NIGHT);
    const run = await a.check(enforce);
    const readiness = run.imdsv2!.readiness.readiness;
    const plan = planImdsv2Enforcement(
      run.evaluations.map((e) => ({ evaluation: e, readiness: readiness.get(e.instanceId), tag: parseEnforcedTag(tagOf(a.byId.get(e.instanceId)!)) })),
      enforce,
      10,
    );
    expect(plan).toEqual({ enforce: [{ instanceId: idOf(1) }], skipped: [] });
  });
});

describe('what others cannot make it do: a poisoned readiness snapshot', () => {
  const enforce = parseSettings({ ...SIM_DOCUMENT_PINS, TSG_IMDSV2: 'enforce' });

  it.each<[string, (w: ReturnType<typeof readinessWindow>) => ReturnType<typeof readinessWindow>]>([
    ['window.days = []', (w) => ({ ...w, days: [] })],
    ['days that are not the settings\' window', (w) => ({ ...w, days: w.days.slice(0, 3) })],
  ])('refuses a snapshot with %s, says so, and judges from a fresh read: the IMDSv1 user is not ready', async (_what, poison) => {
    const clock = new VirtualClock(NIGHT);
    const fleet = [ec2Member(1), ec2Member(2, 3)];
    const a = account(fleet, clock);
    a.cw.runInstance(idOf(1), NIGHT - 60 * DAY, NIGHT, (d) => (d === readinessDay(13) ? 4 : 0));
    a.cw.runInstance(idOf(2), NIGHT - 3 * DAY, NIGHT);
    // Written by someone else an hour ago: i-1 has no data on any "required" day, i-2 (three days old) neither.
    const w = readinessWindow(NIGHT - HOUR, 14);
    a.store.text = JSON.stringify(buildSnapshot(poison(w), 14, new Map([[idOf(1), {}], [idOf(2), {}]])));
    const logs: string[] = [];
    const ssm = new SSMClient({});
    const run = await runCheck(
      {
        inventory: new Ec2SsmInventory({ ec2: a.ec2, ssm, clock, optOutTagKey: enforce.optOutTagKey }),
        runCommand: new SsmRunCommand({ ssm, clock }),
        clock,
        imdsv2: a.ports,
        logger: { info: () => undefined, warn: (m: string) => void logs.push(m), error: () => undefined, debug: () => undefined } as never,
      },
      enforce,
    );
    const r = run.imdsv2!.readiness;
    expect(r.refused).toEqual(expect.any(String));
    expect(logs).toContain('imdsv2-snapshot-refused');
    expect(r.refreshed).toBe(true);
    expect(r.readiness.get(idOf(1))).toMatchObject({ state: 'uses-imdsv1', imdsv1Calls: 4 });
    expect(r.readiness.get(idOf(2))).toMatchObject({ state: 'not-enough-history' });
    expect(r.counts.ready).toBe(0);
  });

  it('a consistent but false snapshot (all zeros) plans the switch, and the remediate side\'s fresh read refuses it', async () => {
    const clock = new VirtualClock(NIGHT);
    const fleet = [ec2Member(1), ec2Member(2)];
    const a = account(fleet, clock);
    a.cw.runInstance(idOf(1), NIGHT - 60 * DAY, NIGHT, (d) => (d === readinessDay(13) ? 2 : 0));
    a.cw.runInstance(idOf(2), NIGHT - 60 * DAY, NIGHT);
    const w = readinessWindow(NIGHT - HOUR, 14);
    const zeros = Object.fromEntries(w.days.map((d) => [d, 0]));
    a.store.text = JSON.stringify(buildSnapshot(w, 14, new Map([[idOf(1), zeros], [idOf(2), zeros]])));
    const settings = { ...enforce, fixTimeSync: false };
    const result = await remediateNight(a, clock, settings, 'run-poisoned');
    expect(result.done).toBe(true);
    const v2 = auditDetails().filter((e) => e.action === 'require-imdsv2').map((e) => [e.instanceId, e.outcome, e.reason]);
    // Both planned from the (false) snapshot; only the truly clean one is switched.
    expect(v2).toEqual([
      [idOf(1), 'planned', undefined],
      [idOf(2), 'planned', undefined],
      [idOf(1), 'skipped', 'uses-imdsv1'],
      [idOf(2), 'applied', undefined],
      [idOf(2), 'verified', undefined],
    ]);
    expect(a.byId.get(idOf(1))!.httpTokens).toBe('optional');
    expect(tagOf(a.byId.get(idOf(1))!)).toBeUndefined();
    expect(sim.ec2.commandCalls(ModifyInstanceMetadataOptionsCommand).map((c) => c.args[0].input.InstanceId)).toEqual([idOf(2)]);
  });

  it('switches nothing whose fresh read could not be made', async () => {
    const clock = new VirtualClock(NIGHT);
    const a = account([ec2Member(1)], clock);
    a.cw.runInstance(idOf(1), NIGHT - 60 * DAY, NIGHT);
    const audit: Imdsv2AuditRecord[] = [];
    const done = await runImdsv2Enforcement(
      { ec2: a.ec2Port, clock, audit: (r) => void audit.push(r), recheck: async () => Promise.reject(new Error('Throttling')), recordKey: async () => KEY },
      { pending: [{ instanceId: idOf(1) }], verifying: [] },
      { deadline: clock.now() + 600_000, verifyPollMs: 1_000 },
    );
    expect(done).toBe(true);
    expect(audit).toEqual([expect.objectContaining({ instanceId: idOf(1), outcome: 'skipped', reason: 'usage-unreadable' })]);
    const partial = await runImdsv2Enforcement(
      { ec2: a.ec2Port, clock, audit: (r) => void audit.push(r), recheck: async () => new Map(), recordKey: async () => KEY },
      { pending: [{ instanceId: idOf(1) }], verifying: [] },
      { deadline: clock.now() + 600_000, verifyPollMs: 1_000 },
    );
    expect(partial).toBe(true);
    expect(audit.at(-1)).toMatchObject({ instanceId: idOf(1), outcome: 'skipped', reason: 'usage-unreadable' });
    expect(sim.ec2.commandCalls(ModifyInstanceMetadataOptionsCommand)).toHaveLength(0);
    expect(a.byId.get(idOf(1))!.httpTokens).toBe('optional');
  });
});
