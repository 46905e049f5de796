import fc from 'fast-check';
import { aggregate, HOURLY_CHECK_METRIC_NAMES, percentile, SPARSE_CHECK_METRICS, toMetricData } from '../../lambda/core/fleet/aggregate';
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { evaluateInstance } from '../../lambda/core/fleet/evaluate-instance';
import { CHECK_METRICS } from '../../lambda/core/fleet/metric-names';
import type { InstanceEvaluation, InstanceRecord, Verdict } from '../../lambda/core/types';
import { chronyReport, daemonDownReport } from '../engine/reports';

const thresholds = { maxOffsetSeconds: 1, maxClockErrorBoundSeconds: 1 };
const settings = { hopLimitTarget: 2 };

function rec(id: string, extra: Partial<InstanceRecord> = {}): InstanceRecord {
  return { instanceId: id, platform: 'linux', hasInstanceProfile: true, optedOut: false, imds: { hopLimit: 2, httpEndpoint: 'enabled' }, ssm: { pingStatus: 'Online' }, ...extra };
}
const checked = (id: string, v: Verdict, extra: Partial<InstanceRecord> = {}): InstanceEvaluation => evaluateInstance(rec(id, extra), { kind: 'report', verdict: v }, settings);

const ALL_NAMES = Object.values(CHECK_METRICS).sort();
/** The metrics published every hour, 0 included (the sparse ones only when not 0). */
const HOURLY_NAMES = [...HOURLY_CHECK_METRIC_NAMES].sort();

describe('aggregate + toMetricData', () => {
  it('emits the hourly CHECK_METRICS names, all zero, for an empty fleet (the sparse ones not at all)', () => {
    const s = aggregate([], thresholds);
    const data = toMetricData(s);
    expect(data.map((d) => d.name).sort()).toEqual(HOURLY_NAMES);
    for (const d of data) {
      if (d.unit === 'Count') expect(d.values).toEqual([0]);
      else expect(d.values).toEqual([]);
    }
    expect(s.maxClockErrorBoundSeconds).toBeNull();
    expect(s.p99ClockErrorBoundSeconds).toBeNull();
  });

  it('counts a mixed fleet into the per-finding metrics', () => {
    const evals: InstanceEvaluation[] = [
      checked('ok', diagnose(chronyReport())),
      checked('other', diagnose(chronyReport({ address: '127.0.0.1' }))),
      checked('behind', diagnose(chronyReport({ offset: 5 }))),
      checked('nodaemon', diagnose(daemonDownReport())),
      checked('hop', diagnose(chronyReport({ containers: 'docker' })), { imds: { hopLimit: 1 } }),
      evaluateInstance(rec('endpoint', { imds: { httpEndpoint: 'disabled' }, ssm: undefined }), { kind: 'not-checked', checkState: 'unmanaged', code: 'ssm-unmanaged' }, settings),
      evaluateInstance(rec('lost', { ssm: { pingStatus: 'ConnectionLost' } }), { kind: 'not-checked', checkState: 'ssm-offline', code: 'ssm-connection-lost' }, settings),
      evaluateInstance(rec('opt', { optedOut: true }), { kind: 'not-requested' }, settings),
    ];
    const s = aggregate(evals, thresholds);
    expect(s.counts).toEqual({
      instancesSeen: 8,
      instancesChecked: 5,
      instancesAtRisk: 5,
      instancesNotChecked: 2,
      notOnAmazonTimeSync: 2, // 127.0.0.1 and no daemon at all
      notSynchronized: 1,
      clockErrorBoundOverThreshold: 1,
      hopLimitTooLowForContainers: 1,
      metadataEndpointDisabled: 1,
      linkLocalPacketsDropped: 0,
      imdsUnreachable: 0,
      imdsThrottled: 0,
      clockSkewViaImds: 0,
      leapSmearAdvisory: 0,
    });
    expect(s.byStatus).toEqual({ ok: 1, 'at-risk': 5, unknown: 1, 'opted-out': 1 });
    expect(s.maxAbsOffsetSeconds).toBeCloseTo(5, 5);
    expect(s.maxClockErrorBoundSeconds).toBeGreaterThan(5);
    expect(s.clockErrorBounds).toHaveLength(4);
  });

  it('keeps the metric set fixed whatever the fleet size (no per-instance metric)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), (n) => {
        const v = diagnose(chronyReport());
        const data = toMetricData(aggregate(Array.from({ length: n }, (_, i) => checked(`i-${i}`, v)), thresholds));
        expect(data).toHaveLength(HOURLY_NAMES.length);
        expect(data.find((d) => d.name === 'InstancesSeen')!.values).toEqual([n]);
        expect(data.find((d) => d.name === 'ClockErrorBoundSeconds')!.values).toHaveLength(n);
      }),
      { numRuns: 20 },
    );
  });
});

describe('sparse metrics', () => {
  it('publishes a rarer cause only in an hour where it is not 0, with its count', () => {
    const s = aggregate([], thresholds);
    const counts = { ...s.counts, linkLocalPacketsDropped: 3 };
    const data = toMetricData({ ...s, counts });
    expect(data.find((d) => d.name === CHECK_METRICS.linkLocalPacketsDropped)!.values).toEqual([3]);
    expect(data.find((d) => d.name === CHECK_METRICS.imdsThrottled)).toBeUndefined();
    expect(ALL_NAMES.length - HOURLY_NAMES.length).toBe(SPARSE_CHECK_METRICS.size);
  });
});

describe('percentile', () => {
  it.each([
    [[], 99, null],
    [[3], 99, 3],
    [Array.from({ length: 100 }, (_, i) => i + 1), 99, 99],
    [Array.from({ length: 1000 }, (_, i) => 1000 - i), 99, 990],
    [[5, 1, 3], 50, 3],
  ])('nearest-rank percentile, case %#', (values, p, expected) => {
    expect(percentile(values as number[], p)).toBe(expected);
  });
});
