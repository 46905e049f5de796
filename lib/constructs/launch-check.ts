import { Duration, Stack } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { AnyPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { EC2_STATE_CHANGE, LAUNCH_QUEUE_URL_ENV, LAUNCH_REMEDIATION_STATE_MACHINE_ENV } from '../../lambda/core/fleet/launch';
import { ENV } from '../../lambda/core/settings';
import { deadLetterQueue } from './control-tower';
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
  /** How long to wait for a new instance's SSM agent (seconds). */
  readonly ssmWaitSeconds: number;
  /**
   * When set, the launch function starts this remediation state machine itself for at-risk launches
   * (its plan, caps and pacing). @default - none: at-risk launches wait for the nightly run
   */
  readonly remediation?: IStateMachine;
  /**
   * The organization hub: the rule listens on this bus (the member accounts' forwarded events, any
   * account: the handler checks it is covered) and the handler is this entry file.
   * @default - this account's and region's EC2 events on the default bus, handler launch.ts
   */
  readonly organization?: { readonly eventBus: IEventBus; readonly entryFile: string; readonly environment: Record<string, string> };
}

/**
 * EC2 `running` events → SQS (batched) → the launch-check Lambda, which checks just those
 * instances with the hourly engine and re-queues the ones whose agent is not Online yet.
 *
 * Nobody else can steer it (docs/security.md, "Forged launch events and launch retries"): the rule
 * matches only EC2's own events of this account and region (PutEvents cannot forge an `aws.*`
 * source), the queue refuses SendMessage from anyone but the launch role and that rule, and the
 * remediation is started by the launch role itself, not by an event on a bus others can write to.
 */
export class LaunchCheck extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly rule: Rule;
  public readonly handler: GuardFunction;

  constructor(scope: Construct, id: string, props: LaunchCheckProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.deadLetterQueue = deadLetterQueue(this, 'DeadLetterQueue', 'This queue is itself the dead-letter queue of the launch queue (messages the launch check failed on five times).');
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS's rule for a Lambda event source: at least six times the function timeout.
      visibilityTimeout: Duration.seconds(LAUNCH_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });
    this.rule = new Rule(this, 'RunningRule', {
      description: 'timesync-guard: check new instances as soon as they run',
      // Account and region too: events forwarded from another account's or region's bus keep their `aws.ec2` source.
      eventPattern: props.organization
        ? { source: ['aws.ec2'], detailType: [EC2_STATE_CHANGE], detail: { state: ['running'] } }
        : { source: ['aws.ec2'], detailType: [EC2_STATE_CHANGE], account: [stack.account], region: [stack.region], detail: { state: ['running'] } },
      ...(props.organization ? { eventBus: props.organization.eventBus } : {}),
      targets: [new SqsQueue(this.queue)],
    });

    this.handler = new GuardFunction(this, 'Handler', {
      entryFile: props.organization?.entryFile ?? 'launch.ts',
      description: props.organization ? 'timesync-guard organization hub: launch check of the member accounts' : 'timesync-guard launch check',
      timeout: LAUNCH_TIMEOUT,
      environment: {
        ...props.environment,
        [ENV.launchSsmWaitSeconds]: String(props.ssmWaitSeconds),
        [ENV.remediateOnLaunch]: String(props.remediation !== undefined),
        [LAUNCH_QUEUE_URL_ENV]: this.queue.queueUrl,
        ...props.organization?.environment,
      },
      logRetention: props.logRetention,
      metricNamespace: props.metricNamespace,
    });
    this.handler.function.addEventSource(
      new SqsEventSource(this.queue, { batchSize: LAUNCH_BATCH_SIZE, maxBatchingWindow: LAUNCH_BATCH_WINDOW, reportBatchItemFailures: true, maxConcurrency: 2 }),
    );
    // Retries go back on the same queue with a delay.
    this.queue.grantSendMessages(this.handler.role);
    // A message on this queue is a launch to check (and, with remediateOnLaunch, maybe to fix): only
    // the launch role (its retries) and the rule (EC2's events) may put one there. Denied whatever
    // an identity policy grants (sqs:* included, the account root too); the policy's Deny covers
    // SendMessage (and SendMessageBatch, which SQS authorizes as SendMessage) only, so the account
    // still manages the queue and CloudFormation still deploys it. EventBridge carries no principal
    // ARN of ours but the rule's ARN as aws:SourceArn; nobody else can set that key.
    this.queue.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyTheLaunchCheckAndItsRuleSend',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions: { StringNotEquals: { 'aws:PrincipalArn': [this.handler.role.roleArn], 'aws:SourceArn': [this.rule.ruleArn] } },
      }),
    );

    if (props.remediation) {
      // The launch function starts the run itself, on this one state machine; no rule on a bus that
      // anyone allowed events:PutEvents can write to starts it with input of their choosing.
      this.handler.function.addEnvironment(LAUNCH_REMEDIATION_STATE_MACHINE_ENV, props.remediation.stateMachineArn);
      this.handler.role.addToPrincipalPolicy(
        new PolicyStatement({ sid: 'LaunchRemediationStart', actions: ['states:StartExecution'], resources: [props.remediation.stateMachineArn] }),
      );
    }
  }
}
