import fc from 'fast-check';
import { FINDING_EFFECTS, type FindingCode } from '../../lambda/core/diagnosis/findings';
import { effectiveCap, guestNeedsFix, guestNeedsNoProxy, isOptedOut, planInstance, planRemediation, StreamingPlan } from '../../lambda/core/remediation/plan';
import { parseSettings, type Settings } from '../../lambda/core/settings';
import type { CheckState, InstanceEvaluation, TimeSource, Verdict } from '../../lambda/core/types';

const base: Settings = parseSettings({});

function verdict(over: Partial<Verdict> = {}): Verdict {
  return {
    platform: 'linux',
    daemon: 'chrony',
    timeSource: 'amazon-ipv4',
    synchronized: true,
    offsetSeconds: 0.0001,
    clockErrorBoundSeconds: 0.001,
    containers: false,
    status: 'ok',
    findings: [],
    ...over,
  };
}

function ev(id: string, o: {
  hop?: number;
  containers?: boolean | null;
  timeSource?: TimeSource;
  synchronized?: boolean | null;
  checkState?: CheckState;
  optedOut?: boolean;
  endpoint?: 'enabled' | 'disabled';
  profile?: boolean;
  findings?: FindingCode[];
  platform?: 'linux' | 'windows';
  verdictStatus?: Verdict['status'];
} = {}): InstanceEvaluation {
  const checkState = o.optedOut ? 'opted-out' : (o.checkState ?? 'checked');
  return {
    instanceId: id,
    platform: o.platform ?? 'linux',
    status: o.optedOut ? 'opted-out' : 'ok',
    checkState,
    findings: [],
    imds: { hopLimit: o.hop ?? 2, httpEndpoint: o.endpoint ?? 'enabled', httpTokens: 'required', state: 'applied' },
    hasInstanceProfile: o.profile ?? true,
    verdict:
      checkState === 'checked'
        ? verdict({
            containers: o.containers === undefined ? false : o.containers,
            timeSource: o.timeSource ?? 'amazon-ipv4',
            synchronized: o.synchronized === undefined ? true : o.synchronized,
            findings: (o.findings ?? []).map((code) => ({ code, message: code })),
            status: o.verdictStatus ?? statusOf(o),
          })
        : undefined,
  };
}

/** The status diagnose would give such a verdict: at risk off Amazon, unsynchronised or with an at-risk finding. */
function statusOf(o: { timeSource?: TimeSource; synchronized?: boolean | null; findings?: FindingCode[] }): Verdict['status'] {
  const effects = (o.findings ?? []).map((c) => FINDING_EFFECTS[c as FindingCode] ?? 'unknown');
  if (effects.includes('at-risk') || !/^amazon-/.test(o.timeSource ?? 'amazon-ipv4') || o.synchronized === false) return 'at-risk';
  return effects.includes('unknown') ? 'unknown' : 'ok';
}

const s = (over: Partial<Settings> = {}): Settings => ({ ...base, maxChangesPercent: 100, ...over });

describe('planRemediation: hop limit', () => {
  it.each`
    hop  | containers | scope           | target | raised
    ${1} | ${true}    | ${'containers'} | ${2}   | ${true}
    ${1} | ${false}   | ${'containers'} | ${2}   | ${false}
    ${1} | ${null}    | ${'containers'} | ${2}   | ${false}
    ${1} | ${false}   | ${'all'}        | ${2}   | ${true}
    ${2} | ${true}    | ${'containers'} | ${2}   | ${false}
    ${3} | ${true}    | ${'containers'} | ${2}   | ${false}
    ${3} | ${true}    | ${'all'}        | ${2}   | ${false}
    ${2} | ${true}    | ${'all'}        | ${4}   | ${true}
    ${64} | ${true}   | ${'all'}        | ${4}   | ${false}
  `('hop $hop, containers $containers, scope $scope, target $target → raised: $raised', ({ hop, containers, scope, target, raised }) => {
    const plan = planRemediation([ev('i-1', { hop, containers })], s({ hopLimitScope: scope, hopLimitTarget: target, fixTimeSync: false }), 1);
    const p = plan.instances.find((x) => x.instanceId === 'i-1');
    expect(p?.hopLimit !== undefined).toBe(raised);
    if (raised) expect(p?.hopLimit).toEqual({ from: hop, to: target });
  });

  it('never lowers a hop limit, whatever the scope and target', () => {
    for (const scope of ['containers', 'all'] as const) {
      for (let hop = 1; hop <= 64; hop++) {
        const plan = planRemediation([ev('i-1', { hop, containers: true })], s({ hopLimitScope: scope, hopLimitTarget: 2, fixTimeSync: false }), 1);
        for (const p of plan.instances) if (p.hopLimit) expect(p.hopLimit.to).toBeGreaterThan(hop);
      }
    }
  });

  it('an unchecked guest is not raised under scope containers (unknown), and says why', () => {
    const plan = planRemediation([ev('i-1', { hop: 1, checkState: 'ssm-offline' })], s({ fixTimeSync: false }), 1);
    expect(plan.instances).toEqual([]);
    expect(plan.skipped).toEqual([expect.objectContaining({ instanceId: 'i-1', action: 'raise-hop-limit', reason: 'not-checked' })]);
  });

  it('under scope all an unchecked guest is still raised: the hop limit comes from the EC2 API, not the guest', () => {
    const plan = planRemediation([ev('i-1', { hop: 1, checkState: 'unmanaged' })], s({ hopLimitScope: 'all', fixTimeSync: false }), 1);
    expect(plan.instances.map((p) => p.actions)).toEqual([['raise-hop-limit']]);
  });
});

describe('planRemediation: metadata endpoint', () => {
  it.each`
    enable   | endpoint      | profile  | planned
    ${true}  | ${'disabled'} | ${true}  | ${true}
    ${false} | ${'disabled'} | ${true}  | ${false}
    ${true}  | ${'disabled'} | ${false} | ${false}
    ${true}  | ${'enabled'}  | ${true}  | ${false}
  `('enableMetadataEndpoint $enable, endpoint $endpoint, profile $profile → $planned', ({ enable, endpoint, profile, planned }) => {
    const plan = planRemediation([ev('i-1', { endpoint, profile })], s({ enableMetadataEndpoint: enable, fixTimeSync: false }), 1);
    expect(plan.instances.some((p) => p.enableEndpoint)).toBe(planned);
  });
});

describe('planRemediation: guest time sync', () => {
  it.each`
    timeSource       | synchronized | findings                  | checkState        | fix      | planned  | skipReason
    ${'other'}       | ${true}      | ${[]}                     | ${'checked'}      | ${true}  | ${true}  | ${undefined}
    ${'none'}        | ${false}     | ${[]}                     | ${'checked'}      | ${true}  | ${true}  | ${undefined}
    ${'amazon-ipv4'} | ${true}      | ${[]}                     | ${'checked'}      | ${true}  | ${false} | ${undefined}
    ${'amazon-phc'}  | ${false}     | ${[]}                     | ${'checked'}      | ${true}  | ${true}  | ${undefined}
    ${'amazon-ipv4'} | ${true}      | ${['multiple-daemons']}   | ${'checked'}      | ${true}  | ${true}  | ${undefined}
    ${'amazon-ipv4'} | ${true}      | ${['proxy-without-no-proxy']} | ${'checked'}  | ${true}  | ${false} | ${undefined}
    ${'other'}       | ${true}      | ${[]}                     | ${'checked'}      | ${false} | ${false} | ${undefined}
    ${'other'}       | ${true}      | ${[]}                     | ${'ssm-offline'}  | ${true}  | ${false} | ${'not-checked'}
    ${'other'}       | ${true}      | ${[]}                     | ${'timed-out'}    | ${true}  | ${false} | ${'not-checked'}
    ${'other'}       | ${true}      | ${[]}                     | ${'unmanaged'}    | ${true}  | ${false} | ${'not-checked'}
  `(
    'source $timeSource, synchronized $synchronized, findings $findings, $checkState, fixTimeSync $fix → planned $planned',
    ({ timeSource, synchronized, findings, checkState, fix, planned, skipReason }) => {
      const plan = planRemediation([ev('i-1', { timeSource, synchronized, findings, checkState })], s({ fixTimeSync: fix }), 1);
      expect(plan.instances.some((p) => p.guest)).toBe(planned);
      const skip = plan.skipped.find((x) => x.action === 'enable-amazon-time-sync');
      expect(skip?.reason).toBe(skipReason);
    },
  );

  it.each`
    timeSource       | synchronized | findings
    ${'unknown'}     | ${null}      | ${['daemon-not-responding']}
    ${'unknown'}     | ${null}      | ${['report-truncated']}
    ${'unknown'}     | ${null}      | ${['report-unreadable']}
    ${'other'}       | ${true}      | ${['probe-timed-out']}
    ${'unknown'}     | ${null}      | ${['unknown-daemon-state']}
  `('never plans a guest fix from an unknown verdict ($findings)', ({ timeSource, synchronized, findings }) => {
    const e = ev('i-1', { timeSource, synchronized, findings, verdictStatus: 'unknown' });
    expect(guestNeedsFix(e)).toBe(false);
    const plan = planRemediation([e], s(), 1);
    expect(plan.instances).toEqual([]);
    expect(plan.skipped).toEqual([]);
  });

  it.each`
    findings                             | platform     | fixMixed | planned
    ${['mixed-smeared-sources']}         | ${'linux'}   | ${false} | ${false}
    ${['mixed-smeared-sources']}         | ${'linux'}   | ${true}  | ${true}
    ${['leap-file-with-smeared-source']} | ${'linux'}   | ${true}  | ${true}
    ${['mixed-smeared-sources']}         | ${'windows'} | ${true}  | ${false}
    ${[]}                                | ${'linux'}   | ${true}  | ${false}
  `('an ok $platform host with $findings is fixed only when fixMixedSources is $fixMixed → planned $planned', ({ findings, platform, fixMixed, planned }) => {
    const e = ev('i-1', { findings, platform });
    expect(e.verdict!.status).toBe('ok');
    const plan = planRemediation([e], s({ fixMixedSources: fixMixed }), 1);
    expect(plan.instances.some((p) => p.guest)).toBe(planned);
  });

  it('never plans a guest fix from a verdict that carries report-truncated, whatever its status says', () => {
    const e = ev('i-1', { timeSource: 'other', findings: ['report-truncated', 'not-amazon-time-sync'], verdictStatus: 'at-risk' });
    expect(guestNeedsFix(e)).toBe(false);
  });

  it('never acts blind: an instance without a verdict is never planned for the guest', () => {
    const e = { ...ev('i-1', { timeSource: 'other' }), verdict: undefined };
    expect(guestNeedsFix(e)).toBe(false);
  });

  it('carries the platform and the IPv6-only fact for the document parameters', () => {
    const plan = planRemediation(
      [ev('i-w', { timeSource: 'other', platform: 'windows' }), ev('i-6', { timeSource: 'other' })],
      s(),
      2,
      { ipv6Only: new Set(['i-6']) },
    );
    expect(plan.instances.map((p) => [p.instanceId, p.platform, p.ipv6Only])).toEqual([
      ['i-6', 'linux', true],
      ['i-w', 'windows', false],
    ]);
  });
});

describe('planRemediation: guardrails', () => {
  it('an opted-out instance is never changed, and every wanted action is skipped as opted-out', () => {
    const plan = planRemediation([ev('i-1', { hop: 1, containers: true, optedOut: true })], s({ hopLimitScope: 'all' }), 1);
    expect(plan.instances).toEqual([]);
    expect(plan.skipped).toEqual([expect.objectContaining({ instanceId: 'i-1', action: 'raise-hop-limit', reason: 'opted-out' })]);
  });

  it.each`
    count  | percent | fleet   | cap
    ${500} | ${20}   | ${100}  | ${20}
    ${500} | ${20}   | ${10000} | ${500}
    ${5}   | ${100}  | ${10}   | ${5}
    ${500} | ${0}    | ${10}   | ${0}
    ${0}   | ${100}  | ${10}   | ${0}
    ${500} | ${15}   | ${7}    | ${1}
    ${500} | ${10}   | ${5}    | ${0}
  `('cap: count $count, percent $percent, fleet $fleet → $cap (the smaller wins)', ({ count, percent, fleet, cap }) => {
    expect(effectiveCap({ maxChangesPerRun: count, maxChangesPercent: percent }, fleet)).toBe(cap);
  });

  it('takes instances in instance-id order up to the cap, the rest skipped cap-reached', () => {
    const evs = ['i-c', 'i-a', 'i-e', 'i-b', 'i-d'].map((id) => ev(id, { hop: 1, containers: true }));
    const plan = planRemediation(evs, s({ maxChangesPerRun: 2, fixTimeSync: false }), 5);
    expect(plan.instances.map((p) => p.instanceId)).toEqual(['i-a', 'i-b']);
    expect(plan.skipped.filter((x) => x.reason === 'cap-reached').map((x) => x.instanceId)).toEqual(['i-c', 'i-d', 'i-e']);
  });

  it('counts an instance once against the cap even with several actions', () => {
    const evs = [ev('i-a', { hop: 1, containers: true, timeSource: 'other' }), ev('i-b', { hop: 1, containers: true })];
    const plan = planRemediation(evs, s({ maxChangesPerRun: 2 }), 2);
    expect(plan.instances).toHaveLength(2);
    expect(plan.instances[0]!.actions).toEqual(['raise-hop-limit', 'enable-amazon-time-sync']);
  });

  it('the percent cap is of instances seen, opted-out included', () => {
    const evs = [
      ...Array.from({ length: 8 }, (_, i) => ev(`i-o${i}`, { optedOut: true })),
      ev('i-a', { hop: 1, containers: true }),
      ev('i-b', { hop: 1, containers: true }),
    ];
    const plan = planRemediation(evs, s({ maxChangesPercent: 10, fixTimeSync: false }), 10);
    expect(plan.cap).toBe(1);
    expect(plan.instances.map((p) => p.instanceId)).toEqual(['i-a']);
  });

  it('dry run plans the same capped selection but executes nothing', () => {
    const evs = ['i-a', 'i-b', 'i-c'].map((id) => ev(id, { hop: 1, containers: true }));
    const plan = planRemediation(evs, s({ dryRun: true, maxChangesPerRun: 2, fixTimeSync: false }), 3);
    expect(plan.instances).toEqual([]);
    expect(plan.wouldChange.map((p) => p.instanceId)).toEqual(['i-a', 'i-b']);
    expect(plan.skipped.map((x) => [x.instanceId, x.reason])).toEqual([
      ['i-a', 'dry-run'],
      ['i-b', 'dry-run'],
      ['i-c', 'cap-reached'],
    ]);
  });

  it('is deterministic: input order does not change the plan', () => {
    const evs = Array.from({ length: 30 }, (_, i) => ev(`i-${String(i).padStart(3, '0')}`, { hop: 1, containers: i % 2 === 0, timeSource: i % 3 ? 'other' : 'amazon-ipv4' }));
    const a = planRemediation(evs, s({ maxChangesPerRun: 7 }), 30);
    const b = planRemediation([...evs].reverse(), s({ maxChangesPerRun: 7 }), 30);
    expect(b).toEqual(a);
  });

  it('bad input gets a clear result: duplicates and an empty fleet plan nothing twice and never throw', () => {
    const plan = planRemediation([ev('i-a', { hop: 1, containers: true }), ev('i-a', { hop: 1, containers: true })], s({ fixTimeSync: false }), 2);
    expect(plan.instances).toHaveLength(1);
    expect(planRemediation([], s(), 0)).toEqual(expect.objectContaining({ instances: [], skipped: [], cap: 0 }));
  });
});

describe('isOptedOut: matched as IAM matches aws:ResourceTag/<key> and ssm:resourceTag/<key>', () => {
  const KEY = 'timesync-guard:opt-out';
  it.each([
    // key case: IAM compares the tag key case-insensitively
    ['timesync-guard:opt-out', 'true', true],
    ['TimeSync-Guard:Opt-Out', 'true', true],
    ['TIMESYNC-GUARD:OPT-OUT', 'yes', true],
    ['timesync-guard:opt-out ', 'true', false], // a different key (trailing space), as for IAM
    ['timesync-guard:optout', 'true', false],
    ['other', 'true', false],
    // value: anything but "false" in any letter case opts out (StringNotEqualsIgnoreCase "false")
    ['timesync-guard:opt-out', '', true],
    ['timesync-guard:opt-out', 'no', true],
    ['timesync-guard:opt-out', '0', true],
    ['timesync-guard:opt-out', ' false ', true],
    ['timesync-guard:opt-out', 'false', false],
    ['TimeSync-Guard:Opt-Out', 'False', false],
    ['timesync-guard:opt-out', 'FALSE', false],
  ])('key %p value %p → opted out %p', (key, value, expected) => {
    expect(isOptedOut([{ Key: 'Name', Value: 'web-1' }, { Key: key, Value: value }], KEY)).toBe(expected);
  });

  it('a configured key in any case matches a tag in any case', () => {
    expect(isOptedOut([{ Key: 'team:Opt-Out', Value: 'true' }], 'TEAM:opt-out')).toBe(true);
  });

  it('two keys that differ only in case: the one that opts out wins (IAM may see either)', () => {
    const tags = [
      { Key: 'timesync-guard:opt-out', Value: 'false' },
      { Key: 'TimeSync-Guard:Opt-Out', Value: 'true' },
    ];
    expect(isOptedOut(tags, KEY)).toBe(true);
    expect(isOptedOut([...tags].reverse(), KEY)).toBe(true);
  });

  it('no tags, a tag without a key, or a tag without a value', () => {
    expect(isOptedOut(undefined, KEY)).toBe(false);
    expect(isOptedOut([], KEY)).toBe(false);
    expect(isOptedOut([{ Value: 'true' }], KEY)).toBe(false);
    expect(isOptedOut([{ Key: KEY }], KEY)).toBe(true); // present with an empty value: IAM's Null is false
  });
});

describe('planRemediation: properties', () => {
  // fast-check: for any fleet and settings, the plan's invariants hold.
  const arbEval = fc.record({
    k: fc.integer({ min: 0, max: 60 }),
    hop: fc.integer({ min: 1, max: 64 }),
    containers: fc.constantFrom(true, false, null),
    timeSource: fc.constantFrom<TimeSource>('amazon-ipv4', 'amazon-ipv6', 'amazon-phc', 'other', 'none', 'unknown'),
    synchronized: fc.constantFrom(true, false, null),
    checkState: fc.constantFrom<CheckState>('checked', 'checked', 'unmanaged', 'ssm-offline', 'timed-out', 'output-unreadable'),
    optedOut: fc.boolean(),
    endpoint: fc.constantFrom<'enabled' | 'disabled'>('enabled', 'disabled'),
    profile: fc.boolean(),
  });
  const arbSettings = fc.record({
    hopLimitTarget: fc.integer({ min: 2, max: 64 }),
    hopLimitScope: fc.constantFrom<'containers' | 'all'>('containers', 'all'),
    maxChangesPerRun: fc.integer({ min: 0, max: 80 }),
    maxChangesPercent: fc.integer({ min: 0, max: 100 }),
    dryRun: fc.boolean(),
    enableMetadataEndpoint: fc.boolean(),
    fixTimeSync: fc.boolean(),
  });

  it('never lowers, never exceeds the cap, never touches opted-out or unchecked guests, never plans a no-op', () => {
    fc.assert(
      fc.property(fc.uniqueArray(arbEval, { selector: (r) => r.k, maxLength: 60 }), arbSettings, (raw, over) => {
        const evs = raw.map((r) => ev(`i-${String(r.k).padStart(3, '0')}`, r));
        const byId = new Map(evs.map((e) => [e.instanceId, e]));
        const settings = { ...base, ...over };
        const plan = planRemediation(evs, settings, evs.length);
        const acted = [...plan.instances, ...plan.wouldChange];
        if (acted.length > plan.cap) return false;
        if (settings.dryRun && plan.instances.length > 0) return false;
        for (const p of acted) {
          const e = byId.get(p.instanceId)!;
          if (e.checkState === 'opted-out') return false;
          if (p.actions.length === 0) return false;
          if (p.hopLimit && !(p.hopLimit.to > (e.imds.hopLimit ?? 1))) return false;
          if (p.guest && (e.checkState !== 'checked' || !e.verdict)) return false;
          if (p.enableEndpoint && (!settings.enableMetadataEndpoint || !e.hasInstanceProfile)) return false;
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });
});

describe('StreamingPlan: planning while the check streams (first come, first served)', () => {
  it('admits instances in arrival order until the cap, then holds the rest for the end-of-check plan', () => {
    const sp = new StreamingPlan(s({ hopLimitScope: 'all', maxChangesPerRun: 2 }));
    sp.listed(4);
    expect(sp.offer(ev('i-3', { hop: 1 })).admitted.map((p) => p.instanceId)).toEqual(['i-3']);
    expect(sp.offer(ev('i-1', { hop: 1 })).admitted.map((p) => p.instanceId)).toEqual(['i-1']);
    expect(sp.offer(ev('i-2', { hop: 1 }))).toEqual({ admitted: [], skipped: [] });
    expect([sp.selected, sp.decidedFor('i-2')]).toEqual([2, false]);
    // The end plan gets what the stream did not decide, with the places already taken.
    const end = planRemediation([ev('i-2', { hop: 1 }), ev('i-4', { hop: 1 })], s({ hopLimitScope: 'all', maxChangesPerRun: 2 }), 4, { alreadySelected: sp.selected });
    expect(end.instances).toEqual([]);
    expect(end.skipped.map((k) => `${k.instanceId}:${k.reason}`)).toEqual(['i-2:cap-reached', 'i-4:cap-reached']);
  });

  it('the percent cap grows with the listing: a held instance is admitted, in arrival order, when the listing makes room', () => {
    const sp = new StreamingPlan(s({ hopLimitScope: 'all', maxChangesPercent: 50 }));
    sp.listed(1);
    expect(sp.offer(ev('i-2', { hop: 1 })).admitted).toEqual([]);
    expect(sp.offer(ev('i-1', { hop: 1 })).admitted).toEqual([]);
    expect(sp.listed(2).admitted.map((p) => p.instanceId)).toEqual(['i-2']);
    expect(sp.listed(4).admitted.map((p) => p.instanceId)).toEqual(['i-1']);
    expect(sp.listed(3).admitted).toEqual([]); // the base never shrinks
  });

  it('decides an instance with nothing to change (or opted out) at once, with its skip records, and ignores a duplicate', () => {
    const sp = new StreamingPlan(s({ hopLimitScope: 'containers', fixTimeSync: true }));
    sp.listed(3);
    expect(sp.offer(ev('i-1', { hop: 1, checkState: 'unmanaged' })).skipped.map((k) => `${k.action}:${k.reason}`)).toEqual([
      'raise-hop-limit:not-checked',
      'enable-amazon-time-sync:not-checked',
    ]);
    expect(sp.offer(ev('i-2', { hop: 1, containers: true, optedOut: true })).skipped).toEqual([]);
    expect([sp.decidedFor('i-1'), sp.decidedFor('i-2')]).toEqual([true, true]);
    expect(sp.offer(ev('i-1', { hop: 1, checkState: 'unmanaged' }))).toEqual({ admitted: [], skipped: [] });
    expect(sp.offer({} as InstanceEvaluation)).toEqual({ admitted: [], skipped: [] });
  });

  it('decides nothing in a dry run: the whole plan is made at the end of the check', () => {
    const sp = new StreamingPlan(s({ hopLimitScope: 'all', dryRun: true }));
    sp.listed(1);
    expect(sp.offer(ev('i-1', { hop: 1 }))).toEqual({ admitted: [], skipped: [] });
    expect(sp.decidedFor('i-1')).toBe(false);
  });

  it('for any arrival order and listing: stream + end plan never exceed the final cap, never plan what the one-instance plan would not, each instance once', () => {
    const arb = fc.record({
      k: fc.integer({ min: 0, max: 40 }),
      hop: fc.integer({ min: 1, max: 3 }),
      containers: fc.constantFrom(true, false, null),
      timeSource: fc.constantFrom<TimeSource>('amazon-ipv4', 'other', 'unknown'),
      checkState: fc.constantFrom<CheckState>('checked', 'checked', 'unmanaged', 'timed-out'),
      optedOut: fc.boolean(),
      listedAfter: fc.integer({ min: 0, max: 40 }),
    });
    const arbSettings = fc.record({
      hopLimitScope: fc.constantFrom<'containers' | 'all'>('containers', 'all'),
      maxChangesPerRun: fc.integer({ min: 0, max: 50 }),
      maxChangesPercent: fc.integer({ min: 0, max: 100 }),
      fixTimeSync: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.uniqueArray(arb, { selector: (r) => r.k, maxLength: 40 }), arbSettings, (raw, over) => {
        const settings = { ...base, dryRun: false, ...over };
        const evs = raw.map((r) => ev(`i-${String(r.k).padStart(3, '0')}`, r));
        const sp = new StreamingPlan(settings);
        const admitted: string[] = [];
        raw.forEach((r, j) => {
          admitted.push(...sp.listed(Math.min(raw.length, r.listedAfter)).admitted.map((p) => p.instanceId));
          admitted.push(...sp.offer(evs[j]!).admitted.map((p) => p.instanceId));
        });
        const rest = evs.filter((e) => !sp.decidedFor(e.instanceId));
        const end = planRemediation(rest, settings, evs.length, { alreadySelected: sp.selected });
        const all = [...admitted, ...end.instances.map((p) => p.instanceId)];
        if (all.length > effectiveCap(settings, evs.length) || new Set(all).size !== all.length) return false;
        return all.every((id) => planInstance(evs.find((e) => e.instanceId === id)!, settings).planned !== undefined);
      }),
      { numRuns: 300 },
    );
  });
});

describe('planRemediation: NO_PROXY (fixNoProxy, opt-in)', () => {
  const P = 'proxy-without-no-proxy' as const;
  it.each`
    fixNoProxy | fixTimeSync | timeSource       | findings                          | checkState       | verdictStatus | actions
    ${false}   | ${true}     | ${'amazon-ipv4'} | ${[P]}                            | ${'checked'}     | ${undefined}  | ${[]}
    ${true}    | ${true}     | ${'amazon-ipv4'} | ${[P]}                            | ${'checked'}     | ${undefined}  | ${['add-imds-no-proxy']}
    ${true}    | ${false}    | ${'amazon-ipv4'} | ${[P]}                            | ${'checked'}     | ${undefined}  | ${['add-imds-no-proxy']}
    ${true}    | ${true}     | ${'other'}       | ${[P]}                            | ${'checked'}     | ${undefined}  | ${['enable-amazon-time-sync', 'add-imds-no-proxy']}
    ${true}    | ${false}    | ${'other'}       | ${[P]}                            | ${'checked'}     | ${undefined}  | ${['add-imds-no-proxy']}
    ${true}    | ${true}     | ${'amazon-ipv4'} | ${[]}                             | ${'checked'}     | ${undefined}  | ${[]}
    ${true}    | ${true}     | ${'unknown'}     | ${[P, 'daemon-not-responding']}   | ${'checked'}     | ${'unknown'}  | ${[]}
    ${true}    | ${true}     | ${'amazon-ipv4'} | ${[P, 'report-truncated']}        | ${'checked'}     | ${'at-risk'}  | ${[]}
    ${true}    | ${true}     | ${'amazon-ipv4'} | ${[P]}                            | ${'ssm-offline'} | ${undefined}  | ${[]}
  `(
    'fixNoProxy $fixNoProxy, fixTimeSync $fixTimeSync, $timeSource, $findings, $checkState → $actions',
    ({ fixNoProxy, fixTimeSync, timeSource, findings, checkState, verdictStatus, actions }) => {
      const e = ev('i-1', { timeSource, findings, checkState, verdictStatus });
      const plan = planRemediation([e], s({ fixNoProxy, fixTimeSync }), 1);
      expect(plan.instances.flatMap((p) => p.actions)).toEqual(actions);
      expect(plan.instances.some((p) => p.guest)).toBe(actions.length > 0);
      expect(plan.skipped.filter((x) => x.action === 'add-imds-no-proxy')).toEqual([]);
    },
  );

  it('is off by default', () => {
    expect(base.fixNoProxy).toBe(false);
    const plan = planRemediation([ev('i-1', { findings: [P] })], base, 1);
    expect(plan.instances).toEqual([]);
  });

  it('reads the finding from the instance evaluation too, not only from the verdict', () => {
    const e = { ...ev('i-1'), status: 'at-risk' as const, findings: [{ code: P, message: 'm' }] };
    expect(guestNeedsNoProxy(e)).toBe(true);
  });

  it('goes through the same cap and dry run as every other action; an opted-out instance is not checked, so never planned', () => {
    const evs = [ev('i-1', { findings: [P] }), ev('i-2', { findings: [P] }), ev('i-3', { findings: [P], optedOut: true })];
    const plan = planRemediation(evs, s({ fixNoProxy: true, maxChangesPerRun: 1, dryRun: true }), 3);
    expect(plan.wouldChange.map((p) => p.instanceId)).toEqual(['i-1']);
    expect(plan.skipped.map((x) => [x.instanceId, x.action, x.reason])).toEqual([
      ['i-1', 'add-imds-no-proxy', 'dry-run'],
      ['i-2', 'add-imds-no-proxy', 'cap-reached'],
    ]);
  });
});
