/**
 * The guest-visible causes of ExpiredToken (IMDS probe, link-local drops, skew via IMDS Date, leap-smear
 * mixing, PHC bound) in the exported checks: which check each fails, the advisory ones kept apart from
 * time sync with LOW severity, and no check passed without its evidence.
 */
import { judgeChecks } from '../../lambda/core/findings-export/checks';
import { findingsExportMetricValues } from '../../lambda/core/findings-export/metrics';
import type { Finding, Verdict } from '../../lambda/core/types';
import { healthy } from './support';

const withVerdict = (extra: Partial<Verdict> & Record<string, unknown>, findings: Finding[] = [], status: Verdict['status'] = 'ok') =>
  healthy(1, { status, findings, verdict: { ...healthy(1).verdict!, status, findings, ...extra } as Verdict });
const judged = (e: ReturnType<typeof healthy>) => Object.fromEntries(judgeChecks(e).map((j) => [j.check, j]));

describe('exported checks for the guest causes of ExpiredToken', () => {
  it('fails IMDS reachability HIGH on a throttled, unreachable or refused probe, MEDIUM on dropped link-local packets', () => {
    for (const [code, severity] of [['imds-throttled', 'HIGH'], ['imds-unreachable', 'HIGH'], ['imds-token-refused', 'HIGH'], ['imds-packets-dropped', 'MEDIUM']] as const) {
      const j = judged(withVerdict({ imdsProbe: { via: 'curl', put: '429' } }, [{ code, message: code }], 'at-risk'));
      expect(j['imds-reachability']).toMatchObject({ status: 'FAILED', severity, codes: [code] });
    }
  });

  it('passes IMDS reachability only when the probe ran: off or without an HTTP client judges nothing', () => {
    expect(judged(withVerdict({ imdsProbe: { via: 'curl', put: '200', get: '200' } }))['imds-reachability']).toMatchObject({ status: 'PASSED' });
    expect(judged(withVerdict({ imdsProbe: { via: 'off' } }))['imds-reachability']).toBeUndefined();
    expect(judged(withVerdict({ imdsProbe: { via: 'none' } }))['imds-reachability']).toBeUndefined();
    expect(judged(withVerdict({}))['imds-reachability']).toBeUndefined();
  });

  it('fails time sync on a skew measured against the IMDS Date header', () => {
    const j = judged(withVerdict({ offsetSource: 'imds-date', offsetSeconds: 600 }, [{ code: 'imds-date-skew', message: 'local clock 600 s ahead of IMDS' }], 'at-risk'));
    expect(j['time-sync']).toMatchObject({ status: 'FAILED', severity: 'HIGH', codes: ['imds-date-skew'] });
  });

  it('keeps leap-smear mixing out of time sync: its own check, LOW, and time sync still passes', () => {
    const findings: Finding[] = [{ code: 'mixed-smeared-sources', message: 'mix' }, { code: 'leap-file-with-smeared-source', message: 'leapsectz' }];
    const j = judged(withVerdict({ timeConfig: { amazon: ['169.254.169.123'], other: ['2.amazon.pool.ntp.org'], leap: ['right/UTC'] } }, findings, 'ok'));
    expect(j['leap-smear']).toMatchObject({ status: 'FAILED', severity: 'LOW' });
    expect(j['time-sync']).toMatchObject({ status: 'PASSED' });
  });

  it('judges leap-smear only where the report carries the time configuration (not on Windows reports)', () => {
    expect(judged(withVerdict({ timeConfig: { amazon: ['169.254.169.123'], other: [], leap: [] } }))['leap-smear']).toMatchObject({ status: 'PASSED' });
    expect(judged(withVerdict({ platform: 'windows' }))['leap-smear']).toBeUndefined();
  });
});

describe('findings export metrics', () => {
  it('publishes nothing for a run that exported nothing (a steady fleet pays for no export metric), and each non-zero count', () => {
    const zero = { securityHubNotSubscribed: false, findingsImported: 0, findingsArchived: 0, findingsFailed: 0, compliancePuts: 0, complianceFailed: 0 };
    expect(findingsExportMetricValues(zero)).toEqual([]);
    expect(findingsExportMetricValues({ ...zero, securityHubNotSubscribed: true, findingsImported: 3 })).toEqual([
      ['SecurityHubNotSubscribed', 1],
      ['SecurityHubFindingsImported', 3],
    ]);
  });
});
