import {
  AMBIGUOUS_ENFORCED_TAG,
  decideRollbacks,
  enforcedTagValueOf,
  parseEnforcedTag,
  planImdsv2Enforcement,
  rolledBackTagValue,
  tokensGateFromReadiness,
  watchList,
  type EnforcementSettings,
  type Imdsv2Candidate,
} from '../../lambda/core/imdsv2/enforcement';
import {
  agentTriesImdsv1First,
  assessReadiness,
  compareVersions,
  countReadiness,
  judgeFreshUsage,
  readinessWindow,
  type Imdsv2Readiness,
  type ReadinessInput,
} from '../../lambda/core/imdsv2/readiness';
import { buildSnapshot, parseSnapshot, readinessFromSnapshot, snapshotIsFresh, snapshotWindowMismatch, type ReadinessSnapshot } from '../../lambda/core/imdsv2/snapshot';
import type { InstanceEvaluation } from '../../lambda/core/types';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 30, 2, 0); // 02:00 UTC, the nightly run
const W = readinessWindow(NOW, 14);
const OLD = new Date(NOW - 60 * DAY).toISOString();

/** Daily sums over the whole window: zeros, with `calls` on the given day index (0 = first day). */
function days(calls: Record<number, number> = {}, missing: number[] = []): Record<string, number> {
  const out: Record<string, number> = {};
  W.days.forEach((d, k) => {
    if (!missing.includes(k)) out[d] = calls[k] ?? 0;
  });
  return out;
}

const input = (extra: Partial<ReadinessInput> = {}): ReadinessInput => ({ instanceId: 'i-1', httpTokens: 'optional', launchTime: OLD, daily: days(), ...extra });

describe('readinessWindow', () => {
  it('covers the whole UTC days before today, plus today so far', () => {
    expect(W.days).toHaveLength(14);
    expect(W.days[0]).toBe('2026-11-16');
    expect(W.days[13]).toBe('2026-11-29');
    expect(W.start).toBe(Date.UTC(2026, 10, 16));
    expect(W.end).toBe(NOW);
  });
});

describe('assessReadiness', () => {
  it.each<[string, Partial<ReadinessInput>, Record<string, unknown>]>([
    ['zero calls over a full window of data is ready', {}, { state: 'ready', daysWithData: 14 }],
    ['one IMDSv1 call on day 13 uses IMDSv1 and names that day', { daily: days({ 12: 1 }) }, { state: 'uses-imdsv1', imdsv1Calls: 1, lastImdsv1Day: '2026-11-28' }],
    ['calls this morning (today so far) count', { daily: { ...days(), '2026-11-30': 3 } }, { state: 'uses-imdsv1', lastImdsv1Day: '2026-11-30' }],
    ['the last of several days is named', { daily: days({ 2: 5, 9: 1 }) }, { state: 'uses-imdsv1', imdsv1Calls: 6, lastImdsv1Day: '2026-11-25' }],
    ['calls before the window are ignored', { daily: { ...days(), '2026-11-01': 40 } }, { state: 'ready' }],
    ['a call with gaps is still uses-imdsv1', { daily: days({ 5: 2 }, [0, 1]) }, { state: 'uses-imdsv1' }],
    ['a day without a datapoint is not enough history', { daily: days({}, [7]) }, { state: 'not-enough-history', reason: 'gaps', daysWithData: 13 }],
    ['an instance launched inside the window is not enough history', { launchTime: new Date(NOW - 5 * DAY).toISOString() }, { state: 'not-enough-history', reason: 'younger-than-window' }],
    ['no launch time is not enough history', { launchTime: undefined }, { state: 'not-enough-history', reason: 'launch-time-unknown' }],
    ['unreadable metrics are never ready', { daily: undefined }, { state: 'not-enough-history', reason: 'metrics-unreadable' }],
    ['unknown tokens are never ready', { httpTokens: undefined }, { state: 'not-enough-history', reason: 'tokens-unknown' }],
    ['tokens required wins over everything', { httpTokens: 'required', daily: days({ 3: 9 }) }, { state: 'already-required' }],
    ['an SSM Agent before 3.0.431.0 is named as a likely source', { daily: days({ 1: 1 }), agentVersion: '3.0.222.0' }, { state: 'uses-imdsv1', likelySource: 'ssm-agent-3.0.222.0' }],
  ])('%s', (_what, extra, expected) => {
    expect(assessReadiness(input(extra), W)).toMatchObject(expected);
  });

  it('does not name a current SSM Agent as the source', () => {
    expect(assessReadiness(input({ daily: days({ 1: 1 }), agentVersion: '3.3.1142.0' }), W).likelySource).toBeUndefined();
  });

  it('counts instances per state', () => {
    const list = [assessReadiness(input(), W), assessReadiness(input({ httpTokens: 'required' }), W), assessReadiness(input({ daily: days({ 0: 1 }) }), W)];
    expect(countReadiness(list)).toEqual({ 'uses-imdsv1': 1, ready: 1, 'not-enough-history': 0, 'already-required': 1 });
  });
});

describe('SSM Agent versions', () => {
  it.each([
    ['3.0.431.0', '3.0.431.0', 0],
    ['3.0.222.0', '3.0.431.0', -1],
    ['3.1.0.0', '3.0.431.0', 1],
    ['2.3.1644.0', '3.0.431.0', -1],
  ])('compares %s with %s', (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign);
  });
  it.each([
    ['3.0.430.9', true],
    ['3.0.431.0', false],
    ['garbage', false],
    [undefined, false],
  ])('agent %s tries IMDSv1 first: %s', (v, expected) => {
    expect(agentTriesImdsv1First(v)).toBe(expected);
  });
});

describe('the readiness snapshot', () => {
  const snap = buildSnapshot(W, 14, new Map([['i-1', days()], ['i-2', days({ 12: 1 })], ['i-3', undefined]]));

  it('round-trips through JSON and is fresh for 24 hours only', () => {
    const parsed = parseSnapshot(JSON.stringify(snap));
    expect(parsed).toEqual(snap);
    expect(snapshotIsFresh(parsed, NOW + 23 * 3_600_000, 14)).toBe(true);
    expect(snapshotIsFresh(parsed, NOW + 24 * 3_600_000, 14)).toBe(false);
    expect(snapshotIsFresh(parsed, NOW, 30)).toBe(false); // another lookback: refresh
  });

  it.each([
    ['empty text', ''],
    ['not JSON', 'not json'],
    ['an empty object', '{}'],
    ['another version', JSON.stringify({ ...snap, version: 2 })],
    ['a non-numeric sum', JSON.stringify({ ...snap, daily: { 'i-1': { d: 'x' } } })],
  ])('reads %s as no snapshot (a refresh follows)', (_what, text) => {
    expect(parseSnapshot(text)).toBeUndefined();
  });

  it('judges the current fleet on the stored sums with current tokens, and new instances as not enough history', () => {
    const out = readinessFromSnapshot(snap, [
      { instanceId: 'i-1', httpTokens: 'optional', launchTime: OLD },
      { instanceId: 'i-2', httpTokens: 'optional', launchTime: OLD },
      { instanceId: 'i-3', httpTokens: 'optional', launchTime: OLD },
      { instanceId: 'i-4', httpTokens: 'optional', launchTime: OLD },
      { instanceId: 'i-5', httpTokens: 'required' },
      { instanceId: 'i-1b', httpTokens: 'required', launchTime: OLD },
    ], 14);
    expect(out.map((r) => [r.instanceId, r.state, r.reason])).toEqual([
      ['i-1', 'ready', undefined],
      ['i-2', 'uses-imdsv1', undefined],
      ['i-3', 'not-enough-history', 'metrics-unreadable'],
      ['i-4', 'not-enough-history', 'not-in-snapshot'],
      ['i-5', 'already-required', undefined],
      ['i-1b', 'already-required', undefined],
    ]);
  });
});

function evaluation(id: string, extra: Partial<InstanceEvaluation> = {}, containers: boolean | null = false): InstanceEvaluation {
  return {
    instanceId: id,
    platform: 'linux',
    status: 'ok',
    checkState: 'checked',
    findings: [],
    imds: { httpTokens: 'optional', hopLimit: 1, httpEndpoint: 'enabled' },
    hasInstanceProfile: true,
    verdict: { platform: 'linux', daemon: 'chrony', timeSource: 'amazon-ipv4', synchronized: true, offsetSeconds: 0, clockErrorBoundSeconds: 0.001, containers, status: 'ok', findings: [] },
    ...extra,
  };
}

describe('planImdsv2Enforcement', () => {
  const enforce: EnforcementSettings = { imdsv2: 'enforce', hopLimitTarget: 2, hopLimitScope: 'containers' };
  const ready = { instanceId: 'x', state: 'ready' as const };
  const c = (id: string, extra: Partial<Imdsv2Candidate> = {}, e: Partial<InstanceEvaluation> = {}, containers: boolean | null = false): Imdsv2Candidate => ({
    evaluation: evaluation(id, e, containers),
    readiness: { ...ready, instanceId: id },
    tag: undefined,
    ...extra,
  });

  it('switches only ready instances, raising the hop limit in the same call on container hosts', () => {
    const plan = planImdsv2Enforcement(
      [c('i-a'), c('i-b', {}, {}, true), c('i-c', { readiness: { instanceId: 'i-c', state: 'uses-imdsv1', lastImdsv1Day: '2026-11-28' } }), c('i-d', { readiness: undefined })],
      enforce,
      100,
    );
    expect(plan.enforce).toEqual([{ instanceId: 'i-a' }, { instanceId: 'i-b', hopLimit: 2 }]);
  });

  it.each<[string, Partial<Imdsv2Candidate>, Partial<InstanceEvaluation>, string]>([
    ['opted out', {}, { status: 'opted-out', checkState: 'opted-out' }, 'opted-out'],
    ['rolled back before', { tag: { kind: 'rolled-back', at: NOW - DAY } }, {}, 'previously-rolled-back'],
    ['tag edited by hand', { tag: { kind: 'unreadable', value: 'yes' } }, {}, 'tag-unreadable'],
    ['guest not checked (containers unknown)', {}, { checkState: 'ssm-offline', verdict: undefined }, 'not-checked'],
  ])('skips a ready instance that is %s', (_what, extra, e, reason) => {
    expect(planImdsv2Enforcement([c('i-a', extra, e)], enforce, 100)).toEqual({ enforce: [], skipped: [{ instanceId: 'i-a', reason }] });
  });

  it('keeps within the caps the hop-limit plan left', () => {
    const plan = planImdsv2Enforcement([c('i-a'), c('i-b'), c('i-c')], enforce, 2);
    expect(plan.enforce.map((x) => x.instanceId)).toEqual(['i-a', 'i-b']);
    expect(plan.skipped).toEqual([{ instanceId: 'i-c', reason: 'cap-reached' }]);
  });

  it('changes nothing in report mode and says why', () => {
    const plan = planImdsv2Enforcement([c('i-a')], { ...enforce, imdsv2: 'report' }, 100);
    expect(plan).toEqual({ enforce: [], skipped: [{ instanceId: 'i-a', reason: 'mode-report' }] });
  });

  it('leaves a Kubernetes node at hop limit 1 under scope containers (tokens only)', () => {
    const k8s = c('i-k', {}, {}, true);
    const node = { ...k8s, evaluation: { ...k8s.evaluation, verdict: { ...k8s.evaluation.verdict!, containerRuntimes: ['containerd', 'kubelet'] } } };
    expect(planImdsv2Enforcement([node], enforce, 10).enforce).toEqual([{ instanceId: 'i-k' }]);
  });
});

describe('the enforcement tag and the rollback window', () => {
  const iso = (ms: number): string => new Date(ms).toISOString();
  const MAC = 'A'.repeat(43);

  it('reads its own values (a time, with or without a MAC) and refuses others', () => {
    expect(parseEnforcedTag(`${iso(NOW)}/${MAC}`)).toEqual({ kind: 'enforced', at: NOW, signed: { iso: iso(NOW), mac: MAC } });
    expect(parseEnforcedTag(iso(NOW))).toEqual({ kind: 'enforced', at: NOW });
    expect(parseEnforcedTag(rolledBackTagValue(NOW))).toEqual({ kind: 'rolled-back', at: NOW });
    expect(parseEnforcedTag('yes')).toEqual({ kind: 'unreadable', value: 'yes' });
    expect(parseEnforcedTag(`${iso(NOW)}/short`)).toEqual({ kind: 'unreadable', value: `${iso(NOW)}/short` });
    expect(parseEnforcedTag(`${iso(NOW)}/${MAC}/x`)?.kind).toBe('unreadable');
    expect(parseEnforcedTag(undefined)).toBeUndefined();
  });

  it('reads the tag key whatever its letter case, as IAM does, and trusts neither value when two cases are present', () => {
    expect(enforcedTagValueOf([{ Key: 'Name', Value: 'web' }, { Key: 'TimeSync-Guard:IMDSv2-Enforced', Value: 'v' }])).toBe('v');
    expect(enforcedTagValueOf([{ Key: 'timesync-guard:imdsv2-enforced', Value: 'v' }])).toBe('v');
    expect(enforcedTagValueOf([{ Key: 'timesync-guard:imdsv2-enforced', Value: 'a' }, { Key: 'TIMESYNC-GUARD:IMDSV2-ENFORCED', Value: 'b' }])).toBe(AMBIGUOUS_ENFORCED_TAG);
    expect(parseEnforcedTag(AMBIGUOUS_ENFORCED_TAG)?.kind).toBe('unreadable');
    expect(enforcedTagValueOf([{ Key: 'timesync-guard:imdsv2-other', Value: 'v' }])).toBeUndefined();
    expect(enforcedTagValueOf(undefined)).toBeUndefined();
  });

  it('parses a 256-character adversarial value in linear time', () => {
    const t0 = performance.now();
    for (let k = 0; k < 2_000; k++) parseEnforcedTag(`2026-11-30T${'0'.repeat(40)}${'/'.repeat(100)}${'A'.repeat(100)}`);
    expect(performance.now() - t0).toBeLessThan(1_000);
  });

  it('watches enforced instances inside the window only, and only while tokens are required', () => {
    const tag = (h: number) => parseEnforcedTag(iso(NOW - h * 3_600_000));
    const list = watchList(
      [
        { instanceId: 'i-new', httpTokens: 'required', tag: tag(1) },
        { instanceId: 'i-old', httpTokens: 'required', tag: tag(73) },
        { instanceId: 'i-undone', httpTokens: 'optional', tag: tag(1) },
        { instanceId: 'i-rolled', httpTokens: 'required', tag: parseEnforcedTag(rolledBackTagValue(NOW)) },
        { instanceId: 'i-none', httpTokens: 'required', tag: undefined },
      ],
      NOW,
      72,
    );
    expect(list.map((w) => w.instanceId)).toEqual(['i-new']);
  });

  describe('decideRollbacks', () => {
    const H = 3_600_000;
    const since = NOW - 10 * H + 20 * 60_000; // enforced at 16:20 the day before
    const watched = [{ instanceId: 'a', since }];
    const hourly = (entries: [number, number][]) => new Map([['a', new Map(entries)]]);
    const hourOf = (k: number): number => Math.floor(since / H) * H + k * H;

    it('alerts on one rejected call by default and never rolls back (imdsv2AutoUndo off)', () => {
      expect(decideRollbacks(watched, hourly([[hourOf(2), 1]]), false)).toEqual([{ instanceId: 'a', rejectedCalls: 1, rejectedHours: 1, action: 'alert', reason: 'auto-undo-off' }]);
      // Even rejections in many hours: the default never undoes.
      expect(decideRollbacks(watched, hourly([[hourOf(1), 3], [hourOf(4), 2], [hourOf(7), 9]]), false)[0]).toMatchObject({ action: 'alert', rejectedHours: 3 });
    });

    it('with imdsv2AutoUndo, does not roll back on one hourly period, however many calls it holds', () => {
      expect(decideRollbacks(watched, hourly([[hourOf(3), 500]]), true)).toEqual([{ instanceId: 'a', rejectedCalls: 500, rejectedHours: 1, action: 'alert', reason: 'rejected-in-one-hour-only' }]);
    });

    it('with imdsv2AutoUndo, rolls back on rejections in two separate hourly periods', () => {
      expect(decideRollbacks(watched, hourly([[hourOf(3), 1], [hourOf(4), 1]]), true)).toEqual([{ instanceId: 'a', rejectedCalls: 2, rejectedHours: 2, action: 'roll-back', reason: 'imdsv1-calls-rejected' }]);
    });

    it('counts nothing before the hour of enforcement, zero hours, or an unreadable metric', () => {
      expect(decideRollbacks(watched, hourly([[hourOf(-1), 4], [hourOf(0), 0], [hourOf(2), Number.NaN]]), true)).toEqual([]);
      expect(decideRollbacks(watched, new Map([['a', undefined]]), true)).toEqual([]);
      expect(decideRollbacks(watched, new Map(), true)).toEqual([]);
    });
  });
});

describe('a poisoned readiness snapshot', () => {
  const clean = buildSnapshot(W, 14, new Map([['i-1', days()], ['i-v1', days({ 3: 7 })], ['i-gaps', days({}, [2, 5])]]));
  const facts = [
    { instanceId: 'i-1', httpTokens: 'optional' as const, launchTime: OLD },
    { instanceId: 'i-v1', httpTokens: 'optional' as const, launchTime: OLD },
    { instanceId: 'i-gaps', httpTokens: 'optional' as const, launchTime: OLD },
    { instanceId: 'i-req', httpTokens: 'required' as const, launchTime: OLD },
  ];
  const states = (s: ReadinessSnapshot) => readinessFromSnapshot(s, facts, 14).map((r) => [r.instanceId, r.state, r.reason]);

  it('the clean snapshot: one ready, one using IMDSv1, one with gaps', () => {
    expect(snapshotWindowMismatch(clean, 14)).toBeUndefined();
    expect(states(clean)).toEqual([
      ['i-1', 'ready', undefined],
      ['i-v1', 'uses-imdsv1', undefined],
      ['i-gaps', 'not-enough-history', 'gaps'],
      ['i-req', 'already-required', undefined],
    ]);
  });

  it.each<[string, (s: ReadinessSnapshot) => ReadinessSnapshot]>([
    ['window.days = []', (s) => ({ ...s, window: { ...s.window, days: [] } })],
    ['window.days one day short', (s) => ({ ...s, window: { ...s.window, days: s.window.days.slice(1) } })],
    ['window.days shifted a week', (s) => ({ ...s, window: { ...s.window, days: s.window.days.map((d) => new Date(Date.parse(d) - 7 * DAY).toISOString().slice(0, 10)) } })],
    ['window.start after the IMDSv1 day', (s) => ({ ...s, window: { ...s.window, start: s.window.start + 5 * DAY } })],
    ['a lookback that is not the settings\' one', (s) => ({ ...s, lookbackDays: 1 })],
  ])('refuses a snapshot with %s: nothing becomes ready from it', (_what, poison) => {
    const bad = parseSnapshot(JSON.stringify(poison(clean)));
    expect(bad).toBeDefined();
    expect(snapshotWindowMismatch(bad!, 14)).toEqual(expect.any(String));
    expect(states(bad!)).toEqual([
      ['i-1', 'not-enough-history', 'snapshot-refused'],
      ['i-v1', 'not-enough-history', 'snapshot-refused'],
      ['i-gaps', 'not-enough-history', 'snapshot-refused'],
      ['i-req', 'already-required', undefined],
    ]);
  });

  it('does not read an instance id inherited from Object.prototype as a snapshot entry', () => {
    expect(readinessFromSnapshot(clean, [{ instanceId: 'constructor', httpTokens: 'optional', launchTime: OLD }], 14)[0]).toMatchObject({ reason: 'not-in-snapshot' });
  });
});

describe('judgeFreshUsage (the remediate side\'s own read before a switch)', () => {
  it('is clean only with a datapoint every day of the window and no call', () => {
    expect(judgeFreshUsage(days(), W)).toBe('clean');
    expect(judgeFreshUsage(days({ 13: 1 }), W)).toBe('uses-imdsv1');
    expect(judgeFreshUsage({ ...days(), [new Date(NOW).toISOString().slice(0, 10)]: 2 }, W)).toBe('uses-imdsv1'); // today so far
    expect(judgeFreshUsage(days({}, [4]), W)).toBe('gaps');
    expect(judgeFreshUsage({}, W)).toBe('gaps');
    expect(judgeFreshUsage(undefined, W)).toBe('unreadable');
  });
});

describe('tokensGateFromReadiness (accountDefaults: set may require tokens by default)', () => {
  const cand = (id: string, state: Imdsv2Readiness['state'] | undefined, e: Partial<InstanceEvaluation> = {}): Imdsv2Candidate => ({
    evaluation: evaluation(id, e),
    readiness: state === undefined ? undefined : { instanceId: id, state },
    tag: undefined,
  });

  it('opens only in enforce mode on a fleet where every judged instance is ready or already required', () => {
    const fleet = [cand('i-a', 'ready'), cand('i-b', 'already-required'), cand('i-c', 'uses-imdsv1', { status: 'opted-out', checkState: 'opted-out' })];
    expect(tokensGateFromReadiness('enforce', fleet)).toEqual({ enforcementOn: true, fleetReadyForTokensRequired: true });
    expect(tokensGateFromReadiness('report', fleet)).toEqual({ enforcementOn: false, fleetReadyForTokensRequired: true });
  });

  it.each<[string, Imdsv2Candidate[]]>([
    ['one instance still uses IMDSv1', [cand('i-a', 'ready'), cand('i-b', 'uses-imdsv1')]],
    ['one instance has too little history', [cand('i-a', 'ready'), cand('i-b', 'not-enough-history')]],
    ['one instance has no readiness at all', [cand('i-a', 'ready'), cand('i-b', undefined)]],
    ['no instance was judged', []],
  ])('stays closed when %s', (_name, fleet) => {
    expect(tokensGateFromReadiness('enforce', fleet).fleetReadyForTokensRequired).toBe(false);
  });
});
