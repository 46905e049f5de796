/**
 * `planInstance` loops over wants — the metadata-options rows', the guest document's, each phase's —
 * and judges every instance exactly as the plan did when it hand-coded the first two: shown against
 * a frozen copy of that plan (below) on a wide set of evaluations, settings and tables.
 */
import fc from 'fast-check';
import { METADATA_OPTIONS, type MetadataOptionRow } from '../../lambda/contracts/metadata-options';
import { codesWhere, type FindingCode } from '../../lambda/core/diagnosis/findings';
import { guestDocumentWants } from '../../lambda/core/remediation/guest-wants';
import { metadataOptionsWants, metadataWant, nightlyRows } from '../../lambda/core/remediation/metadata-wants';
import {
  BUILT_IN_WANTS,
  guestHasMixedSources,
  guestNeedsFix,
  guestNeedsNoProxy,
  type InstancePlan,
  type InstanceWants,
  type PlanInstanceSettings,
  planInstance,
  type PlannedInstance,
  type PlanOptions,
  type PlanSkip,
  type PlanSkipReason,
  planRemediation,
  StreamingPlan,
  type WantedAction,
} from '../../lambda/core/remediation/plan';
import { parseSettings } from '../../lambda/core/settings';
import type { CheckState, InstanceEvaluation, RemediationAction, TimeSource, Verdict } from '../../lambda/core/types';

/** The plan as it was before the wants (commit 50f2acc), frozen: the built-in rows and the guest document hand-coded. */
function frozenPlanInstance(e: InstanceEvaluation, settings: PlanInstanceSettings, options: PlanOptions = {}): InstancePlan {
  if (!e || typeof e.instanceId !== 'string') return { wanted: [], skipped: [] };
  const wanted: WantedAction[] = [];
  const blocked: { action: RemediationAction; reason: PlanSkipReason; before?: unknown; after?: unknown }[] = [];
  let hopLimit: PlannedInstance['hopLimit'];
  let enableEndpoint = false;
  let metadata: Record<string, { from?: unknown; to: string | number }> | undefined;
  for (const row of nightlyRows(options.metadataOptions ?? METADATA_OPTIONS)) {
    const w = metadataWant(row, e, settings);
    if (w.notChecked) blocked.push({ ...w.notChecked, reason: 'not-checked' });
    if (!w.want) continue;
    const { value, ...wanted1 } = w.want;
    wanted.push(wanted1);
    if (w.want.action === 'raise-hop-limit') hopLimit = { from: (wanted1.before as { hopLimit?: number }).hopLimit, to: value as number };
    else if (w.want.action === 'enable-metadata-endpoint') enableEndpoint = true;
    else (metadata ??= {})[row.parameter] = { from: (wanted1.before as Record<string, unknown> | undefined)?.[row.field], to: value };
  }
  let guest = false;
  if (settings.fixTimeSync) {
    if (guestNeedsFix(e) || (settings.fixMixedSources && guestHasMixedSources(e))) {
      guest = true;
      wanted.push({ action: 'enable-amazon-time-sync', before: { timeSource: e.verdict?.timeSource, synchronized: e.verdict?.synchronized } });
    } else if (e.checkState !== 'checked' && e.checkState !== 'opted-out') {
      blocked.push({ action: 'enable-amazon-time-sync', reason: 'not-checked' });
    }
  }
  if (settings.fixNoProxy && guestNeedsNoProxy(e)) {
    guest = true;
    wanted.push({ action: 'add-imds-no-proxy', before: { systemProxy: true, noProxyCoversImds: false } });
  }
  if (e.status === 'opted-out' || e.checkState === 'opted-out') {
    return { wanted: [], skipped: wanted.map((w) => ({ instanceId: e.instanceId, action: w.action, reason: 'opted-out', before: w.before, after: w.after })) };
  }
  const skipped: PlanSkip[] = blocked.map((b) => ({ instanceId: e.instanceId, ...b }));
  if (wanted.length === 0) return { wanted, skipped };
  const planned: PlannedInstance = {
    instanceId: e.instanceId,
    platform: e.platform === 'windows' ? 'windows' : 'linux',
    ipv6Only: options.ipv6Only?.has(e.instanceId) ?? false,
    hopLimit,
    enableEndpoint,
    guest,
    actions: wanted.map((w) => w.action),
    ...(metadata ? { metadata } : {}),
  };
  return { planned, wanted, skipped };
}

/** The shipped table with its IPv6 row made an action (test/core/metadata-options.test.ts's copy). */
const withIpv6: readonly MetadataOptionRow[] = METADATA_OPTIONS.map((r) =>
  r.parameter === 'HttpProtocolIpv6' ? { ...r, action: 'enable-imds-ipv6', finding: 'imds-ipv6-endpoint-disabled', grant: 'nightly', denySid: 'NeverDisableImdsIpv6' } : r,
);

const ALL_CODES = [...codesWhere(() => true)] as FindingCode[];

const arbEvaluation: fc.Arbitrary<InstanceEvaluation> = fc
  .record({
    k: fc.integer({ min: 0, max: 9 }),
    platform: fc.constantFrom<'linux' | 'windows'>('linux', 'windows'),
    optedOutStatus: fc.boolean(),
    checkState: fc.constantFrom<CheckState>('checked', 'checked', 'checked', 'opted-out', 'unmanaged', 'ssm-offline', 'timed-out', 'output-unreadable'),
    hop: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
    endpoint: fc.constantFrom('enabled', 'disabled', undefined),
    ipv6: fc.constantFrom('enabled', 'disabled', undefined),
    noImds: fc.boolean(),
    profile: fc.constantFrom(true, false, undefined),
    findings: fc.subarray(ALL_CODES, { maxLength: 4 }),
    verdict: fc.option(
      fc.record({
        timeSource: fc.constantFrom<TimeSource>('amazon-ipv4', 'amazon-ipv6', 'amazon-phc', 'other', 'none', 'unknown'),
        synchronized: fc.constantFrom(true, false, null),
        containers: fc.constantFrom(true, false, null, undefined),
        runtimes: fc.subarray(['kubelet', 'ecs', 'docker']),
        status: fc.constantFrom<Verdict['status']>('ok', 'at-risk', 'unknown'),
        findings: fc.subarray(ALL_CODES, { maxLength: 4 }),
      }),
      { nil: undefined },
    ),
  })
  .map(
    (o) =>
      ({
        instanceId: `i-${o.k}`,
        platform: o.platform,
        status: o.optedOutStatus ? 'opted-out' : 'ok',
        checkState: o.checkState,
        findings: o.findings.map((code) => ({ code, message: code })),
        ...(o.noImds ? {} : { imds: { hopLimit: o.hop, httpEndpoint: o.endpoint, httpTokens: 'optional', state: 'applied', httpProtocolIpv6: o.ipv6 } }),
        ...(o.profile === undefined ? {} : { hasInstanceProfile: o.profile }),
        ...(o.verdict
          ? {
              verdict: {
                platform: o.platform,
                daemon: 'chrony',
                timeSource: o.verdict.timeSource,
                synchronized: o.verdict.synchronized,
                offsetSeconds: 0,
                clockErrorBoundSeconds: 0.001,
                containers: o.verdict.containers,
                containerRuntimes: o.verdict.runtimes,
                status: o.verdict.status,
                findings: o.verdict.findings.map((code) => ({ code, message: code })),
              },
            }
          : {}),
      }) as unknown as InstanceEvaluation,
  );

const arbSettings: fc.Arbitrary<PlanInstanceSettings> = fc.record({
  hopLimitTarget: fc.integer({ min: 1, max: 4 }),
  hopLimitScope: fc.constantFrom<PlanInstanceSettings['hopLimitScope']>('containers', 'containers-and-orchestrators', 'all'),
  enableMetadataEndpoint: fc.boolean(),
  fixTimeSync: fc.boolean(),
  fixNoProxy: fc.boolean(),
  fixMixedSources: fc.boolean(),
});

describe('planInstance over the wants: the same plan as the hand-coded one', () => {
  it('for any evaluation, settings and table (the shipped one or one with a row added): identical result, in the same order', () => {
    fc.assert(
      fc.property(arbEvaluation, arbSettings, fc.constantFrom(undefined, withIpv6), fc.boolean(), (e, settings, table, v6) => {
        const options: PlanOptions = { ...(table ? { metadataOptions: table } : {}), ...(v6 ? { ipv6Only: new Set([e.instanceId]) } : {}) };
        expect(planInstance(e, settings, options)).toStrictEqual(frozenPlanInstance(e, settings, options));
        // The engine's way (its phases' wants passed explicitly) is the same as the default.
        if (!table) expect(planInstance(e, settings, { ...options, wants: [metadataOptionsWants(), guestDocumentWants] })).toStrictEqual(frozenPlanInstance(e, settings, options));
      }),
      { numRuns: 3000 },
    );
  });

  it('the default list is the metadata rows, then the guest document', () => {
    expect(BUILT_IN_WANTS).toHaveLength(2);
    expect(BUILT_IN_WANTS[1]).toBe(guestDocumentWants);
  });
});

describe("a want's blocked actions and fields", () => {
  const settings: PlanInstanceSettings = { hopLimitTarget: 2, hopLimitScope: 'containers', enableMetadataEndpoint: false, fixTimeSync: false, fixNoProxy: false, fixMixedSources: false };
  const e = { instanceId: 'i-1', platform: 'linux', status: 'ok', checkState: 'unmanaged', findings: [], imds: { hopLimit: 2 } } as unknown as InstanceEvaluation;
  const phase: InstanceWants = () => ({ wanted: [], blocked: [{ action: 'require-imdsv2', reason: 'not-checked', before: { httpTokens: 'optional' } }] });

  it("a phase's blocked action reaches `skipped` with its reason and before/after, in want order", () => {
    expect(planInstance(e, settings, { wants: [phase] }).skipped).toEqual([{ instanceId: 'i-1', action: 'require-imdsv2', reason: 'not-checked', before: { httpTokens: 'optional' } }]);
    const plan = planRemediation([e], { ...parseSettings({}), ...settings, fixTimeSync: true }, 1, { wants: [...BUILT_IN_WANTS, phase] });
    expect(plan.skipped.map((k) => `${k.action}:${k.reason}`)).toEqual(['enable-amazon-time-sync:not-checked', 'require-imdsv2:not-checked']);
  });

  it('an opted-out instance drops what was blocked and skips what was wanted `opted-out`', () => {
    const wanting: InstanceWants = () => ({ wanted: [{ action: 'require-imdsv2' }], blocked: [{ action: 'raise-hop-limit', reason: 'not-checked' }] });
    const p = planInstance({ ...e, checkState: 'opted-out' }, settings, { wants: [wanting] });
    expect(p).toEqual({ wanted: [], skipped: [{ instanceId: 'i-1', action: 'require-imdsv2', reason: 'opted-out' }] });
  });

  it("sets the planned instance's fields from each want's, and a want that throws or answers garbage counts as nothing", () => {
    const hop: InstanceWants = () => ({ wanted: [{ action: 'raise-hop-limit' }], fields: { hopLimit: { from: 1, to: 2 } } });
    const guest: InstanceWants = () => ({ wanted: [{ action: 'add-imds-no-proxy' }], fields: { guest: true, metadata: { X: { to: 1 } } } });
    const throws: InstanceWants = () => {
      throw new Error('bug');
    };
    const garbage = (() => ({ wanted: 'x', blocked: 3 })) as unknown as InstanceWants;
    const p = planInstance({ ...e, checkState: 'checked' }, settings, { wants: [hop, throws, garbage, guest] });
    expect(p.planned).toEqual(expect.objectContaining({ hopLimit: { from: 1, to: 2 }, enableEndpoint: false, guest: true, metadata: { X: { to: 1 } }, actions: ['raise-hop-limit', 'add-imds-no-proxy'] }));
    expect(planInstance({ ...e, checkState: 'checked' }, settings, { wants: [] })).toEqual({ wanted: [], skipped: [] });
  });

  it('the streaming planner judges by the wants it is given (the built-in ones by default)', () => {
    const s = { ...parseSettings({}), ...settings, hopLimitScope: 'all' as const, maxChangesPercent: 100 };
    const only: InstanceWants = () => ({ wanted: [{ action: 'require-imdsv2' }] });
    const byDefault = new StreamingPlan(s);
    byDefault.listed(1);
    expect(byDefault.offer({ ...e, checkState: 'checked', imds: { hopLimit: 1 } } as InstanceEvaluation).admitted.map((p) => p.actions)).toEqual([['raise-hop-limit']]);
    const given = new StreamingPlan(s, 0, [only]);
    given.listed(1);
    expect(given.offer({ ...e, checkState: 'checked', imds: { hopLimit: 1 } } as InstanceEvaluation).admitted.map((p) => p.actions)).toEqual([['require-imdsv2']]);
  });
});
