/**
 * cdk-nag AwsSolutions on the organization hub, synthesized in-process with bundling skipped (as
 * `npm run synth -- -c organization=true` checks it with bundling): every finding is acknowledged
 * beside its resource with its reason, and an unacknowledged one still fails.
 */
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { TimeSyncGuardOrgStack } from '../../lib/time-sync-guard-org-stack';
import { useNag } from '../support/nag';
import { OU } from './util';

const nag = useNag('tsg-org-nag-');
const nagApp = nag.app;
const findings = nag.findings;

describe('cdk-nag AwsSolutions on the organization hub', () => {
  it('finds nothing unacknowledged with the OUs asked at deploy and e-mail alarms', () => {
    const app = nagApp();
    new TimeSyncGuardOrgStack(app, 'OrgNag', { guard: { alarmEmails: ['ops@example.com'] } });
    expect(findings(app)).toEqual([]);
  });

  it('finds nothing unacknowledged with an organization id, several regions, an existing topic and no remediation', () => {
    const app = nagApp();
    new TimeSyncGuardOrgStack(app, 'OrgNagCustom', {
      organizationalUnits: [OU],
      accounts: ['123456789012'],
      regions: ['eu-west-1', 'us-east-1'],
      organizationId: 'o-abcdefghij',
      spokeRoleName: 'AcmeTimeSync',
      callAs: 'SELF',
      alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops',
      guard: { remediationEnabled: false },
    });
    expect(findings(app)).toEqual([]);
  });

  it.each([undefined, 'o-abcdefghij'])('finds nothing unacknowledged with every capability on (launch check and remediation, IMDSv2 enforcement with the undo role, account defaults, proxy fix; organization id %s)', (organizationId) => {
    const app = nagApp();
    new TimeSyncGuardOrgStack(app, `OrgNagAll${organizationId ? 'Org' : ''}`, {
      organizationalUnits: [OU],
      ...(organizationId ? { organizationId } : {}),
      guard: { launchCheck: true, remediateOnLaunch: true, imdsv2: 'enforce', imdsv2AutoUndo: true, accountDefaults: 'set', fixNoProxy: true },
    });
    expect(findings(app)).toEqual([]);
  });

  it('still reports a wildcard nobody acknowledged (the check can fail)', () => {
    const app = nagApp();
    const stack = new TimeSyncGuardOrgStack(app, 'OrgNagBroken', { organizationalUnits: [OU] });
    stack.runFunction.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bucket/*'] }));
    expect(findings(app)).toEqual([expect.stringMatching(/^AwsSolutions-IAM5\[Resource::arn:aws:s3:::bucket\/\*\] at OrgNagBroken\/HubRun\/Role\/DefaultPolicy/)]);
  });
});
