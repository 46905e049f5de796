import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { SecurityGroup, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { guardPropsFromContext } from '../../lib/context';
import { VPC_ENI_ACTIONS } from '../../lib/constructs/function-network';
import { GuardFunction } from '../../lib/constructs/guard-function';
import { TimeSyncGuard, type TimeSyncGuardProps } from '../../lib/time-sync-guard';
import { TimeSyncGuardOrgStack } from '../../lib/time-sync-guard-org-stack';
import { OU } from '../org/util';
import { useNag } from '../support/nag';
import { TimeSyncGuardStack } from '../../lib/time-sync-guard-stack';
import { stackTemplate, testApp, VPC_SECURITY_GROUPS, VPC_SUBNETS } from './util';

const SUBNETS = VPC_SUBNETS;
const GROUPS = VPC_SECURITY_GROUPS;
type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };

function resources(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.toJSON().Resources as Record<string, Resource>).filter(([, r]) => r.Type === type);
}

/** Each function's VpcConfig, and whether it waits for a policy granting exactly the ENI actions on its own role. */
function functionsInVpc(template: Template): { id: string; vpc: unknown; eniPolicy: boolean }[] {
  const all = template.toJSON().Resources as Record<string, Resource>;
  return resources(template, 'AWS::Lambda::Function').map(([id, fn]) => {
    const role = (fn.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    const eniPolicy = (fn.DependsOn ?? []).some((dep) => {
      const p = all[dep];
      if (p?.Type !== 'AWS::IAM::Policy') return false;
      const st = (p.Properties.PolicyDocument as { Statement: { Action: string[]; Resource: string }[] }).Statement;
      return JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]) && st.length === 1 && JSON.stringify(st[0]!.Action) === JSON.stringify(VPC_ENI_ACTIONS) && st[0]!.Resource === '*';
    });
    return { id, vpc: fn.Properties.VpcConfig, eniPolicy };
  });
}

const nag = useNag();

describe('VPC option (docs/vpc.md)', () => {
  it('leaves cdk-nag nothing unacknowledged, with ids (single account, organization) and with a VPC object', () => {
    const app = nag.app();
    new TimeSyncGuardStack(app, 'NagVpc', { guard: { vpcSubnetIds: SUBNETS, vpcSecurityGroupIds: GROUPS, launchCheck: true } });
    new TimeSyncGuardOrgStack(app, 'NagOrgVpc', { organizationalUnits: [OU], guard: { vpcSubnetIds: SUBNETS, vpcSecurityGroupIds: GROUPS } });
    const user = new Stack(app, 'NagVpcObject');
    new TimeSyncGuard(user, 'Guard', { vpc: new Vpc(user, 'Vpc', { maxAzs: 2, natGateways: 0 }) });
    expect(nag.findings(app).filter((f) => !f.includes('/Vpc/'))).toEqual([]);
  });

  it('vpcSubnetIds + vpcSecurityGroupIds put every function (check, remediate, launch check) in those subnets, each role with the network-interface grant it waits for', () => {
    const { template } = stackTemplate({ guard: { vpcSubnetIds: SUBNETS, vpcSecurityGroupIds: GROUPS, launchCheck: true } });
    const fns = functionsInVpc(template);
    expect(fns).toHaveLength(3);
    for (const f of fns) expect(f).toEqual({ id: f.id, vpc: { SubnetIds: SUBNETS, SecurityGroupIds: GROUPS }, eniPolicy: true });
    template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
  });

  it('without them no function is in a VPC and no role gets network-interface permissions', () => {
    const { template } = stackTemplate();
    for (const f of functionsInVpc(template)) expect(f).toMatchObject({ vpc: undefined, eniPolicy: false });
    expect(JSON.stringify(template.toJSON())).not.toContain('ec2:CreateNetworkInterface');
  });

  it('a VPC object: the selected subnets and one new security group that allows outbound HTTPS only', () => {
    const stack = new Stack(testApp(), 'Obj');
    const vpc = new Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'app', subnetType: SubnetType.PRIVATE_ISOLATED }, { name: 'other', subnetType: SubnetType.PUBLIC }] });
    new TimeSyncGuard(stack, 'Guard', { vpc, vpcSubnets: { subnetGroupName: 'app' } });
    const template = Template.fromStack(stack);
    const [[sgId, sg]] = resources(template, 'AWS::EC2::SecurityGroup');
    expect(sg!.Properties.SecurityGroupEgress).toEqual([{ CidrIp: '0.0.0.0/0', Description: 'AWS APIs (VPC endpoints or NAT)', FromPort: 443, IpProtocol: 'tcp', ToPort: 443 }]);
    expect(sg!.Properties.SecurityGroupIngress).toBeUndefined();
    const appSubnets = resources(template, 'AWS::EC2::Subnet').filter(([id]) => id.startsWith('VpcappSubnet')).map(([id]) => ({ Ref: id }));
    expect(appSubnets).toHaveLength(2);
    for (const f of functionsInVpc(template)) expect(f).toMatchObject({ vpc: { SubnetIds: appSubnets, SecurityGroupIds: [{ 'Fn::GetAtt': [sgId, 'GroupId'] }] }, eniPolicy: true });
  });

  it('a VPC object with security groups: those, and no new one', () => {
    const stack = new Stack(testApp(), 'ObjSg');
    const vpc = Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['eu-west-1a', 'eu-west-1b'], privateSubnetIds: SUBNETS });
    new TimeSyncGuard(stack, 'Guard', { vpc, securityGroups: [SecurityGroup.fromSecurityGroupId(stack, 'Sg', GROUPS[0]!)] });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
    for (const f of functionsInVpc(template)) expect(f).toMatchObject({ vpc: { SubnetIds: SUBNETS, SecurityGroupIds: GROUPS }, eniPolicy: true });
  });

  it('the organization hub: hub-run and hub-item in the subnets', () => {
    const stack = new TimeSyncGuardOrgStack(testApp(), 'Org', { organizationalUnits: [OU], guard: { vpcSubnetIds: SUBNETS, vpcSecurityGroupIds: GROUPS } });
    const fns = functionsInVpc(Template.fromStack(stack));
    expect(fns).toHaveLength(2);
    for (const f of fns) expect(f).toMatchObject({ vpc: { SubnetIds: SUBNETS, SecurityGroupIds: GROUPS }, eniPolicy: true });
  });

  it('a function added later under the guard joins the subnets without being wired', () => {
    const stack = new Stack(testApp(), 'Later');
    const guard = new TimeSyncGuard(stack, 'Guard', { vpcSubnetIds: SUBNETS, vpcSecurityGroupIds: GROUPS });
    new GuardFunction(guard, 'Later', { entryFile: 'check.ts', description: 'later', timeout: Duration.minutes(1), environment: {}, logRetention: RetentionDays.ONE_YEAR, metricNamespace: 'X' });
    const fns = functionsInVpc(Template.fromStack(stack));
    expect(fns).toHaveLength(3);
    for (const f of fns) expect(f).toMatchObject({ vpc: { SubnetIds: SUBNETS, SecurityGroupIds: GROUPS }, eniPolicy: true });
  });

  it.each([
    [{ vpcSubnetIds: SUBNETS }, /vpcSecurityGroupIds is required with vpcSubnetIds/],
    [{ vpcSecurityGroupIds: GROUPS }, /vpcSubnetIds is required with vpcSecurityGroupIds/],
    [{ vpcSubnetIds: ['subnet-zz'], vpcSecurityGroupIds: GROUPS }, /vpcSubnetIds .*subnet ids/],
    [{ vpcSubnetIds: SUBNETS, vpcSecurityGroupIds: ['sg-1'] }, /vpcSecurityGroupIds .*security group ids/],
    [{ vpcSubnets: { subnetType: SubnetType.PRIVATE_ISOLATED } }, /vpcSubnets needs vpc/],
  ] as [TimeSyncGuardProps, RegExp][])('refuses %j, naming the prop', (props, message) => {
    expect(() => new TimeSyncGuard(new Stack(testApp(), 'Bad'), 'Guard', props)).toThrow(message);
  });

  it('refuses a VPC object beside the ids', () => {
    const stack = new Stack(testApp(), 'Both');
    const vpc = Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['eu-west-1a'], privateSubnetIds: [SUBNETS[0]!] });
    expect(() => new TimeSyncGuard(stack, 'Guard', { vpc, vpcSubnetIds: SUBNETS, vpcSecurityGroupIds: GROUPS })).toThrow(/vpc excludes vpcSubnetIds and vpcSecurityGroupIds/);
  });

  it('reads both from context as comma-separated lists (-c vpcSubnetIds=a,b) and refuses a malformed id there', () => {
    const ctx: Record<string, string> = { vpcSubnetIds: SUBNETS.join(','), vpcSecurityGroupIds: GROUPS[0]! };
    expect(guardPropsFromContext((k) => ctx[k], Object.keys(ctx)).props).toMatchObject({ vpcSubnetIds: SUBNETS, vpcSecurityGroupIds: GROUPS });
    const bad: Record<string, string> = { vpcSubnetIds: 'vpc-123' };
    expect(() => guardPropsFromContext((k) => bad[k], Object.keys(bad))).toThrow(/vpcSubnetIds/);
  });
});
