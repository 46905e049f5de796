import { App, Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { spokeDocumentsTemplate, spokeRoleTemplate } from '../../lib/constructs/org-spoke';
import type { TimeSyncGuardProps } from '../../lib/time-sync-guard';
import { TimeSyncGuardOrgStack } from '../../lib/time-sync-guard-org-stack';
import { TimeSyncGuardStack } from '../../lib/time-sync-guard-stack';
import { OU } from '../org/util';
import { LIMITS, measure, overShare, type Sizes } from '../support/size-headroom';
import { ALL_OPTIONS, VPC_SECURITY_GROUPS, VPC_SUBNETS } from './util';

const ALL_ON: TimeSyncGuardProps = { ...ALL_OPTIONS, vpcSubnetIds: VPC_SUBNETS, vpcSecurityGroupIds: VPC_SECURITY_GROUPS };

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

describe('size headroom: every limited size stays under 80 % of its AWS limit (test/support/size-headroom.ts says how each is counted)', () => {
  const sizes: Record<string, Sizes> = {};

  beforeAll(() => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stacks = [
      new TimeSyncGuardStack(app, 'TimeSyncGuard'),
      new TimeSyncGuardStack(app, 'AllOn', { guard: ALL_ON }),
      new TimeSyncGuardOrgStack(app, 'TimeSyncGuardOrg', { organizationalUnits: [OU], accounts: ['123456789012'], regions: ['eu-west-1', 'us-east-1', 'ap-southeast-2'], organizationId: 'o-abcdefghij' }),
      new TimeSyncGuardOrgStack(app, 'OrgAllOn', { organizationalUnits: [OU], guard: { securityHub: true, ssmCompliance: true, vpcSubnetIds: ALL_ON.vpcSubnetIds, vpcSecurityGroupIds: ALL_ON.vpcSecurityGroupIds } }),
    ];
    const asm = app.synth();
    for (const s of stacks) sizes[s.stackName] = measure(asm.getStackByName(s.stackName).template as Template, s.stackName);
    sizes['spoke role'] = measure(spokeRoleTemplate({ spokeRoleName: 'TimeSyncGuardSpoke', optOutTagKey: 'timesync-guard:opt-out', hopLimitTarget: 2, enableMetadataEndpoint: true, organizationId: 'o-abcdefghij' }) as Template);
    sizes['spoke documents'] = measure(spokeDocumentsTemplate() as Template);
  });

  it('measures what is there: the documents, every role, every function and state machine of each template', () => {
    expect(Object.keys(sizes.TimeSyncGuard!.documents)).toHaveLength(3);
    expect(Object.keys(sizes['spoke documents']!.documents)).toHaveLength(3);
    expect(Object.keys(sizes.AllOn!.environments).length).toBeGreaterThanOrEqual(3);
    expect(Object.keys(sizes.TimeSyncGuardOrg!.definitions)).toHaveLength(1);
    expect(Object.values(sizes['spoke role']!.rolePolicies)[0]).toBeGreaterThan(1000);
    for (const s of Object.values(sizes)) for (const n of [...Object.values(s.rolePolicies), ...Object.values(s.environments), ...Object.values(s.documents)]) expect(n).toBeGreaterThanOrEqual(0);
  });

  it.each(['TimeSyncGuard', 'AllOn', 'TimeSyncGuardOrg', 'OrgAllOn', 'spoke role', 'spoke documents'])('%s: no SSM document above 80 %% of 64 KB, no role\'s inline policies above 80 %% of 10,240 characters, no Lambda environment above 80 %% of 4 KB, no state machine definition above 80 %% of 1 MB', (name) => {
    expect(overShare(sizes[name]!, 0.8)).toEqual([]);
  });

  it('every document (collector, Linux and Windows remediation) leaves at least 40 % of 64 KB free', () => {
    for (const s of [sizes.TimeSyncGuard!, sizes['spoke documents']!]) {
      expect(Object.keys(s.documents)).toHaveLength(3);
      for (const n of Object.values(s.documents)) expect(n).toBeLessThanOrEqual(0.6 * LIMITS.documentBytes);
    }
  });

  it('fails when a role grows past 80 %, counting its attached policies (the check can fail)', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Big');
    const role = new Role(stack, 'Big', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    for (let i = 0; i < 90; i++) role.addToPrincipalPolicy(new PolicyStatement({ sid: `S${i}`, actions: ['s3:GetObject'], resources: [`arn:aws:s3:::bucket-${i}/*`] }));
    const found = overShare(measure(App.of(stack)!.synth().getStackByName('Big').template as Template), 0.8);
    expect(found).toEqual([expect.stringMatching(/^role policies Big\w+: \d+ \/ 10240$/)]);
  });
});
