import { COVERAGE_METRICS, type CoverageFacts, coverageLogFields, type CoverageGap, type CoverageReport, dhmcWouldManageOfReason, judgeGap } from '../../lambda/core/fleet/coverage';
import type { InstanceRecord } from '../../lambda/core/types';
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
    expect(f).toEqual({ ssmRegistration: 'never-registered', ssmCauses: 'ssm-cause-unknown', dhmcReason: 'has-instance-profile' });
  });

  it('leave out the registration when a finding code of the same record names it', () => {
    const g = gap(['ssm-cause-unknown'], ['x']);
    expect(coverageLogFields(g, ['ssm-unmanaged'])).not.toHaveProperty('ssmRegistration');
    expect(coverageLogFields({ ...g, registration: 'connection-lost' }, ['ssm-connection-lost'])).not.toHaveProperty('ssmRegistration');
    expect(coverageLogFields({ ...g, registration: 'inactive' }, ['ssm-inactive'])).not.toHaveProperty('ssmRegistration');
    // An opted-out instance has no such finding: the field is its only trace.
    expect(coverageLogFields(g, [])).toMatchObject({ ssmRegistration: 'never-registered' });
    expect(coverageLogFields({ ...g, registration: 'connection-lost' }, ['ssm-unmanaged'])).toMatchObject({ ssmRegistration: 'connection-lost' });
  });

  it('write dhmcWouldManage only when no reason implies it', () => {
    const g = gap(['ssm-cause-unknown'], ['x']);
    expect(coverageLogFields({ ...g, dhmcWouldManage: 'unknown', dhmcReason: 'agent-version-unknown' })).not.toHaveProperty('dhmcWouldManage');
    expect(coverageLogFields({ ...g, dhmcWouldManage: 'yes', dhmcReason: undefined })).toMatchObject({ dhmcWouldManage: 'yes' });
    expect(coverageLogFields({ ...g, dhmcWouldManage: 'already-on', dhmcReason: undefined })).toMatchObject({ dhmcWouldManage: 'already-on' });
    // A reason that does not imply the verdict (never judged so today) keeps both.
    expect(coverageLogFields({ ...g, dhmcWouldManage: 'yes', dhmcReason: 'has-instance-profile' })).toMatchObject({ dhmcWouldManage: 'yes', dhmcReason: 'has-instance-profile' });
  });

  it.each([
    ['a profile', { hasInstanceProfile: true }, {}],
    ['a disabled endpoint', { imds: { httpEndpoint: 'disabled' } }, {}],
    ['no route', { subnetId: 'subnet-1' }, { network: new Map([['subnet-1', { internetRoute: 'no', endpoints: [] }]]) }],
    ['an unknown agent', {}, {}],
    ['an old agent', { ssm: { pingStatus: 'ConnectionLost', agentVersion: '3.0.0.0' } }, {}],
    ['a current agent', { ssm: { pingStatus: 'ConnectionLost', agentVersion: '3.3.2000.0' } }, {}],
  ])('every reason judgeGap gives implies its verdict (%s)', (_name, record, facts) => {
    const g = judgeGap(
      { instanceId: 'i-1', platform: 'linux', imds: {}, hasInstanceProfile: false, ...record } as InstanceRecord,
      { dhmc: { state: 'off' }, profiles: new Map(), network: new Map(), ...facts } as unknown as CoverageFacts,
    );
    if (g.dhmcReason !== undefined) expect(dhmcWouldManageOfReason(g.dhmcReason)).toBe(g.dhmcWouldManage);
    else expect(['yes', 'already-on']).toContain(g.dhmcWouldManage);
  });

  it("keep the details that name the instance's facts (missing actions, endpoints)", () => {
    const f = coverageLogFields(
      gap(['ssm-cause-no-profile-dhmc-off', 'ssm-cause-role-lacks-ssm-permissions', 'ssm-cause-no-route-to-ssm'], ['no instance profile and Default Host Management is off', 'not allowed ssm:UpdateInstanceInformation', 'no ssm interface endpoint']),
    );
    expect(f.ssmCauses).toBe('ssm-cause-no-profile-dhmc-off,ssm-cause-role-lacks-ssm-permissions,ssm-cause-no-route-to-ssm');
    expect(f.ssmCauseDetail).toBe('not allowed ssm:UpdateInstanceInformation; no ssm interface endpoint');
  });
});
