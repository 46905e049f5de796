/**
 * The SSM coverage infrastructure (lib/constructs/fleet-coverage.ts): the alarm and the metric in
 * the template, the read-only grants, Default Host Management (role, setting, undo) with IAM that
 * allows nothing more than that one setting and that one role (iam-simulate), CloudTrail grants,
 * and cdk-nag at zero.
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { TimeSyncGuard, type TimeSyncGuardProps } from '../../lib/time-sync-guard';
import { TimeSyncGuardStack } from '../../lib/time-sync-guard-stack';
import { simulate } from '../support/iam-simulate';
import { useNag } from '../support/nag';
import { guardTemplate, testApp } from './util';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const SETTING = `arn:aws:ssm:${REGION}:${ACCOUNT}:servicesetting/ssm/managed-instance/default-ec2-instance-management-role`;
const EDS = `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:eventdatastore/eds-1`;
const nag = useNag();

type Json = Record<string, unknown>;
function resolved(props: TimeSyncGuardProps) {
  const stack = new Stack(testApp(), 'Cov', { env: { account: ACCOUNT, region: REGION } });
  new TimeSyncGuard(stack, 'Guard', props);
  const t = Template.fromStack(stack);
  const resources = t.toJSON().Resources as Record<string, Json>;
  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve);
    if (v && typeof v === 'object') {
      const o = v as Json;
      if ('Ref' in o) return String(o.Ref) === 'AWS::Partition' ? 'aws' : String(o.Ref);
      if ('Fn::GetAtt' in o) return `arn:aws:iam::${ACCOUNT}:role/${(o['Fn::GetAtt'] as string[])[0]}`;
      if ('Fn::Join' in o) {
        const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
        return parts.map(resolve).join(sep);
      }
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolve(x)]));
    }
    return v;
  };
  return { t, resources, resolve };
}

describe('SSM coverage in the template', () => {
  it('holds the SsmCoverage alarm on SsmCoveragePercent, below 90 by default, two checks in a row, and a dashboard row', () => {
    const { template } = guardTemplate();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'SsmCoveragePercent',
      Threshold: 90,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 2,
      TreatMissingData: 'notBreaching',
    });
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(body).toContain('SsmCoveragePercent');
  });

  it('follows coverageAlarmPercent', () => {
    guardTemplate({ coverageAlarmPercent: 75 }).template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'SsmCoveragePercent', Threshold: 75 });
  });

  it('grants the check role only read-only lookups for the causes', () => {
    const { template } = guardTemplate();
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'CoverageNetwork', Action: ['ec2:DescribeRouteTables', 'ec2:DescribeVpcEndpoints'] }),
          Match.objectLike({ Sid: 'CoverageDhmcSetting', Action: 'ssm:GetServiceSetting' }),
          Match.objectLike({ Sid: 'CoverageProfiles', Action: 'iam:GetInstanceProfile' }),
          Match.objectLike({ Sid: 'CoverageRoleSimulation', Action: 'iam:SimulatePrincipalPolicy' }),
        ]),
      },
    });
  });

  it('creates no DHMC role nor setting by default', () => {
    const { template } = guardTemplate();
    template.resourceCountIs('Custom::AWS', 0);
    expect(JSON.stringify(template.toJSON())).not.toContain('AmazonSSMManagedEC2InstanceDefaultPolicy');
  });
});

describe('defaultHostManagement', () => {
  const { t, resources, resolve } = resolved({ defaultHostManagement: true });

  it('creates the DHMC role with AWS\'s managed policy, trusted by ssm.amazonaws.com, and sets the setting to it (reset on delete)', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'ssm.amazonaws.com' } })] },
      ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSSMManagedEC2InstanceDefaultPolicy']] }],
    });
    const [cr] = Object.values(t.findResources('Custom::AWS'));
    const text = JSON.stringify(cr);
    expect(text).toContain('updateServiceSetting');
    expect(text).toContain('resetServiceSetting');
    expect(text).toContain('/ssm/managed-instance/default-ec2-instance-management-role');
  });

  it('IAM of the custom resource allows that one setting and passing that one role to SSM, nothing more', async () => {
    // Every policy on the provider's role (its own and the custom resource's), and no managed policy.
    const providerRoleId = Object.entries(resources).find(([id, r]) => r.Type === 'AWS::IAM::Role' && id.includes('DhmcSettingRole'))![0];
    expect((resources[providerRoleId]!.Properties as Json).ManagedPolicyArns).toBeUndefined();
    const crPolicies = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify((r.Properties as Json).Roles).includes(`"${providerRoleId}"`))
      .map(([name, r]) => ({ name, policy: resolve((r.Properties as Json).PolicyDocument) }));
    expect(crPolicies.length).toBeGreaterThan(0);
    const dhmcRoleId = Object.entries(resources).find(([, r]) => r.Type === 'AWS::IAM::Role' && JSON.stringify(r.Properties).includes('ssm.amazonaws.com'))![0];
    const role = `arn:aws:iam::${ACCOUNT}:role/${dhmcRoleId}`;
    const decide = (action: string, resource: string, context: Record<string, string> = {}) =>
      simulate({ principal: `arn:aws:iam::${ACCOUNT}:role/CustomResource`, action, resource, accountId: ACCOUNT, context }, crPolicies);
    for (const a of ['ssm:UpdateServiceSetting', 'ssm:GetServiceSetting', 'ssm:ResetServiceSetting']) expect(await decide(a, SETTING)).toBe('Allowed');
    expect(await decide('ssm:UpdateServiceSetting', `arn:aws:ssm:${REGION}:${ACCOUNT}:servicesetting/ssm/parameter-store/high-throughput-enabled`)).toBe('ImplicitlyDenied');
    expect(await decide('iam:PassRole', role, { 'iam:PassedToService': 'ssm.amazonaws.com' })).toBe('Allowed');
    expect(await decide('iam:PassRole', role, { 'iam:PassedToService': 'ec2.amazonaws.com' })).toBe('ImplicitlyDenied');
    expect(await decide('iam:PassRole', `arn:aws:iam::${ACCOUNT}:role/Admin`, { 'iam:PassedToService': 'ssm.amazonaws.com' })).toBe('ImplicitlyDenied');
    expect(await decide('ssm:PutParameter', `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/x`)).toBe('ImplicitlyDenied');
    expect(await decide('logs:PutLogEvents', `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:other:log-stream:x`)).toBe('ImplicitlyDenied');
    expect(await decide('ec2:ModifyInstanceMetadataOptions', `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0123456789abcdef0`)).toBe('ImplicitlyDenied');
  });
});

describe('cloudTrail', () => {
  it('grants StartQuery / GetQueryResults on the event data store to both roles, and the evidence object', () => {
    const { template } = guardTemplate({ cloudTrail: { eventDataStoreArn: EDS } });
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p).includes('QueryCloudTrailLake'));
    expect(policies).toHaveLength(2);
    expect(JSON.stringify(policies)).toContain('imdsv2/cloudtrail-evidence.json');
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ TSG_CLOUDTRAIL: EDS }) } });
  });

  it('takes a log group as log-group:<name> (the context form), and grants StartQuery on that group only', () => {
    const { template } = guardTemplate({ cloudTrail: 'log-group:aws-cloudtrail-logs' });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ TSG_CLOUDTRAIL: 'log-group:aws-cloudtrail-logs' }) } });
    expect(JSON.stringify(template.toJSON())).toContain('log-group:aws-cloudtrail-logs:*');
  });

  it('refuses both sources at once, neither, a malformed ARN, and a source with imdsv2 off', () => {
    expect(() => guardTemplate({ cloudTrail: { eventDataStoreArn: EDS, logGroupName: 'trail' } })).toThrow(/exactly one/);
    expect(() => guardTemplate({ cloudTrail: {} })).toThrow(/exactly one/);
    expect(() => guardTemplate({ cloudTrail: { eventDataStoreArn: 'arn:aws:s3:::bucket' } })).toThrow(/cloudTrail/);
    expect(() => guardTemplate({ cloudTrail: { logGroupName: 'trail' }, imdsv2: 'off' })).toThrow(/needs imdsv2/);
  });

  it('without the setting, no CloudTrail grant and the variable says off', () => {
    const { template } = guardTemplate();
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toContain('cloudtrail:StartQuery');
    expect(text).not.toContain('logs:StartQuery');
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ TSG_CLOUDTRAIL: 'off' }) } });
  });
});

describe('cdk-nag', () => {
  it('finds nothing unacknowledged with DHMC and a CloudTrail Lake or Logs source', () => {
    const app = nag.app();
    new TimeSyncGuardStack(app, 'NagCovLake', { guard: { defaultHostManagement: true, cloudTrail: { eventDataStoreArn: EDS } } });
    new TimeSyncGuardStack(app, 'NagCovLogs', { guard: { cloudTrail: { logGroupName: 'aws-cloudtrail-logs' } } });
    expect(nag.findings(app)).toEqual([]);
  });
});
