import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { LAUNCH_REMEDIATION_DETAIL_TYPE } from '../../lambda/core/fleet/launch';
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
      EventPattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['running'] } },
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

  it('with remediateOnLaunch starts the remediation state machine from its own request event only', () => {
    const t = template({ launchCheck: true, remediateOnLaunch: true, launchSsmWaitSeconds: 300 });
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['timesync-guard'], 'detail-type': [LAUNCH_REMEDIATION_DETAIL_TYPE] },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('GuardRemediation') } })],
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'LaunchRemediationRequest',
            Condition: {
              'ForAllValues:StringEquals': { 'events:source': ['timesync-guard'], 'events:detail-type': [LAUNCH_REMEDIATION_DETAIL_TYPE] },
              Null: { 'events:source': 'false', 'events:detail-type': 'false' },
            },
          }),
        ]),
      },
    });
    // EventBridge may assume the rule's role only for this account's rules.
    const trusts = Object.values(t.findResources('AWS::IAM::Role'))
      .flatMap((r) => r.Properties.AssumeRolePolicyDocument.Statement as { Principal: { Service?: string }; Condition?: Record<string, Record<string, unknown>> }[])
      .filter((st) => st.Principal.Service === 'events.amazonaws.com');
    expect(trusts).toHaveLength(1);
    expect(trusts[0]!.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnLike: { 'aws:SourceArn': expect.anything() } });
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
