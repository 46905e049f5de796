import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { TimeSyncGuard, type TimeSyncGuardProps } from './time-sync-guard';

/** Props of {@link TimeSyncGuardStack}. */
export interface TimeSyncGuardStackProps extends StackProps {
  /**
   * Configuration of the guard.
   * @default - every setting at its default
   */
  readonly guard?: TimeSyncGuardProps;
  /**
   * ARN of an existing SNS topic to use for alarms (imported into this stack); excludes `guard.alarmTopic`/`guard.alarmEmails`.
   * @default - the guard creates its own topic
   */
  readonly alarmTopicArn?: string;
}

/** The deployable app's stack: one {@link TimeSyncGuard} and outputs naming what to look at. */
export class TimeSyncGuardStack extends Stack {
  /** The guard construct of this stack. */
  public readonly guard: TimeSyncGuard;

  constructor(scope: Construct, id: string, props: TimeSyncGuardStackProps = {}) {
    super(scope, id, { description: 'timesync-guard: EC2 clock sync and IMDS hop-limit check and remediation', ...props });
    const guard = props.guard ?? {};
    if (props.alarmTopicArn !== undefined && (guard.alarmTopic !== undefined || guard.alarmEmails !== undefined)) {
      throw new Error('TimeSyncGuardStack: alarmTopicArn excludes guard.alarmTopic and guard.alarmEmails (subscribe addresses to your own topic)');
    }
    this.guard = new TimeSyncGuard(this, 'Guard', {
      ...guard,
      alarmTopic: props.alarmTopicArn !== undefined ? Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn) : guard.alarmTopic,
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.guard.topic.topicArn });
    new CfnOutput(this, 'CheckFunctionName', { value: this.guard.checkFunction.function.functionName });
    new CfnOutput(this, 'CheckLogGroup', { value: this.guard.checkFunction.logGroup.logGroupName, description: 'Per-instance records (Logs Insights)' });
    new CfnOutput(this, 'RemediationStateMachineArn', { value: this.guard.remediation.stateMachine.stateMachineArn });
    new CfnOutput(this, 'CollectorDocumentName', { value: this.guard.documents.collector.ref });
    new CfnOutput(this, 'RemediationDocumentName', { value: this.guard.documents.remediation.ref, description: 'Linux instances' });
    new CfnOutput(this, 'WindowsRemediationDocumentName', { value: this.guard.documents.windowsRemediation.ref });
    new CfnOutput(this, 'DashboardName', { value: this.guard.dashboard.dashboardName });
  }
}
