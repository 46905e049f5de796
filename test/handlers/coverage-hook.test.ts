import { COVERAGE_METRICS, coverageLogFields, type CoverageGap, type CoverageReport } from '../../lambda/core/fleet/coverage';
import { addCoverageMetrics } from '../../lambda/handlers/coverage-hook';

const report = (percent: number | undefined): CoverageReport =>
  ({ running: 10, managed: 9, percent, gaps: [], byCause: {} as CoverageReport['byCause'], dhmcWouldManage: 0, dhmc: 'off' }) as CoverageReport;

const published = (r: CoverageReport): [string, number][] => {
  const out: [string, number][] = [];
  addCoverageMetrics({ addMetric: (name: string, _unit: unknown, value: number) => void out.push([name, value]) } as never, r);
  return out;
};

describe('the SsmCoveragePercent metric', () => {
  it('is published while coverage is below 100 % (the alarm and the dashboard read it)', () => {
    expect(published(report(86.2))).toEqual([[COVERAGE_METRICS.percent, 86.2]]);
    expect(published(report(99.9))).toEqual([[COVERAGE_METRICS.percent, 99.9]]);
  });

  it('is not published at 100 % (billed by the hours published; the alarm treats missing as not breaching) nor with no running instance', () => {
    expect(published(report(100))).toEqual([]);
    expect(published(report(undefined))).toEqual([]);
  });
});

describe('the per-instance coverage log fields', () => {
  const gap = (causes: CoverageGap['causes'], details: string[]): CoverageGap => ({ instanceId: 'i-1', registration: 'never-registered', causes, details, dhmcWouldManage: 'no', dhmcReason: 'has-instance-profile' });

  it('leave out a detail that only restates its cause code', () => {
    const f = coverageLogFields(gap(['ssm-cause-unknown'], ['no cause found in the read-only facts']));
    expect(f).toEqual({ ssmRegistration: 'never-registered', ssmCauses: 'ssm-cause-unknown', dhmcWouldManage: 'no', dhmcReason: 'has-instance-profile' });
  });

  it("keep the details that name the instance's facts (missing actions, endpoints)", () => {
    const f = coverageLogFields(
      gap(['ssm-cause-no-profile-dhmc-off', 'ssm-cause-role-lacks-ssm-permissions', 'ssm-cause-no-route-to-ssm'], ['no instance profile and Default Host Management is off', 'not allowed ssm:UpdateInstanceInformation', 'no ssm interface endpoint']),
    );
    expect(f.ssmCauses).toBe('ssm-cause-no-profile-dhmc-off,ssm-cause-role-lacks-ssm-permissions,ssm-cause-no-route-to-ssm');
    expect(f.ssmCauseDetail).toBe('not allowed ssm:UpdateInstanceInformation; no ssm interface endpoint');
  });
});
