import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Vpc } from 'aws-cdk-lib/aws-ec2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { spokeDocumentsTemplate, spokeRoleTemplate } from '../../lib/constructs/org-spoke';
import { TimeSyncGuard } from '../../lib/time-sync-guard';
import { TimeSyncGuardOrgStack } from '../../lib/time-sync-guard-org-stack';
import { TimeSyncGuardStack } from '../../lib/time-sync-guard-stack';
import { controlTowerViolations, DOCUMENTED_EXCEPTIONS, LAMBDA_IN_VPC, templateFile, templatePaths, typesWithControls } from '../support/control-tower';
import { OU } from '../org/util';
import { ALL_OPTIONS, VPC_SECURITY_GROUPS, VPC_SUBNETS } from './util';

/** An app that skips esbuild: the rules read the template, not the bundles. */
const app = (): App => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

const ALL_ON = ALL_OPTIONS;
const SUBNETS = VPC_SUBNETS;
const GROUPS = VPC_SECURITY_GROUPS;

/** Type of every resource of the templates, with the files. */
function resourceTypes(files: readonly string[]): Set<string> {
  const types = new Set<string>();
  for (const f of files) for (const r of Object.values((JSON.parse(readFileSync(f, 'utf8')) as { Resources: Record<string, { Type: string }> }).Resources)) types.add(r.Type);
  return types;
}

/**
 * Resource types of the templates that no Control Tower proactive control reports on (so cfn-guard
 * cannot judge them): listed so that a new type shows up here and is looked at.
 */
const NO_CONTROL = new Set([
  'AWS::CDK::Metadata',
  'AWS::CloudFormation::StackSet',
  'AWS::CloudWatch::Dashboard',
  'AWS::Events::Rule',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::Lambda::EventSourceMapping',
  'AWS::Scheduler::Schedule',
  'AWS::SecretsManager::Secret',
  'AWS::SNS::Subscription',
  'AWS::SNS::Topic',
  'AWS::SNS::TopicPolicy',
  'AWS::SQS::QueuePolicy',
  'AWS::SSM::Document',
]);

describe('Control Tower proactive controls (@cdklabs/cdk-validator-cfnguard, cfn-guard offline)', () => {
  let plain: string[];
  let inVpc: string[];
  let spokes: string[];

  beforeAll(() => {
    const a = app();
    new TimeSyncGuardStack(a, 'Default');
    new TimeSyncGuardStack(a, 'AllOn', { guard: ALL_ON });
    new TimeSyncGuardStack(a, 'ExistingTopic', { alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops' });
    new TimeSyncGuardOrgStack(a, 'Org', { organizationalUnits: [OU], guard: { securityHub: true, ssmCompliance: true } });
    new TimeSyncGuardOrgStack(a, 'OrgAskingOus');
    plain = templatePaths(a, ['Default', 'AllOn', 'ExistingTopic', 'Org', 'OrgAskingOus']);

    const b = app();
    new TimeSyncGuardStack(b, 'VpcIds', { guard: { ...ALL_ON, vpcSubnetIds: SUBNETS, vpcSecurityGroupIds: GROUPS } });
    // A VPC as construct users get it from Vpc.fromLookup: literal ids (the cfn-guard rule, unlike the
    // deploy-time hook, cannot follow an Fn::ImportValue to a subnet).
    const owner = new Stack(b, 'VpcObject');
    const vpc = Vpc.fromVpcAttributes(owner, 'Vpc', { vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['eu-west-1a', 'eu-west-1b'], privateSubnetIds: SUBNETS });
    new TimeSyncGuard(owner, 'Guard', { ...ALL_ON, vpc });
    new TimeSyncGuardOrgStack(b, 'OrgVpc', { organizationalUnits: [OU], guard: { vpcSubnetIds: SUBNETS, vpcSecurityGroupIds: GROUPS } });
    inVpc = templatePaths(b, ['VpcIds', 'VpcObject', 'OrgVpc']);

    const role = spokeRoleTemplate({ spokeRoleName: 'TimeSyncGuardSpoke', optOutTagKey: 'timesync-guard:opt-out', hopLimitTarget: 2, enableMetadataEndpoint: false });
    spokes = [templateFile('spoke-role', role), templateFile('spoke-documents', spokeDocumentsTemplate())];
  });

  it('the default, all-options, existing-topic and organization templates, and the spoke StackSet templates, pass every control but the documented exceptions; Lambda-in-VPC fails on exactly their functions, nothing else', () => {
    const found = controlTowerViolations([...plain, ...spokes], DOCUMENTED_EXCEPTIONS);
    const functions = plain.flatMap((f) => {
      const resources = (JSON.parse(readFileSync(f, 'utf8')) as { Resources: Record<string, { Type: string }> }).Resources;
      return Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function').map(([id]) => `lambda_inside_vpc_check: ${f.split('/').pop()}/${id}`);
    });
    expect(functions.length).toBeGreaterThanOrEqual(10);
    expect(found).toEqual([...functions].sort());
  }, 180_000);

  it('with vpcSubnetIds (single account and organization) or a VPC object, they pass Lambda-in-VPC (CT.LAMBDA.PR.3) too', () => {
    expect(controlTowerViolations(inVpc, DOCUMENTED_EXCEPTIONS)).toEqual([]);
  }, 180_000);

  it('judges every resource: a non-conforming one added under a guard fails, a log group added without a key is encrypted with the guard key', () => {
    const a = app();
    const stack = new TimeSyncGuardStack(a, 'Added');
    new Queue(stack.guard, 'QueueWithoutDeadLetterQueue');
    new LogGroup(stack.guard, 'ShortLogs', { retention: RetentionDays.ONE_MONTH });
    new LogGroup(stack.guard, 'YearLogs', { retention: RetentionDays.ONE_YEAR });
    const found = controlTowerViolations(templatePaths(a, ['Added']), [...DOCUMENTED_EXCEPTIONS, LAMBDA_IN_VPC]);
    expect(found).toEqual([
      expect.stringMatching(/^cloudwatch_log_group_retention_period_check: Added\.template\.json\/GuardShortLogs/),
      expect.stringMatching(/^sqs_dlq_check: Added\.template\.json\/GuardQueueWithoutDeadLetterQueue/),
      expect.stringMatching(/^sqs_queue_encrypted_check: Added\.template\.json\/GuardQueueWithoutDeadLetterQueue/),
    ]);
    const groups = Template.fromStack(stack).findResources('AWS::Logs::LogGroup');
    const key = Object.keys(Template.fromStack(stack).findResources('AWS::KMS::Key'));
    expect(key).toHaveLength(1);
    for (const g of Object.values(groups)) expect(g.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [key[0], 'Arn'] });
  }, 180_000);

  it('every resource type of the templates is judged by some control, or is known to have none', () => {
    const controlled = typesWithControls();
    const unknown = [...resourceTypes([...plain, ...inVpc, ...spokes])].filter((t) => !controlled.has(t) && !NO_CONTROL.has(t));
    expect(unknown).toEqual([]);
  });
});
