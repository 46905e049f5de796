import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { TimeSyncGuard } from '../../lib/time-sync-guard';
import { TimeSyncGuardStack } from '../../lib/time-sync-guard-stack';
import { useNag } from '../support/nag';

const nag = useNag();
const nagApp = nag.app;
const synthOrReport = nag.findings;

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing unacknowledged in the stack with defaults', () => {
    const app = nagApp();
    new TimeSyncGuardStack(app, 'Nag', { guard: { alarmEmails: ['ops@example.com'] } });
    expect(synthOrReport(app)).toEqual([]);
  });

  it('finds nothing unacknowledged with remediation disabled, a custom tag key and an existing topic', () => {
    const app = nagApp();
    new TimeSyncGuardStack(app, 'NagCustom', {
      alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops',
      guard: { remediationEnabled: false, optOutTagKey: 'Maintenance:Exclude' },
    });
    expect(synthOrReport(app)).toEqual([]);
  });

  it('still reports a wildcard nobody acknowledged (the check can fail)', () => {
    const app = nagApp();
    const stack = new TimeSyncGuardStack(app, 'NagBroken');
    const role = new Role(stack, 'Extra', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
    const found = synthOrReport(app);
    expect(found).toEqual([expect.stringMatching(/^AwsSolutions-IAM5\[Resource::\*\] at NagBroken\/Extra\/DefaultPolicy/)]);
  });
});

describe('embedding', () => {
  it('lets two guards live in one user stack and two stacks in one app without clashing', () => {
    const app = nagApp();
    const user = new Stack(app, 'UserStack');
    const a = new TimeSyncGuard(user, 'GuardA');
    const b = new TimeSyncGuard(user, 'GuardB', { metricNamespace: 'Other', remediationEnabled: false });
    new TimeSyncGuardStack(app, 'StackOne');
    new TimeSyncGuardStack(app, 'StackTwo');
    expect(synthOrReport(app)).toEqual([]);

    const template = Template.fromStack(user);
    template.resourceCountIs('AWS::Lambda::Function', 4);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
    template.resourceCountIs('AWS::Scheduler::Schedule', 3);
    const names = Object.values(template.findResources('AWS::StepFunctions::StateMachine')).map((r) => r.Properties.StateMachineName as string);
    expect(new Set(names).size).toBe(2);
    expect(a.node.path).not.toBe(b.node.path);
    // Nothing else carries a fixed physical name that could collide across stacks.
    for (const type of ['AWS::SSM::Document', 'AWS::SNS::Topic', 'AWS::SQS::Queue', 'AWS::Lambda::Function', 'AWS::Scheduler::Schedule', 'AWS::CloudWatch::Alarm', 'AWS::CloudWatch::Dashboard', 'AWS::IAM::Role']) {
      for (const r of Object.values(template.findResources(type))) {
        const p = r.Properties as Record<string, unknown>;
        expect([p.Name, p.TopicName, p.QueueName, p.FunctionName, p.AlarmName, p.DashboardName, p.RoleName].filter((x) => x !== undefined)).toEqual([]);
      }
    }
    const one = Template.fromStack(app.node.findChild('StackOne') as Stack).findResources('AWS::StepFunctions::StateMachine');
    const two = Template.fromStack(app.node.findChild('StackTwo') as Stack).findResources('AWS::StepFunctions::StateMachine');
    expect(Object.values(one)[0].Properties.StateMachineName).not.toBe(Object.values(two)[0].Properties.StateMachineName);
  });
});
