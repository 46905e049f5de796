/**
 * remediateOnLaunch in the organization hub, the pure part: what started a run (a launch run names
 * one account-region and its instances; any other scope is refused, never widened to the
 * organization), which runs the overlap guard weighs, and the scope hub-item hands the remediation.
 * hub-run's listing: test/org/hub-run-s3.test.ts; hub-launch: test/org/hub-launch.test.ts.
 */
import { hubRunInput, launchScopeOf, runsToWeigh } from '../../lambda/core/fleet/hub-launch-remediation';

const ACCOUNT = '111111111111';
const REGIONS = ['eu-west-1', 'us-east-1'];
const ID = 'i-0123456789abcdef0';
const executionArn = (name: string) => `arn:aws:states:eu-west-1:999988887777:execution:Hub:${name}`;
const launchInput = (o: Record<string, unknown> = {}) => ({ mode: 'remediate', trigger: 'launch', accountId: ACCOUNT, region: 'eu-west-1', instanceIds: [ID], ...o });

describe('what started a run (hubRunInput)', () => {
  it('reads the schedules\' { mode } as a scheduled run and a launch request as a launch run of one account-region', () => {
    expect(hubRunInput({ mode: 'check' }, REGIONS)).toEqual({ kind: 'scheduled' });
    expect(hubRunInput(undefined, REGIONS)).toEqual({ kind: 'scheduled' });
    expect(hubRunInput(launchInput({ instanceIds: [ID, ID] }), REGIONS)).toEqual({ kind: 'launch', item: { accountId: ACCOUNT, region: 'eu-west-1', trigger: 'launch', instanceIds: [ID] } });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['ids without the launch trigger', { mode: 'remediate', instanceIds: [ID] }, /trigger is undefined/],
    ['another trigger', launchInput({ trigger: 'urgent' }), /trigger is "urgent"/],
    ['a launch check run', launchInput({ mode: 'check' }), /must be a remediation/],
    ['a malformed account', launchInput({ accountId: '1234' }), /accountId/],
    ['a region the hub does not cover', launchInput({ region: 'sa-east-1' }), /not one the hub covers/],
    ['no instance list', launchInput({ instanceIds: null }), /instanceIds is null/],
    ['an empty list', launchInput({ instanceIds: [] }), /instanceIds is empty/],
    ['a malformed id', launchInput({ instanceIds: ['i-x; rm'] }), /not an EC2 instance id/],
  ])('refuses %s (never widened to the organization)', (_what, input, reason) => {
    const r = hubRunInput(input, REGIONS);
    expect(r.kind).toBe('refused');
    expect(r.kind === 'refused' && r.reason).toMatch(reason);
  });

  it('hands hub-item the launch scope of a launch item only', () => {
    expect(launchScopeOf({ accountId: ACCOUNT, region: 'eu-west-1' })).toBeUndefined();
    expect(launchScopeOf(undefined)).toBeUndefined();
    expect(launchScopeOf({ accountId: ACCOUNT, region: 'eu-west-1', trigger: 'launch', instanceIds: [ID] })).toEqual({ trigger: 'launch', instanceIds: [ID] });
    // A list without the trigger is still a scoped request: the remediation validates it, never runs the whole region for it.
    expect(launchScopeOf({ instanceIds: 'all' })).toEqual({ trigger: 'launch', instanceIds: 'all' });
  });

  it('weighs launch runs only for a launch run', () => {
    const launch = { executionArn: executionArn('launch-20261207T100000000Z-abc'), startDate: 1 };
    const nightly = { executionArn: executionArn('0f2c-nightly'), startDate: 2 };
    expect(runsToWeigh(false, [launch, nightly])).toEqual([nightly]);
    expect(runsToWeigh(true, [launch, nightly])).toEqual([launch, nightly]);
  });
});

