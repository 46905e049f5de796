import { decideUrgent, type ExecutionRecord, parseUrgentScope, readUrgentHistory, runScope, URGENT_RETRY_WINDOW_MS, urgencyOf, urgentExecutionName } from '../../lambda/core/fleet/urgent';
import { effectiveCap, planRemediation, StreamingPlan } from '../../lambda/core/remediation/plan';
import { parseSettings, type Settings } from '../../lambda/core/settings';
import type { InstanceEvaluation, Verdict } from '../../lambda/core/types';

const settings: Settings = parseSettings({});
const NOW = Date.parse('2026-12-07T12:00:00Z');
const HOUR = 3_600_000;
const A = 'i-0aaaaaaaaaaaaaaa1';
const B = 'i-0bbbbbbbbbbbbbbb2';
const C = 'i-0ccccccccccccccc3';

function ev(id: string, o: { offset?: number | null; hop?: number; containers?: boolean; status?: Verdict['status']; checkState?: InstanceEvaluation['checkState']; codes?: string[]; orchestrator?: boolean } = {}): InstanceEvaluation {
  const checkState = o.checkState ?? 'checked';
  return {
    instanceId: id,
    platform: 'linux',
    status: o.status ?? 'at-risk',
    checkState,
    findings: (o.codes ?? []).map((code) => ({ code, message: code })) as InstanceEvaluation['findings'],
    imds: { hopLimit: o.hop ?? 2, httpEndpoint: 'enabled', httpTokens: 'required', state: 'applied' },
    hasInstanceProfile: true,
    verdict:
      checkState === 'checked'
        ? {
            platform: 'linux',
            daemon: 'chrony',
            timeSource: 'other',
            synchronized: true,
            offsetSeconds: o.offset === undefined ? 0.001 : o.offset,
            clockErrorBoundSeconds: 0.01,
            containers: o.containers ?? false,
            status: o.status ?? 'at-risk',
            findings: [],
            ...(o.orchestrator ? { containerRuntimes: ['containerd', 'kubelet'] } : {}),
          }
        : undefined,
  };
}

describe('urgencyOf: which hosts cannot wait for the night', () => {
  it.each([
    ['|offset| at the threshold, behind', { offset: -60 }, ['offset']],
    ['|offset| over it, ahead', { offset: 240 }, ['offset']],
    ['an offset just under it', { offset: 59.9 }, []],
    ['a container host with hop limit 1', { containers: true, hop: 1 }, ['hop-limit']],
    ['hop limit 1 without containers', { containers: false, hop: 1 }, []],
    ['a disabled endpoint on an instance with a profile', { codes: ['imds-endpoint-disabled'] }, ['imds-credentials']],
    ['a proxy that catches IMDS requests', { codes: ['proxy-without-no-proxy'] }, ['imds-credentials']],
  ] as const)('%s', (_name, o, want) => {
    expect(urgencyOf(ev(A, o as Parameters<typeof ev>[1]), settings)).toEqual(want);
  });

  it('never judges an unknown verdict (cut report, implausible value) urgent on its offset', () => {
    expect(urgencyOf(ev(A, { offset: 500, status: 'unknown' }), settings)).toEqual([]);
    expect(urgencyOf(ev(A, { offset: null }), settings)).toEqual([]);
    expect(urgencyOf(ev(A, { offset: Number.NaN }), settings)).toEqual([]);
  });

  it('leaves a Kubernetes node the hop-limit scope keeps at 1 to the report, unless the scope covers it', () => {
    const node = ev(A, { containers: true, hop: 1, orchestrator: true });
    expect(urgencyOf(node, settings)).toEqual([]);
    expect(urgencyOf(node, { ...settings, hopLimitScope: 'containers-and-orchestrators' })).toEqual(['hop-limit']);
  });

  it('follows urgentOffsetSeconds', () => {
    expect(urgencyOf(ev(A, { offset: 30 }), { ...settings, urgentOffsetSeconds: 30 })).toEqual(['offset']);
  });
});

describe('decideUrgent: the urgent set of one check', () => {
  const fleet = [ev(C, { offset: 120 }), ev(A, { offset: 120 }), ev(B, { offset: 0.001, status: 'ok' }), ev(A, { offset: 120 })];

  it('starts the urgent hosts once each, sorted, and nothing else', () => {
    expect(decideUrgent(fleet, settings, { takenAt: new Map() }, NOW)).toMatchObject({ start: [A, C], repeat: [], overLimit: [] });
  });

  it('does not retry a host the urgent path took within 24 h (the nightly run and the alarm take it)', () => {
    const d = decideUrgent(fleet, settings, { takenAt: new Map([[A, NOW - 23 * HOUR]]) }, NOW);
    expect(d.start).toEqual([C]);
    expect(d.repeat).toEqual([A]);
  });

  it('takes it again once 24 h have passed', () => {
    expect(decideUrgent(fleet, settings, { takenAt: new Map([[A, NOW - URGENT_RETRY_WINDOW_MS]]) }, NOW).start).toEqual([A, C]);
  });

  it('never starts an urgent host the nightly plan would not change (reported unfixable, not a repeat)', () => {
    const amazon = (e: InstanceEvaluation): InstanceEvaluation => ({ ...e, verdict: { ...e.verdict!, timeSource: 'amazon-ipv4' } });
    const onAmazon = amazon(ev(A, { offset: 300 }));
    const proxy = amazon(ev(B, { offset: 0.001, codes: ['proxy-without-no-proxy'] }));
    const d = decideUrgent([onAmazon, proxy], settings, { takenAt: new Map([[A, NOW - HOUR]]) }, NOW);
    expect(d).toMatchObject({ start: [], repeat: [], unfixable: [A, B] });
    expect(decideUrgent([proxy], { ...settings, fixNoProxy: true }, { takenAt: new Map() }, NOW).start).toEqual([B]);
  });

  it('keeps over 1,000 ids for the next check, never sends more', () => {
    const many = Array.from({ length: 1005 }, (_, k) => ev(`i-${k.toString(16).padStart(17, '0')}`, { offset: 100 }));
    const d = decideUrgent(many, settings, { takenAt: new Map() }, NOW);
    expect(d.start).toHaveLength(1000);
    expect(d.overLimit).toHaveLength(5);
  });

  it('reads garbage as no evaluation, never throws', () => {
    expect(decideUrgent([null, {}, 3] as unknown as InstanceEvaluation[], settings, { takenAt: new Map() }, NOW).start).toEqual([]);
    expect(decideUrgent(undefined as unknown as InstanceEvaluation[], settings, { takenAt: new Map() }, NOW).start).toEqual([]);
  });
});

const urgentRun = (at: number, ids: string[], planned?: number, extra: Partial<ExecutionRecord> = {}): ExecutionRecord => ({
  name: urgentExecutionName(at, 'ab12'),
  status: 'SUCCEEDED',
  startedAt: at,
  input: JSON.stringify({ trigger: 'urgent', instanceIds: ids, capSpent: 0 }),
  ...(planned !== undefined ? { output: JSON.stringify({ done: true, summary: { plannedInstances: planned } }) } : {}),
  ...extra,
});
const nightRun = (at: number, planned?: number, status = 'SUCCEEDED'): ExecutionRecord => ({
  name: 'nightly',
  status,
  startedAt: at,
  input: '{}',
  ...(planned !== undefined ? { output: JSON.stringify({ done: true, summary: { plannedInstances: planned } }) } : {}),
});

describe("readUrgentHistory: the urgent memory and the day's spent cap from the machine's own executions", () => {
  it('remembers when the urgent path last took each host within the window', () => {
    const m = readUrgentHistory([urgentRun(NOW - 2 * HOUR, [A, B], 2), urgentRun(NOW - HOUR, [A], 1), urgentRun(NOW - 25 * HOUR, [C], 1)], NOW);
    expect([...m.takenAt].sort()).toEqual([
      [A, NOW - HOUR],
      [B, NOW - 2 * HOUR],
    ]);
  });

  it('does not count a run the overlap guard skipped as taken', () => {
    const m = readUrgentHistory([urgentRun(NOW - HOUR, [A], undefined, { output: JSON.stringify({ skipped: 'overlap', reason: 'x' }) })], NOW);
    expect(m.takenAt.size).toBe(0);
    expect(m.capSpent).toBe(0);
  });

  it("spends the night's selection and every urgent run's since that night, not the urgent runs before it", () => {
    const m = readUrgentHistory([urgentRun(NOW - 12 * HOUR, [A], 1), nightRun(NOW - 10 * HOUR, 40), urgentRun(NOW - 3 * HOUR, [B], 1), urgentRun(NOW - 2 * HOUR, [C])], NOW);
    // The last urgent run's output is missing (still running or failed): it counts as its ids.
    expect(m.capSpent).toBe(40 + 1 + 1);
  });

  it('an unreadable whole-region run leaves the spent cap unknown (no urgent run starts)', () => {
    expect(readUrgentHistory([nightRun(NOW - HOUR, undefined, 'FAILED')], NOW).capSpent).toBeUndefined();
    expect(readUrgentHistory([nightRun(NOW - HOUR, undefined, 'RUNNING')], NOW)).toMatchObject({ capSpent: undefined, running: true });
  });

  it('ignores forged or broken records: malformed ids, bad JSON, future or missing times, launch runs', () => {
    const m = readUrgentHistory(
      [
        urgentRun(NOW - HOUR, ['not-an-id']),
        { name: 'urgent-x', status: 'SUCCEEDED', startedAt: NOW - HOUR, input: '{not json' },
        urgentRun(NOW + HOUR, [A]),
        { ...urgentRun(NOW - HOUR, [A]), startedAt: 'yesterday' },
        { name: 'launch-x', status: 'SUCCEEDED', startedAt: NOW - HOUR, input: JSON.stringify({ trigger: 'launch', instanceIds: [A] }) },
        null as unknown as ExecutionRecord,
      ],
      NOW,
    );
    expect(m).toEqual({ takenAt: new Map(), capSpent: 0, running: false });
  });
});

describe('the urgent request on the remediate side', () => {
  it('reads ids and the spent cap of an urgent request', () => {
    expect(runScope({ trigger: 'urgent', instanceIds: [A, A, B], capSpent: 5 })).toEqual({ ok: true, instanceIds: [A, B], capSpent: 5 });
  });

  it.each([
    ['no ids', { trigger: 'urgent', capSpent: 0 }],
    ['empty ids', { trigger: 'urgent', instanceIds: [], capSpent: 0 }],
    ['a malformed id', { trigger: 'urgent', instanceIds: ['i-xyz'], capSpent: 0 }],
    ['no spent cap', { trigger: 'urgent', instanceIds: [A] }],
    ['a negative spent cap', { trigger: 'urgent', instanceIds: [A], capSpent: -1 }],
    ['a fractional spent cap', { trigger: 'urgent', instanceIds: [A], capSpent: 1.5 }],
    ['a spent cap as text', { trigger: 'urgent', instanceIds: [A], capSpent: '0' }],
  ])('refuses an urgent request with %s, never widening it to the region', (_name, request) => {
    expect(parseUrgentScope(request as Record<string, unknown>).ok).toBe(false);
    expect(runScope(request).ok).toBe(false);
  });

  it('leaves launch and nightly requests as they were', () => {
    expect(runScope({})).toEqual({ ok: true });
    expect(runScope({ trigger: 'launch', instanceIds: [A] })).toEqual({ ok: true, instanceIds: [A] });
  });

  it('names the execution within Step Functions limits', () => {
    expect(urgentExecutionName(NOW, 'ABCDEF0123456789abcdef0123456789zz')).toMatch(/^urgent-[0-9TZ-]+-[0-9a-f]{1,16}$/);
    expect(urgentExecutionName(NOW, 'abcdef0123456789abcdef').length).toBeLessThanOrEqual(80);
  });
});

describe("the day's cap: urgent runs spend the nightly run's budget", () => {
  const capped = { ...settings, maxChangesPerRun: 10, maxChangesPercent: 100, fixTimeSync: true };
  const needy = Array.from({ length: 8 }, (_, k) => ({ ...ev(`i-${k.toString(16).padStart(17, '0')}`, { containers: true, hop: 1 }) }));

  it('takes what the day spent off the cap, and unreadable spending as the whole cap', () => {
    expect(effectiveCap(capped, 100, 0)).toBe(10);
    expect(effectiveCap(capped, 100, 7)).toBe(3);
    expect(effectiveCap(capped, 100, 12)).toBe(0);
    expect(effectiveCap(capped, 100, Number.NaN)).toBe(0);
  });

  it('plans only the room left, the rest cap-reached', () => {
    const plan = planRemediation(needy, capped, 100, { spent: 7 });
    expect(plan.instances).toHaveLength(3);
    expect(new Set(plan.skipped.filter((s) => s.reason === 'cap-reached').map((s) => s.instanceId)).size).toBe(5);
  });

  it('the streaming planner admits only the room left', () => {
    const p = new StreamingPlan(capped, 9);
    p.listed(100);
    const admitted = needy.flatMap((e) => p.offer(e).admitted);
    expect(admitted).toHaveLength(1);
  });
});
