/**
 * A new remediation action plugs in as one ActionPhase: planned audit, queued on a real plan,
 * carried in the continuation, dropped by the current settings on resume, run beside the phases
 * every run has (IMDS rows, guest document), and the run is done only when it is.
 */
import { VirtualClock } from '../../../lambda/aws/clock';
import type { InstanceEvaluation } from '../../../lambda/core/types';
import { ContinuationError, decodeContinuation, encodeContinuation, int } from '../../../lambda/engine/remediation/continuation';
import { GUEST_PHASE } from '../../../lambda/engine/remediation/guest-phase';
import { IMDS_PHASE } from '../../../lambda/engine/remediation/imds-phase';
import type { ActionPhase } from '../../../lambda/engine/remediation/phase';
import { runRemediation } from '../../../lambda/engine/remediation/run';
import { newRunState } from '../../../lambda/engine/remediation/state';
import { id, MemoryAudit, MemoryImds, settings, TableRunCommand } from './support';

interface Item {
  id: string;
  tries: number;
}

/** A stand-in action (audited as `raise-hop-limit` so it needs no new union member in this test). */
function fakePhase(log: string[], budget = { runs: 1 }): ActionPhase<Item> {
  return {
    key: 'fake',
    actionsOf: () => ['raise-hop-limit'],
    planned: (p) => (p.hopLimit ? [{ action: 'raise-hop-limit', after: { fake: true } }] : []),
    select: (plan) => plan.instances.filter((p) => p.hopLimit).map((p) => ({ id: p.instanceId, tries: 0 })),
    enabled: (s) => s.hopLimitTarget > 1,
    encode: (i) => [String(i.tries)],
    decode: (i, [t]) => ({ id: i, tries: int(t, 'tries') }),
    async run(ctx, items) {
      if (budget.runs-- <= 0) return false; // "out of time": the rest goes into the continuation
      for (const i of items.splice(0)) {
        log.push(i.id);
        ctx.audit(i.id, 'raise-hop-limit', 'verified', { after: { fake: true } });
      }
      return true;
    },
  };
}

/** A checked instance with containers and hop limit 1: the plan raises its hop limit. */
const ev = (instanceId: string): InstanceEvaluation => ({
  instanceId,
  platform: 'linux',
  status: 'at-risk',
  checkState: 'checked',
  findings: [],
  imds: { hopLimit: 1, httpEndpoint: 'enabled', httpTokens: 'required', state: 'applied' },
  hasInstanceProfile: true,
  verdict: {
    platform: 'linux',
    daemon: 'chrony',
    timeSource: 'amazon-ipv4',
    synchronized: true,
    offsetSeconds: 0,
    clockErrorBoundSeconds: 0.001,
    containers: true,
    status: 'ok',
    findings: [],
  },
});

function deps(clock: VirtualClock, phase: ActionPhase<Item>, audit = new MemoryAudit()) {
  const imds = new MemoryImds(new Map([[id(1), { hopLimit: 1, httpEndpoint: 'enabled', state: 'applied' }]]));
  return {
    audit,
    d: {
      clock,
      check: async () => ({ evaluations: [ev(id(1))] }),
      imds: () => imds,
      runCommand: new TableRunCommand(() => undefined),
      parseOutput: () => ({ result: 'unknown' as const }),
      audit,
      continuationKey: async () => Buffer.from('key-key-key-key-key-key-key-key!'),
      newRunId: () => 'run-1',
      actionPhases: [phase as ActionPhase],
    },
  };
}

describe('a plugged-in action phase', () => {
  it('is planned, run beside the built-in sides and counted; the run is done only when it is', async () => {
    const clock = new VirtualClock();
    const ran: string[] = [];
    const { d, audit } = deps(clock, fakePhase(ran));
    const out = await runRemediation(d, settings({ fixTimeSync: false }), {}, { deadline: clock.now() + 3_600_000 });
    expect(ran).toEqual([id(1)]);
    expect(out.done).toBe(true);
    const mine = audit.sent.filter((a) => (a.after as { fake?: boolean } | undefined)?.fake);
    expect(mine.map((a) => a.outcome)).toEqual(['planned', 'verified']);
  });

  it('hands its unfinished items on in the continuation and finishes them in the next invocation', async () => {
    const clock = new VirtualClock();
    const ran: string[] = [];
    const phase = fakePhase(ran, { runs: 0 });
    const { d } = deps(clock, phase);
    const first = await runRemediation(d, settings({ fixTimeSync: false }), {}, { deadline: clock.now() + 3_600_000 });
    expect(first.done).toBe(false);
    expect(ran).toEqual([]);
    const { d: d2 } = deps(clock, fakePhase(ran));
    const second = await runRemediation(d2, settings({ fixTimeSync: false }), { continuation: first.continuation! }, { deadline: clock.now() + 3_600_000 });
    expect(second.done).toBe(true);
    expect(ran).toEqual([id(1)]);
  });

  it('is dropped as setting-off on resume when the current settings no longer want it', async () => {
    const clock = new VirtualClock();
    const ran: string[] = [];
    const { d } = deps(clock, fakePhase(ran, { runs: 0 }));
    const first = await runRemediation(d, settings({ fixTimeSync: false }), {}, { deadline: clock.now() + 3_600_000 });
    const audit = new MemoryAudit();
    const { d: d2 } = deps(clock, fakePhase(ran), audit);
    await runRemediation(d2, settings({ fixTimeSync: false, hopLimitTarget: 1 }), { continuation: first.continuation! }, { deadline: clock.now() + 3_600_000 });
    expect(ran).toEqual([]);
    expect(audit.sent.filter((a) => a.reason === 'setting-off').map((a) => a.instanceId)).toEqual([id(1)]);
  });
});

describe("a plugged-in phase's begin", () => {
  it('gets the invocation context in a dry run: what it audits through it is sent and counted like the dry run\'s instance actions', async () => {
    const clock = new VirtualClock();
    const seen: boolean[] = [];
    const phase: ActionPhase<Item> = {
      ...fakePhase([]),
      async begin({ plan, ctx }) {
        seen.push(plan.dryRun);
        ctx?.audit('lt-1', 'raise-hop-limit', 'planned', { after: { fake: true } });
        ctx?.audit('lt-1', 'raise-hop-limit', 'skipped', { reason: 'dry-run', after: { fake: true } });
      },
    };
    const { d, audit } = deps(clock, phase);
    const out = await runRemediation(d, settings({ fixTimeSync: false, dryRun: true }), {}, { deadline: clock.now() + 3_600_000 });
    expect(seen).toEqual([true]);
    expect(out.done).toBe(true);
    const mine = audit.sent.filter((a) => a.instanceId === 'lt-1');
    expect(mine.map((a) => `${a.outcome}:${a.reason ?? ''}:${a.dryRun}`)).toEqual(['planned::true', 'skipped:dry-run:true']);
    // The dry run's instance (hop limit planned by the built-in row and by the phase, skipped dry-run) and the phase's records, counted alike.
    expect(out.summary.counts).toMatchObject({ planned: 3, skipped: 2 });
  });
});

describe('continuation with plugged-in phases', () => {
  const KEY = Buffer.from('k');
  const codec = fakePhase([]);
  it('round-trips a phase list', () => {
    const clock = new VirtualClock();
    const s = { ...newRunState({ runId: 'r', startedAt: clock.now(), dryRun: false, fleetSize: 1, cap: 1, plannedInstances: 1 }), actions: { fake: [{ id: id(7), tries: 3 }] } };
    const back = decodeContinuation(encodeContinuation(s, KEY, clock.now(), [codec]), KEY, clock.now(), [codec]);
    expect(back.actions).toEqual({ fake: [{ id: id(7), tries: 3 }] });
  });

  it('encodes a run without plugged-in items exactly as without phases', () => {
    const clock = new VirtualClock();
    const s = newRunState({ runId: 'r', startedAt: clock.now(), dryRun: false, fleetSize: 1, cap: 1, plannedInstances: 1 });
    expect(encodeContinuation(s, KEY, clock.now(), [codec])).toBe(encodeContinuation(s, KEY, clock.now()));
  });

  it('refuses a continuation naming a phase this engine does not have', () => {
    const clock = new VirtualClock();
    const s = { ...newRunState({ runId: 'r', startedAt: clock.now(), dryRun: false, fleetSize: 1, cap: 1, plannedInstances: 1 }), actions: { fake: [{ id: id(7), tries: 3 }] } };
    expect(() => decodeContinuation(encodeContinuation(s, KEY, clock.now(), [codec]), KEY, clock.now())).toThrow(ContinuationError);
  });
});

describe("a plugged-in phase's wants (planInstance loops over them)", () => {
  /** Wants every instance whose hop limit reads 1, whatever the metadata rows say; selects what the plan kept for it. */
  function wantingPhase(log: string[]): ActionPhase<Item> {
    return {
      ...fakePhase(log),
      wants: (e) => ({ wanted: e.imds?.hopLimit === 1 ? [{ action: 'raise-hop-limit', after: { fake: true } }] : [] }),
      planned: (p) => (p.actions.includes('raise-hop-limit') ? [{ action: 'raise-hop-limit', after: { fake: true } }] : []),
      select: (plan) => plan.instances.map((p) => ({ id: p.instanceId, tries: 0 })),
    };
  }

  it('plans an instance no metadata row wants, under the cap, and runs it', async () => {
    const clock = new VirtualClock();
    const ran: string[] = [];
    const { d, audit } = deps(clock, wantingPhase(ran));
    // hopLimitScope `containers` with no containers: no metadata row wants the instance; the phase does.
    const noContainers = { ...ev(id(1)), verdict: { ...ev(id(1)).verdict!, containers: false } };
    const out = await runRemediation({ ...d, check: async () => ({ evaluations: [noContainers] }) }, settings({ fixTimeSync: false }), {}, { deadline: clock.now() + 3_600_000 });
    expect(out.done).toBe(true);
    expect(ran).toEqual([id(1)]);
    expect(out.summary.plannedInstances).toBe(1);
    expect(audit.sent.filter((a) => (a.after as { fake?: boolean } | undefined)?.fake).map((a) => a.outcome)).toEqual(['planned', 'verified']);
  });

  it('counts against the cap like any other action: at cap 0 the instance is skipped cap-reached and never run', async () => {
    const clock = new VirtualClock();
    const ran: string[] = [];
    const { d, audit } = deps(clock, wantingPhase(ran));
    const noContainers = { ...ev(id(1)), verdict: { ...ev(id(1)).verdict!, containers: false } };
    await runRemediation({ ...d, check: async () => ({ evaluations: [noContainers] }) }, settings({ fixTimeSync: false, maxChangesPerRun: 0 }), {}, { deadline: clock.now() + 3_600_000 });
    expect(ran).toEqual([]);
    expect(audit.sent.map((a) => `${a.action}:${a.outcome}:${a.reason ?? ''}`)).toContain('raise-hop-limit:skipped:cap-reached');
  });

  it("the engine's plan calls each phase's wants, in phase order (IMDS rows, guest document, plugged-in), once per instance, and nothing twice", async () => {
    const calls: string[] = [];
    const imdsOwn = IMDS_PHASE.wants!;
    const guestOwn = GUEST_PHASE.wants!;
    const imdsWants = jest.spyOn(IMDS_PHASE, 'wants' as never) as unknown as jest.SpyInstance;
    const guestWants = jest.spyOn(GUEST_PHASE, 'wants' as never) as unknown as jest.SpyInstance;
    imdsWants.mockImplementation(((e: InstanceEvaluation, s: never) => (calls.push(`imds:${e.instanceId}`), imdsOwn(e, s))) as never);
    guestWants.mockImplementation(((e: InstanceEvaluation, s: never) => (calls.push(`guest:${e.instanceId}`), guestOwn(e, s))) as never);
    try {
      for (const dryRun of [false, true]) {
        calls.length = 0;
        const clock = new VirtualClock();
        const phase = wantingPhase([]);
        const own = phase.wants!;
        const actions: string[][] = [];
        const { d, audit } = deps(clock, {
          ...phase,
          wants: (e, s) => (calls.push(`fake:${e.instanceId}`), own(e, s)),
          planned: (p) => (actions.push([...p.actions]), phase.planned(p)),
        });
        await runRemediation(d, settings({ fixTimeSync: false, dryRun }), {}, { deadline: clock.now() + 3_600_000 });
        expect(calls).toEqual([`imds:${id(1)}`, `guest:${id(1)}`, `fake:${id(1)}`]);
        // The metadata rows are the IMDS phase's wants, not added again: the hop limit is wanted by it and by the plugged-in phase, once each.
        expect(actions).toEqual([['raise-hop-limit', 'raise-hop-limit']]);
        const planned = audit.sent.filter((a) => a.outcome === 'planned' && a.action === 'raise-hop-limit');
        expect(planned.map((a) => ((a.after as { fake?: boolean }).fake ? 'fake' : 'imds'))).toEqual(['imds', 'fake']);
      }
    } finally {
      imdsWants.mockRestore();
      guestWants.mockRestore();
    }
  });
});
