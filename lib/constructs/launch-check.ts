import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Rule, RuleTargetInput, EventField } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { EC2_STATE_CHANGE, LAUNCH_QUEUE_URL_ENV, LAUNCH_REMEDIATION_DETAIL_TYPE } from '../../lambda/core/fleet/launch';
import { ENV } from '../../lambda/core/settings';
import { GuardFunction } from './guard-function';

/**
 * Sizing, from the simulated account (bench/launch.ts, docs/launch-check.md): a 10 s batching
 * window turns a burst of 500 launches into one invocation; 1,000 messages per batch is far below
 * Lambda's 6 MB payload (an EC2 state-change event is ≈ 600 bytes). One invocation needs the
 * collector's few seconds plus Run Command's delivery, so 5 minutes leaves ample room.
 */
export const LAUNCH_BATCH_WINDOW = Duration.seconds(10);
export const LAUNCH_BATCH_SIZE = 1000;
export const LAUNCH_TIMEOUT = Duration.minutes(5);

/** Props of {@link LaunchCheck}. */
export interface LaunchCheckProps {
  /** Settings of the check (the check Lambda's environment); the construct adds the launch ones. */
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  readonly metricNamespace: string;
  /** `source` of the guard's own events. */
  readonly eventSource: string;
  /** How long to wait for a new instance's SSM agent (seconds). */
  readonly ssmWaitSeconds: number;
  /** When set, at-risk launches start this remediation state machine (its plan, caps and pacing). */
  readonly remediation?: IStateMachine;
}

/**
 * EC2 `running` events → SQS (batched) → the launch-check Lambda, which checks just those
 * instances with the hourly engine and re-queues the ones whose agent is not Online yet.
 */
export class LaunchCheck extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly rule: Rule;
  public readonly handler: GuardFunction;

  constructor(scope: Construct, id: string, props: LaunchCheckProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the launch queue (messages the launch check failed on five times).',
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS's rule for a Lambda event source: at least six times the function timeout.
      visibilityTimeout: Duration.seconds(LAUNCH_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });
    this.rule = new Rule(this, 'RunningRule', {
      description: 'timesync-guard: check new instances as soon as they run',
      eventPattern: { source: ['aws.ec2'], detailType: [EC2_STATE_CHANGE], detail: { state: ['running'] } },
      targets: [new SqsQueue(this.queue)],
    });

    this.handler = new GuardFunction(this, 'Handler', {
      entryFile: 'launch.ts',
      description: 'timesync-guard launch check',
      timeout: LAUNCH_TIMEOUT,
      environment: {
        ...props.environment,
        [ENV.launchSsmWaitSeconds]: String(props.ssmWaitSeconds),
        [ENV.remediateOnLaunch]: String(props.remediation !== undefined),
        [LAUNCH_QUEUE_URL_ENV]: this.queue.queueUrl,
      },
      logRetention: props.logRetention,
      metricNamespace: props.metricNamespace,
    });
    this.handler.function.addEventSource(
      new SqsEventSource(this.queue, { batchSize: LAUNCH_BATCH_SIZE, maxBatchingWindow: LAUNCH_BATCH_WINDOW, reportBatchItemFailures: true, maxConcurrency: 2 }),
    );
    // Retries go back on the same queue with a delay.
    this.queue.grantSendMessages(this.handler.role);

    if (props.remediation) {
      this.handler.role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'LaunchRemediationRequest',
          actions: ['events:PutEvents'],
          resources: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default', arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
          // Both keys are multi-valued (one value per entry of the batch): every entry must be our
          // request, and the Null guards stop ForAllValues from matching a request without them.
          conditions: {
            'ForAllValues:StringEquals': { 'events:source': [props.eventSource], 'events:detail-type': [LAUNCH_REMEDIATION_DETAIL_TYPE] },
            Null: { 'events:source': 'false', 'events:detail-type': 'false' },
          },
        }),
      );
      // The rule's target role, trusted by EventBridge only for this account's rules (confused deputy).
      const ruleRole = new Role(this, 'RemediationRuleRole', {
        assumedBy: new ServicePrincipal('events.amazonaws.com', {
          conditions: {
            StringEquals: { 'aws:SourceAccount': stack.account },
            ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'events', resource: 'rule', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME }) },
          },
        }),
        description: 'timesync-guard: EventBridge starts the remediation for at-risk launches',
      });
      new Rule(this, 'RemediationRule', {
        description: 'timesync-guard: remediate at-risk launches with the nightly plan, caps and pacing',
        eventPattern: { source: [props.eventSource], detailType: [LAUNCH_REMEDIATION_DETAIL_TYPE] },
        targets: [
          new SfnStateMachine(props.remediation, { role: ruleRole, input: RuleTargetInput.fromObject({ trigger: 'launch', instanceIds: EventField.fromPath('$.detail.instanceIds') }) }),
        ],
      });
    }
  }
}
