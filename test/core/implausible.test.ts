/**
 * A guest that reports the impossible is not believed: an offset beyond ±1e6 s, a negative
 * dispersion or delay, a number that is not finite, an absurd stratum or frequency give an
 * `unknown` verdict with an `implausible-value` finding, never `ok`, and no metric value.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { publishCheckMetrics } from '../../lambda/aws/metrics';
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { aggregate, toMetricData } from '../../lambda/core/fleet/aggregate';
import { evaluateInstance } from '../../lambda/core/fleet/evaluate-instance';
import { CHECK_METRICS } from '../../lambda/core/fleet/metric-names';
import { guestNeedsFix, guestNeedsNoProxy } from '../../lambda/core/remediation/plan';
import type { InstanceRecord, Verdict } from '../../lambda/core/types';
import { AMAZON_SOURCES_CSV, buildReport, fixtureLines, type ReportSpec } from './report-builder';

/** The reference chrony tracking line, with one CSV field replaced. */
function tracking(field: number, value: string): string {
  const f = 'A9FEA97B,169.254.169.123,4,1795914070.000000000,0.000000626,0.002852759,0.002852759,1.187,0.020,24.388,0.000504752,0.001112565,64.4,Normal'.split(',');
  f[field] = value;
  return f.join(',');
}
const chrony = (trackingLine: string, sources: readonly string[] = AMAZON_SOURCES_CSV): string =>
  buildReport({ header: { now: '1795914100' }, sections: [['chrony-tracking', [trackingLine]], ['chrony-sources', sources]] });

const replaced = (file: string, from: string | RegExp, to: string): string[] => {
  const lines = fixtureLines(file);
  const out = lines.map((l) => l.replace(from, to));
  if (out.join('\n') === lines.join('\n')) throw new Error(`${String(from)} not found in ${file}`);
  return out;
};
const ntpd = (pn: readonly string[], rv: readonly string[] = fixtureLines('handmade/ntpq-rv-amazon.txt')): string =>
  buildReport({ header: { daemons: 'ntpd' }, sections: [['ntpq', pn], ['ntpq-rv', rv]] });
const timesyncd = (status: readonly string[], show: readonly string[] = fixtureLines('handmade/timesync-show-amazon.txt')): string =>
  buildReport({
    header: { daemons: 'systemd-timesyncd' },
    sections: [['timedatectl', 'handmade/timedatectl-show-synced.txt'], ['timesync', show], ['timesync-status', status]],
  });
const openntpd = (lines: readonly string[]): string => buildReport({ header: { daemons: 'openntpd' }, sections: [['ntpctl', lines]] });
const windows = (status: readonly string[]): string =>
  buildReport({
    platform: 'windows',
    header: { os: 'windows 10.0.20348', daemons: 'w32time', detect: 'service', domain: 'false', ptp: '' },
    sections: [
      ['w32tm-status', status],
      ['w32time-reg', ['NtpServer=169.254.169.123,0x9', 'Type=NTP', 'SpecialPollInterval=900', 'NtpClientEnabled=1']],
      ['w32tm-config', 'handmade/w32tm-config-en.txt'],
    ] satisfies ReportSpec['sections'],
  });

const W32 = 'handmade/w32tm-status-amazon-en.txt';
const TS = 'handmade/timesync-status-amazon.txt';

const rec: InstanceRecord = { instanceId: 'i-1', platform: 'linux', hasInstanceProfile: true, optedOut: false, imds: { hopLimit: 2, httpEndpoint: 'enabled' }, ssm: { pingStatus: 'Online' } };
const thresholds = { maxOffsetSeconds: 1, maxClockErrorBoundSeconds: 1 };

/** The fleet metric values one verdict would publish, through the same path as the check Lambda (EMF). */
function publishedSeconds(v: Verdict): number[] {
  const summary = aggregate([evaluateInstance(rec, { kind: 'report', verdict: v }, { hopLimitTarget: 2 })], thresholds);
  const added: number[] = [];
  const metrics = { addMetric: (name: string, _unit: unknown, value: number) => name === CHECK_METRICS.clockErrorBoundSeconds && added.push(value), publishStoredMetrics: () => undefined };
  publishCheckMetrics(metrics as unknown as Metrics, summary);
  return added;
}

describe('implausible guest values', () => {
  it('the unaltered reports are ok (so each case below can fail)', () => {
    for (const report of [
      chrony(tracking(11, '0.001112565')),
      ntpd(fixtureLines('handmade/ntpq-pn-amazon.txt')),
      timesyncd(fixtureLines(TS)),
      openntpd(fixtureLines('handmade/ntpctl-synced.txt')),
      windows(fixtureLines(W32)),
    ]) {
      const v = diagnose(report);
      expect(v.status).toBe('ok');
      expect(publishedSeconds(v)).toHaveLength(v.clockErrorBoundSeconds === null ? 0 : 1);
    }
  });

  it.each<[string, string]>([
    ['a chrony offset of 1e299 s', chrony(tracking(4, '1e299'))],
    ['a chrony offset of -2e6 s', chrony(tracking(4, '-2000000'))],
    ['a negative chrony root dispersion (was judged ok)', chrony(tracking(11, '-0.5'))],
    ['a negative chrony root delay', chrony(tracking(10, '-0.001'))],
    ['a chrony stratum of 200', chrony(tracking(2, '200'))],
    ['a chrony frequency of 1e7 ppm', chrony(tracking(7, '10000000'))],
    ['a chrony reference time of 1e299', chrony(tracking(3, '1e299'))],
    ['a selected chrony source 1e299 s off', chrony(tracking(4, '0.000000626'), ['^,*,169.254.169.123,3,6,377,43,1e299,-0.000226000,0.000287000'])],
    ['a negative error bound on the selected chrony source', chrony(tracking(4, '0.000000626'), ['^,*,169.254.169.123,3,6,377,43,-0.00003,-0.000226,-0.5'])],
    ['a negative ntpd peer delay', ntpd(replaced('handmade/ntpq-pn-amazon.txt', '    0.412   -0.031', '   -0.412   -0.031'))],
    ['an ntpd system stratum of 200', ntpd(fixtureLines('handmade/ntpq-pn-amazon.txt'), replaced('handmade/ntpq-rv-amazon.txt', 'stratum=4', 'stratum=200'))],
    ['a negative ntpd root dispersion', ntpd(fixtureLines('handmade/ntpq-pn-amazon.txt'), replaced('handmade/ntpq-rv-amazon.txt', 'rootdisp=7.456', 'rootdisp=-7.456'))],
    ['a timesyncd offset of 2e9 s', timesyncd(replaced(TS, 'Offset: -2.345ms', 'Offset: -2000000000s'))],
    ['a negative timesyncd root dispersion', timesyncd(fixtureLines(TS), replaced('handmade/timesync-show-amazon.txt', 'RootDispersion=198us', 'RootDispersion=-198us'))],
    ['an OpenNTPD offset of 3e9 ms', openntpd(replaced('handmade/ntpctl-synced.txt', '1.500ms', '3000000000ms'))],
    ['a W32Time phase offset of 1e7 s', windows(replaced(W32, 'Phase Offset: -0.0000361s', 'Phase Offset: -10000000.0s'))],
    ['a negative W32Time root dispersion', windows(replaced(W32, 'Root Dispersion: 0.0100528s', 'Root Dispersion: -0.0100528s'))],
    ['a W32Time clock rate of 50 s a tick', windows(replaced(W32, 'ClockRate: 0.0156250s', 'ClockRate: 50.0s'))],
  ])('%s gives unknown with implausible-value, and no metric value', (_what, report) => {
    const v = diagnose(report);
    expect(v.status).toBe('unknown');
    expect(v.findings).toEqual([{ code: 'implausible-value', message: expect.stringMatching(/is not a value a time daemon reports .*: the report is not trusted/) }]);
    expect(v.offsetSeconds).toBeNull();
    expect(v.clockErrorBoundSeconds).toBeNull();
    expect(publishedSeconds(v)).toEqual([]);
    // Nothing in an untrusted report is acted on.
    const e = evaluateInstance(rec, { kind: 'report', verdict: v }, { hopLimitTarget: 2 });
    expect(e.status).toBe('unknown');
    expect(guestNeedsFix(e)).toBe(false);
    expect(guestNeedsNoProxy(e)).toBe(false);
  });

  it('NaN never reaches the verdict: "1.2.3 seconds" in the text form is not read as a number', () => {
    const text = fixtureLines('chrony_local-loopback_tracking-synced.txt').map((l) => l.replace(/^(Root dispersion\s*:\s*)\S+/, '$11.2.3'));
    expect(text.join('\n')).toMatch(/Root dispersion\s*:\s*1\.2\.3 seconds/);
    const v = diagnose(buildReport({ sections: [['chrony-tracking', text], ['chrony-sources', AMAZON_SOURCES_CSV]] }));
    expect(v.status).toBe('unknown');
    expect(v.clockErrorBoundSeconds).toBeNull();
    expect(publishedSeconds(v)).toEqual([]);
  });

  it('a large but possible offset (5e5 s, under ±1e6) is still read and judged at risk', () => {
    const v = diagnose(chrony(tracking(4, '500000')));
    expect(v.status).toBe('at-risk');
    expect(v.offsetSeconds).toBe(-500000);
    expect(v.findings.map((f) => f.code)).toContain('offset-over-threshold');
  });

  it('a verdict judged elsewhere with NaN, Infinity, 1e299 or a negative bound puts no value on the metric path', () => {
    const base = diagnose(chrony(tracking(11, '0.001112565')));
    const offsets = [Number.NaN, Infinity, -Infinity, 1e299, -2e6, 2e6];
    const bounds = [Number.NaN, Infinity, -Infinity, 1e299, -1, -0.5];
    const bad = offsets.map((x, i) =>
      evaluateInstance({ ...rec, instanceId: `i-${i}` }, { kind: 'report', verdict: { ...base, offsetSeconds: x, clockErrorBoundSeconds: bounds[i]! } }, { hopLimitTarget: 2 }),
    );
    const s = aggregate(bad, thresholds);
    expect(s.clockErrorBounds).toEqual([]);
    expect(s.maxAbsOffsetSeconds).toBeNull();
    expect(toMetricData({ ...s, clockErrorBounds: [Number.NaN, 1e299, -1, 0.001] }).find((d) => d.unit === 'Seconds')!.values).toEqual([0.001]);
  });
});
