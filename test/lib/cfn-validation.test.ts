/**
 * aws-cdk-lib's own CloudFormation validation (the CloudFormation registry schemas, run at synth) on
 * every configuration the stacks ship in, with its errors failing synth
 * (`@aws-cdk/core:validateAgainstDefaultRules`; without that flag it only warns).
 *
 * test/setup-env.js turns that validation off (`CDK_VALIDATION=false`) for the rest of the suite: it
 * loads a WebAssembly engine in every file that synthesizes (about 2.5 CPU-s each, a third of the
 * suite's CPU), and there it could only warn, which no test reads. This file turns it back on.
 */
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { Vpc } from 'aws-cdk-lib/aws-ec2';
import { TimeSyncGuard } from '../../lib/time-sync-guard';
import { TimeSyncGuardOrgStack } from '../../lib/time-sync-guard-org-stack';
import { TimeSyncGuardStack } from '../../lib/time-sync-guard-stack';
import { OU } from '../org/util';
import { ALL_OPTIONS, VPC_SECURITY_GROUPS, VPC_SUBNETS } from './util';

delete process.env.CDK_VALIDATION;

const EDS = 'arn:aws:cloudtrail:eu-west-1:123456789012:eventdatastore/0123abcd-4567-89ef-0123-456789abcdef';

/** An app whose synth fails on any error of the built-in CloudFormation validation (bundling skipped: it reads templates). */
const strictApp = (): App => new App({ context: { 'aws:cdk:bundling-stacks': [], '@aws-cdk/core:validateAgainstDefaultRules': true } });

describe("aws-cdk-lib's CloudFormation validation, errors failing synth", () => {
  it('passes every shipped configuration: default, every option, existing topic, VPC ids and object, launch-template fix, CloudTrail, Default Host Management, and the organization hub with and without OUs and in a VPC', () => {
    const a = strictApp();
    new TimeSyncGuardStack(a, 'Default');
    new TimeSyncGuardStack(a, 'AllOn', { guard: ALL_OPTIONS });
    new TimeSyncGuardStack(a, 'More', { guard: { launchTemplates: 'fix', defaultHostManagement: true, cloudTrail: { eventDataStoreArn: EDS }, dryRun: true } });
    new TimeSyncGuardStack(a, 'ExistingTopic', { alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops' });
    new TimeSyncGuardStack(a, 'VpcIds', { guard: { ...ALL_OPTIONS, vpcSubnetIds: VPC_SUBNETS, vpcSecurityGroupIds: VPC_SECURITY_GROUPS } });
    const owner = new Stack(a, 'VpcObject');
    const vpc = Vpc.fromVpcAttributes(owner, 'Vpc', { vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['eu-west-1a', 'eu-west-1b'], privateSubnetIds: VPC_SUBNETS });
    new TimeSyncGuard(owner, 'Guard', { ...ALL_OPTIONS, vpc });
    new TimeSyncGuardOrgStack(a, 'Org', { organizationalUnits: [OU], guard: { ...ALL_OPTIONS, launchTemplates: 'fix' } });
    new TimeSyncGuardOrgStack(a, 'OrgAskingOus');
    new TimeSyncGuardOrgStack(a, 'OrgVpc', { organizationalUnits: [OU], guard: { vpcSubnetIds: VPC_SUBNETS, vpcSecurityGroupIds: VPC_SECURITY_GROUPS } });
    expect(() => a.synth()).not.toThrow();
  });

  it('fails synth on a template the schemas refuse (so the test above can fail)', () => {
    const a = strictApp();
    const s = new Stack(a, 'Broken');
    new CfnResource(s, 'Queue', { type: 'AWS::SQS::Queue', properties: { VisibilityTimeout: 'not a number', NoSuchProperty: true } });
    expect(() => a.synth()).toThrow(/NoSuchProperty: Additional properties are not allowed[\s\S]*CloudFormation Validate/);
  });
});
