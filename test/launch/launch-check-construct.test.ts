import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TimeSyncGuardStack } from '../../lib/time-sync-guard-stack';
import { flat } from '../lib/util';

function template(guard: Record<string, unknown>): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new TimeSyncGuardStack(app, 'Launch', { guard }));
}

describe('launch check construct', () => {
  it('is absent unless asked for (an existing deployment does not change)', () => {
    const t = template({});
    t.resourceCountIs('AWS::Events::Rule', 0);
    t.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
  });

  it('routes EC2 running events through a batched SQS queue to the launch function', () => {
    const t = template({ launchCheck: true });
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ec2'],
        'detail-type': ['EC2 Instance State-change Notification'],
        account: [{ Ref: 'AWS::AccountId' }],
        region: [{ Ref: 'AWS::Region' }],
        detail: { state: ['running'] },
      },
    });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    t.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 1800, RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }) });
    const fns = t.findResources('AWS::Lambda::Function', { Properties: { Description: 'timesync-guard launch check' } });
    const fn = Object.values(fns)[0]!.Properties;
    expect(fn.Environment.Variables).toMatchObject({ TSG_LAUNCH_SSM_WAIT_SECONDS: '600', TSG_REMEDIATE_ON_LAUNCH: 'false', TSG_LAUNCH_QUEUE_URL: { Ref: expect.stringMatching(/^GuardLaunchCheckQueue/) } });
    // No reservation: the event source mapping's maxConcurrency (2) bounds it, and the stack still deploys on accounts at the default concurrency quota.
    expect(fn.ReservedConcurrentExecutions).toBeUndefined();
    // Same least privilege as the hourly check: the collector document only, opted-out instances denied.
    const policies = Object.entries(t.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('GuardLaunchCheckHandler'));
    const text = flat(JSON.stringify(policies.map(([, p]) => p.Properties.PolicyDocument)));
    expect(text).toContain('NeverTouchOptedOutInstances');
    expect(text).not.toContain('ModifyInstanceMetadataOptions');
    expect(text).not.toContain('events:PutEvents');
  });

  it.each([[{ launchCheck: true }], [{ launchCheck: true, remediateOnLaunch: true }]])(
    'feeds the launch function only from EC2\'s own events: one rule, source aws.ec2 and nothing custom (%p)',
    (guard) => {
      const t = template(guard);
      const rules = Object.values(t.findResources('AWS::Events::Rule'));
      expect(rules).toHaveLength(1);
      const pattern = rules[0]!.Properties.EventPattern as Record<string, unknown>;
      // PutEvents cannot forge an aws.* source; nothing else is matched.
      expect(pattern.source).toEqual(['aws.ec2']);
      expect(pattern['detail-type']).toEqual(['EC2 Instance State-change Notification']);
    },
  );

  it.each<[string, Record<string, unknown>]>([
    ['the old request event with instanceIds: null', { source: 'timesync-guard', 'detail-type': 'TimeSync Guard Launch Remediation Request', detail: { trigger: 'launch', instanceIds: null } }],
    ['a custom source with the EC2 detail-type', { source: 'my.app', 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': 'i-0123456789abcdef0', state: 'running' } }],
    ['the guard\'s own source', { source: 'timesync-guard', 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': 'i-0123456789abcdef0', state: 'running' } }],
  ])('a forged event on the default bus (%s) matches no rule of the stack', (_name, forged) => {
    const t = template({ launchCheck: true, remediateOnLaunch: true });
    // EventBridge's matching for the pattern forms used here: every key's value is one of the listed ones.
    const matches = (pattern: Record<string, unknown>, event: Record<string, unknown>): boolean =>
      Object.entries(pattern).every(([k, want]) =>
        Array.isArray(want) ? want.some((w) => JSON.stringify(w) === JSON.stringify(event[k])) : typeof event[k] === 'object' && event[k] !== null && matches(want as Record<string, unknown>, event[k] as Record<string, unknown>),
      );
    const rules = Object.values(t.findResources('AWS::Events::Rule')).map((r) => r.Properties.EventPattern as Record<string, unknown>);
    expect(rules.length).toBeGreaterThan(0);
    // The real event matches (account and region as EventBridge fills them; the pattern's tokens stand for them).
    const real = { source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', account: { Ref: 'AWS::AccountId' }, region: { Ref: 'AWS::Region' }, detail: { 'instance-id': 'i-0123456789abcdef0', state: 'running' } };
    expect(rules.some((p) => matches(p, real))).toBe(true);
    expect(rules.filter((p) => matches(p, { ...forged, account: real.account, region: real.region }))).toEqual([]);
  });

  it('with remediateOnLaunch the launch role alone starts the remediation state machine: no rule targets it, no EventBridge role may', () => {
    const t = template({ launchCheck: true, remediateOnLaunch: true, launchSsmWaitSeconds: 300 });
    const sm = Object.keys(t.findResources('AWS::StepFunctions::StateMachine'));
    expect(sm).toHaveLength(1);
    // No EventBridge rule starts it (the nightly run is an EventBridge Scheduler schedule, input {}).
    for (const rule of Object.values(t.findResources('AWS::Events::Rule'))) {
      expect(JSON.stringify(rule.Properties.Targets)).not.toContain(sm[0]!);
    }
    expect(Object.values(t.findResources('AWS::IAM::Role')).filter((r) => JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('events.amazonaws.com'))).toEqual([]);
    // Its ARN in the launch function's environment, and StartExecution on exactly that ARN.
    const fn = Object.values(t.findResources('AWS::Lambda::Function', { Properties: { Description: 'timesync-guard launch check' } }))[0]!.Properties;
    expect(fn.Environment.Variables.TSG_REMEDIATION_STATE_MACHINE_ARN).toEqual({ Ref: sm[0] });
    const launchPolicies = Object.entries(t.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('GuardLaunchCheckHandler'));
    const statements = launchPolicies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement as { Sid?: string; Action: unknown; Resource: unknown }[]);
    const starts = statements.filter((st) => JSON.stringify(st.Action).includes('states:'));
    expect(starts).toEqual([{ Sid: 'LaunchRemediationStart', Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: sm[0] } }]);
    expect(JSON.stringify(statements)).not.toContain('events:PutEvents');
  });

  it('without remediateOnLaunch the launch role can start nothing', () => {
    const t = template({ launchCheck: true });
    const fn = Object.values(t.findResources('AWS::Lambda::Function', { Properties: { Description: 'timesync-guard launch check' } }))[0]!.Properties;
    expect(fn.Environment.Variables.TSG_REMEDIATION_STATE_MACHINE_ARN).toBeUndefined();
    const text = JSON.stringify(Object.entries(t.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('GuardLaunchCheckHandler')));
    expect(text).not.toContain('states:');
  });

  it('denies SendMessage on the launch queue to everyone but the launch role and its rule, and nothing else', () => {
    const t = template({ launchCheck: true });
    const queueId = Object.keys(t.findResources('AWS::SQS::Queue')).find((id) => id.startsWith('GuardLaunchCheckQueue'))!;
    const policy = Object.values(t.findResources('AWS::SQS::QueuePolicy')).find((p) => JSON.stringify(p.Properties.Queues).includes(queueId))!;
    const deny = (policy.Properties.PolicyDocument.Statement as Record<string, unknown>[]).find((st) => st.Sid === 'OnlyTheLaunchCheckAndItsRuleSend')!;
    expect(deny).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sqs:SendMessage' });
    const cond = (deny.Condition as { StringNotEquals: Record<string, unknown[]> }).StringNotEquals;
    expect(Object.keys(cond).sort()).toEqual(['aws:PrincipalArn', 'aws:SourceArn']);
    expect(JSON.stringify(cond['aws:PrincipalArn'])).toMatch(/GuardLaunchCheckHandler\w*Role/);
    expect(JSON.stringify(cond['aws:SourceArn'])).toMatch(/GuardLaunchCheckRunningRule/);
  });

  it('rejects a wait outside 0–3600 s', () => {
    expect(() => template({ launchCheck: true, launchSsmWaitSeconds: 4000 })).toThrow(/launchSsmWaitSeconds/);
  });

  it('is cdk-nag clean', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'tsg-launch-nag-'));
    try {
      const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      new TimeSyncGuardStack(app, 'LaunchNag', { guard: { launchCheck: true, remediateOnLaunch: true } });
      expect(() => app.synth()).not.toThrow();
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
