import fc from 'fast-check';
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { type CollectionOutcome, evaluateInstance, INSTANCE_FINDING_CODES, preCollectionOutcome } from '../../lambda/core/fleet/evaluate-instance';
import { DEFAULTS } from '../../lambda/core/settings';
import type { InstanceRecord, Verdict } from '../../lambda/core/types';
import { chronyReport, daemonDownReport } from '../engine/reports';

const settings = { hopLimitTarget: DEFAULTS.hopLimitTarget };

function record(extra: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    instanceId: 'i-0abc',
    platform: 'linux',
    name: 'web',
    hasInstanceProfile: true,
    optedOut: false,
    imds: { httpEndpoint: 'enabled', httpTokens: 'required', hopLimit: 2, state: 'applied' },
    ssm: { pingStatus: 'Online' },
    ...extra,
  };
}

const ok: Verdict = diagnose(chronyReport());
const okContainers: Verdict = diagnose(chronyReport({ containers: 'docker' }));
const otherSource: Verdict = diagnose(chronyReport({ address: '127.0.0.1' }));
const report = (verdict: Verdict): CollectionOutcome => ({ kind: 'report', verdict });

describe('evaluateInstance', () => {
  it('is ok when the guest verdict is ok and IMDS is fine', () => {
    expect(ok.status).toBe('ok');
    const e = evaluateInstance(record(), report(ok), settings);
    expect(e).toMatchObject({ status: 'ok', checkState: 'checked', findings: [] });
    expect(e.verdict).toBe(ok);
  });

  it.each([
    { hop: 1, containers: true, atRisk: true },
    { hop: 2, containers: true, atRisk: false },
    { hop: 1, containers: false, atRisk: false },
    { hop: 64, containers: true, atRisk: false },
  ])('hop limit $hop with containers=$containers → hop finding $atRisk', ({ hop, containers, atRisk }) => {
    const e = evaluateInstance(record({ imds: { hopLimit: hop, httpEndpoint: 'enabled' } }), report(containers ? okContainers : ok), settings);
    expect(e.findings.some((f) => f.code === 'imds-hop-limit-too-low-for-containers')).toBe(atRisk);
    expect(e.status).toBe(atRisk ? 'at-risk' : 'ok');
  });

  it('applies the configured hop limit target', () => {
    const e = evaluateInstance(record({ imds: { hopLimit: 2 } }), report(okContainers), { hopLimitTarget: 3 });
    expect(e.status).toBe('at-risk');
  });

  it('flags a disabled metadata endpoint on an instance with a profile even when the guest was not checked', () => {
    const e = evaluateInstance(
      record({ imds: { httpEndpoint: 'disabled' }, ssm: undefined }),
      { kind: 'not-checked', checkState: 'unmanaged', code: 'ssm-unmanaged' },
      settings,
    );
    expect(e.status).toBe('at-risk');
    expect(e.checkState).toBe('unmanaged');
    expect(e.findings.map((f) => f.code)).toEqual(['imds-endpoint-disabled', 'ssm-unmanaged']);
  });

  it('does not flag a disabled endpoint on an instance without a profile (nothing to lose)', () => {
    const e = evaluateInstance(record({ imds: { httpEndpoint: 'disabled' }, hasInstanceProfile: false }), report(ok), settings);
    expect(e.status).toBe('ok');
  });

  it('cannot judge the hop limit when the guest was not checked (containers unknown): unknown, never ok', () => {
    const e = evaluateInstance(record({ imds: { hopLimit: 1 } }), { kind: 'not-checked', checkState: 'timed-out', code: 'command-timed-out' }, settings);
    expect(e.status).toBe('unknown');
    expect(e.findings.map((f) => f.code)).toEqual(['command-timed-out']);
  });

  it('keeps the verdict at risk and its findings for a non-Amazon source', () => {
    const e = evaluateInstance(record(), report(otherSource), settings);
    expect(e.status).toBe('at-risk');
    expect(e.findings.map((f) => f.code)).toContain('not-amazon-time-sync');
  });

  it('is at risk when no daemon runs, and unknown when the report was cut', () => {
    expect(evaluateInstance(record(), report(diagnose(daemonDownReport())), settings).status).toBe('at-risk');
    expect(evaluateInstance(record(), report(diagnose(chronyReport({ end: false }))), settings).status).toBe('unknown');
  });

  it('reports an opted-out instance as opted-out whatever else is true', () => {
    const e = evaluateInstance(record({ optedOut: true, imds: { httpEndpoint: 'disabled' } }), report(otherSource), settings);
    expect(e).toMatchObject({ status: 'opted-out', checkState: 'opted-out', findings: [] });
  });

  it.each([
    ['timed-out', 'command-timed-out'],
    ['undeliverable', 'command-undeliverable'],
    ['command-failed', 'command-failed'],
    ['gone', 'instance-gone'],
    ['output-unreadable', 'output-unreadable'],
    ['ssm-offline', 'ssm-connection-lost'],
  ] as const)('a guest that was not checked (%s) is unknown with finding %s', (checkState, code) => {
    const e = evaluateInstance(record(), { kind: 'not-checked', checkState, code, detail: 'x' }, settings);
    expect(e).toMatchObject({ status: 'unknown', checkState, detail: 'x' });
    expect(e.findings.map((f) => f.code)).toEqual([code]);
  });

  it('marks an instance whose guest check was not requested as not-requested, unknown', () => {
    const e = evaluateInstance(record(), { kind: 'not-requested' }, settings);
    expect(e).toMatchObject({ status: 'unknown', checkState: 'not-requested' });
  });
});

describe('preCollectionOutcome', () => {
  it.each([
    [{ optedOut: true }, 'opted-out'],
    [{ ssm: undefined }, 'unmanaged'],
    [{ ssm: { pingStatus: 'ConnectionLost' as const } }, 'ssm-connection-lost'],
    [{ ssm: { pingStatus: 'Inactive' as const } }, 'ssm-inactive'],
    [{}, undefined],
  ])('%p → %p', (extra, expected) => {
    const out = preCollectionOutcome(record(extra));
    const got = out === undefined || out === 'opted-out' ? out : out.kind === 'not-checked' ? (out.checkState === 'unmanaged' ? 'unmanaged' : out.code) : out.kind;
    expect(got).toBe(expected);
  });
});

describe('INSTANCE_FINDING_CODES', () => {
  it('documents every code in kebab-case with a sentence', () => {
    for (const [code, meaning] of Object.entries(INSTANCE_FINDING_CODES)) {
      expect(code).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(meaning.length).toBeGreaterThan(20);
    }
  });
});

describe('evaluateInstance properties', () => {
  const checkStates = ['unmanaged', 'ssm-offline', 'command-failed', 'timed-out', 'undeliverable', 'gone', 'output-unreadable'] as const;
  const codes = Object.keys(INSTANCE_FINDING_CODES) as (keyof typeof INSTANCE_FINDING_CODES)[];
  const arbRecord = fc.record({
    optedOut: fc.boolean(),
    hasInstanceProfile: fc.boolean(),
    hopLimit: fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }),
    endpoint: fc.constantFrom('enabled', 'disabled', undefined),
  });
  const arbOutcome: fc.Arbitrary<CollectionOutcome> = fc.oneof(
    fc.record({ kind: fc.constant('not-checked' as const), checkState: fc.constantFrom(...checkStates), code: fc.constantFrom(...codes) }),
    fc.constant({ kind: 'not-requested' as const }),
    fc.constantFrom(ok, okContainers, otherSource, diagnose(daemonDownReport()), diagnose('garbage'), diagnose(chronyReport({ end: false }))).map((verdict) => ({ kind: 'report' as const, verdict })),
  );

  it('is ok only when checked with an ok verdict and no IMDS finding, and never loses an IMDS finding', () => {
    fc.assert(
      fc.property(arbRecord, arbOutcome, (r, outcome) => {
        const rec = record({ optedOut: r.optedOut, hasInstanceProfile: r.hasInstanceProfile, imds: { hopLimit: r.hopLimit, httpEndpoint: r.endpoint } });
        const e = evaluateInstance(rec, outcome, settings);
        if (e.status === 'ok') {
          expect(outcome.kind).toBe('report');
          expect(e.checkState).toBe('checked');
          expect(e.verdict?.status).toBe('ok');
        }
        if (r.optedOut) expect(e.status).toBe('opted-out');
        else if (r.endpoint === 'disabled' && r.hasInstanceProfile) expect(e.status).toBe('at-risk');
        if (e.checkState !== 'checked' && !r.optedOut) expect(['unknown', 'at-risk']).toContain(e.status);
      }),
      { numRuns: 300 },
    );
  });
});
