import { Annotations, ArnFormat, type CfnElement, Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import type * as cw from 'aws-cdk-lib/aws-cloudwatch';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke, StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS, type SettingKey } from '../lambda/core/settings';
import { GuardAlarms } from './constructs/guard-alarms';
import { GuardDashboard } from './constructs/guard-dashboard';
import { CHECK_TIMEOUT, GuardFunction, REMEDIATE_TIMEOUT } from './constructs/guard-function';
import { GuestDocuments } from './constructs/guest-documents';
import { LaunchCheck } from './constructs/launch-check';
import { RemediationStateMachine } from './constructs/remediation-state-machine';
import { checkStatements, createAlarmTopic, createContinuationKey, remediateInstanceStatements, reportStatements, settingsEnvironment } from './guard-common';
import {
  currentProps,
  DEFAULT_CHECK_SCHEDULE,
  DEFAULT_REMEDIATION_MAX_ITERATIONS,
  DEFAULT_REMEDIATION_SCHEDULE,
  deprecatedProps,
  type TimeSyncGuardProps,
  validateTimeSyncGuardProps,
} from './time-sync-guard-props';

export * from './time-sync-guard-props';
export { imdsStatements } from './guard-common';

/** Scheduler retries of a failed start before the event goes to the dead-letter queue. */
const SCHEDULE_RETRY_ATTEMPTS = 3;

/**
 * timesync-guard: the hourly fleet check (EventBridge Scheduler → Lambda → SSM Run Command
 * collector → metrics, alarms, dashboard) and the nightly remediation (Scheduler → Step Functions
 * loop around the remediate Lambda → ModifyInstanceMetadataOptions + SSM remediation document,
 * audited on the default event bus). Embed it in any stack; two instances never clash.
 */
export class TimeSyncGuard extends Construct {
  /** The check Lambda. */
  public readonly checkFunction: GuardFunction;
  /** The remediate Lambda (invoked only by the state machine). */
  public readonly remediateFunction: GuardFunction;
  /** The SSM Command documents (collector, remediation). */
  public readonly documents: GuestDocuments;
  /** The nightly remediation workflow. */
  public readonly remediation: RemediationStateMachine;
  /** The generated key that signs remediation continuations; only the remediate function can read it. */
  public readonly continuationKey: ISecret;
  /** Alarm and run-summary topic (created or the `alarmTopic` prop). */
  public readonly topic: ITopic;
  /** Dead-letter queue of both schedule targets. */
  public readonly deadLetterQueue: Queue;
  /** The hourly check schedule. */
  public readonly checkSchedule: Schedule;
  /** The nightly remediation schedule; undefined when `remediationEnabled` is false. */
  public readonly remediationSchedule?: Schedule;
  /** Every alarm, by key (see GuardAlarmSet). */
  public readonly alarms: GuardAlarms['alarms'];
  /** The CloudWatch dashboard. */
  public readonly dashboard: cw.Dashboard;
  /** Resolved settings passed to the Lambdas (env var name → value). */
  public readonly environment: Readonly<Record<string, string>>;
  /** The alarm topic's key; undefined when `alarmTopic` was given. */
  private topicKey?: Key;
  /** The launch-time check; undefined when `launchCheck` is false. */
  public readonly launchCheck?: LaunchCheck;

  constructor(scope: Construct, id: string, given: TimeSyncGuardProps = {}) {
    super(scope, id);
    const checkInterval = validateTimeSyncGuardProps(given);
    for (const { old, now } of deprecatedProps(given)) {
      Annotations.of(this).addWarningV2(`timesync-guard:deprecated-${old}`, `${old} is deprecated: use ${now}`);
    }
    const props = currentProps(given);
    const stack = Stack.of(this);
    const metricNamespace = props.metricNamespace ?? DEFAULTS.metricNamespace;
    const optOutTagKey = props.optOutTagKey ?? DEFAULTS.optOutTagKey;
    const eventSource = props.eventSource ?? DEFAULTS.eventSource;
    const logRetention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    const timeZone = props.timeZone ?? TimeZone.ETC_UTC;
    const remediationEnabled = props.remediationEnabled ?? true;
    const dryRun = props.dryRun ?? DEFAULTS.dryRun;
    const hopLimitTarget = props.hopLimitTarget ?? DEFAULTS.hopLimitTarget;
    const enableMetadataEndpoint = props.enableMetadataEndpoint ?? DEFAULTS.enableMetadataEndpoint;
    const reservedConcurrency = props.reservedConcurrency;

    if (props.alarmTopic) this.topic = props.alarmTopic;
    else ({ topic: this.topic, key: this.topicKey } = createAlarmTopic(this, props.alarmEmails ?? []));
    this.documents = new GuestDocuments(this, 'Documents', { dryRun });

    // Values the construct sets itself; every other row comes from its prop or its default.
    const fixed: Partial<Record<SettingKey, string>> = {
      collectorDocument: this.documents.collector.ref,
      remediationDocument: this.documents.remediation.ref,
      topicArn: this.topic.topicArn,
    };
    this.environment = settingsEnvironment('remediation', props, fixed);

    this.checkFunction = new GuardFunction(this, 'CheckHandler', {
      entryFile: 'check.ts',
      description: 'timesync-guard hourly fleet check',
      timeout: CHECK_TIMEOUT,
      environment: settingsEnvironment('check', props, fixed),
      logRetention,
      metricNamespace,
      reservedConcurrency,
    });
    this.remediateFunction = new GuardFunction(this, 'RemediateHandler', {
      entryFile: 'remediate.ts',
      description: 'timesync-guard nightly remediation step',
      timeout: REMEDIATE_TIMEOUT,
      environment: this.environment,
      logRetention,
      metricNamespace,
      reservedConcurrency,
    });
    // The scheduler invokes asynchronously: Lambda's own queue absorbs the reserved-concurrency
    // throttle. A failed check is not retried (the next scheduled check is the retry, and the
    // Errors alarm reports it); a queued check older than one interval is superseded.
    this.checkFunction.function.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: checkInterval.toSeconds() > 6 * 3600 ? Duration.hours(6) : checkInterval,
    });
    this.grantCheck(this.checkFunction, optOutTagKey, [GuestDocuments.documentArn(this.documents.collector)]);
    this.grantCheck(this.remediateFunction, optOutTagKey, [
      GuestDocuments.documentArn(this.documents.collector),
      GuestDocuments.documentArn(this.documents.remediation),
    ]);
    this.grantRemediate(this.remediateFunction, { optOutTagKey, eventSource, hopLimitTarget, enableMetadataEndpoint });
    this.continuationKey = createContinuationKey(this, this.remediateFunction);

    this.remediation = new RemediationStateMachine(this, 'Remediation', {
      handler: this.remediateFunction.function,
      maxIterations: props.remediationMaxIterations ?? DEFAULT_REMEDIATION_MAX_ITERATIONS,
      logRetention,
    });

    this.deadLetterQueue = new Queue(this, 'ScheduleDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the two schedule targets; its messages are alarmed on, not reprocessed.',
    });

    // One role for both targets, inside this construct (the targets' default role lives at stack
    // level and would be shared between two guards in one stack).
    const schedulerRole = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: 'timesync-guard: EventBridge Scheduler starts the check and the remediation',
    });
    this.checkSchedule = new Schedule(this, 'CheckSchedule', {
      description: 'timesync-guard: fleet check',
      schedule: ScheduleExpression.expression(props.checkSchedule ?? DEFAULT_CHECK_SCHEDULE, timeZone),
      target: new LambdaInvoke(this.checkFunction.function, {
        role: schedulerRole,
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: SCHEDULE_RETRY_ATTEMPTS,
        // A check older than one interval is superseded by the next one.
        maxEventAge: checkInterval.toSeconds() > 86400 ? Duration.days(1) : checkInterval,
        input: ScheduleTargetInput.fromObject({ source: 'schedule' }),
      }),
    });
    if (remediationEnabled) {
      this.remediationSchedule = new Schedule(this, 'RemediationSchedule', {
        description: 'timesync-guard: nightly remediation',
        schedule: ScheduleExpression.expression(props.remediationSchedule ?? DEFAULT_REMEDIATION_SCHEDULE, timeZone),
        target: new StepFunctionsStartExecution(this.remediation.stateMachine, {
          role: schedulerRole,
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: SCHEDULE_RETRY_ATTEMPTS,
          // Keeps a late start inside the maintenance window.
          maxEventAge: Duration.hours(1),
          input: ScheduleTargetInput.fromObject({}),
        }),
      });
    }

    if (props.launchCheck ?? false) {
      this.launchCheck = new LaunchCheck(this, 'LaunchCheck', {
        environment: settingsEnvironment('launch', props, fixed),
        logRetention,
        metricNamespace,
        eventSource,
        ssmWaitSeconds: props.launchSsmWaitSeconds ?? DEFAULTS.launchSsmWaitSeconds,
        ...((props.remediateOnLaunch ?? DEFAULTS.remediateOnLaunch) ? { remediation: this.remediation.stateMachine } : {}),
      });
      this.grantCheck(this.launchCheck.handler, optOutTagKey, [GuestDocuments.documentArn(this.documents.collector)]);
    }

    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.checkFunction.function.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason: 'The Scheduler Lambda target grants the check function and its versions/aliases (ARN:*); no other function is reachable.',
    });

    const alarms = new GuardAlarms(this, 'Alarms', {
      metricNamespace,
      checkInterval,
      notCheckedThreshold: props.notCheckedThreshold ?? 0,
      remediationHeartbeatWindow: remediationEnabled ? (props.remediationHeartbeatWindow ?? Duration.days(1)) : undefined,
      topic: this.topic,
      checkFunction: this.checkFunction.function,
      stateMachine: this.remediation.stateMachine,
    });
    this.alarms = alarms.alarms;
    this.dashboard = new GuardDashboard(this, 'Dashboard', {
      metric: alarms.metric,
      checkInterval,
      alarms: alarms.list(),
      checkFunction: this.checkFunction.function,
      remediateFunction: this.remediateFunction.function,
      stateMachine: this.remediation.stateMachine,
    }).dashboard;
  }

  /** Read-only fleet inventory + the collector (and, for remediate, the remediation document). */
  private grantCheck(fn: GuardFunction, optOutTagKey: string, documentArns: string[]): void {
    const stack = Stack.of(this);
    const instances = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    for (const statement of checkStatements(instances, documentArns, optOutTagKey)) fn.role.addToPrincipalPolicy(statement);
    const policy = fn.role.node.tryFindChild('DefaultPolicy') ?? fn.role;
    Validations.of(policy).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ec2:DescribeInstances, ssm:DescribeInstanceInformation, ssm:ListCommands, ssm:ListCommandInvocations, ssm:GetCommandInvocation and ssm:CancelCommand support no resource-level permissions.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
        reason:
          fn === this.remediateFunction
            ? 'The fleet is every instance of the region by design. ssm:SendCommand also needs one of this stack\'s two documents (no other document is granted); ec2:ModifyInstanceMetadataOptions is conditioned to raise the hop limit to at least the target (and to enable the endpoint only when enableMetadataEndpoint is on), with explicit Denies on disabling the endpoint, making tokens optional and lowering the hop limit; opted-out instances are denied both actions.'
            : 'The fleet is every instance of the region by design. ssm:SendCommand also needs this stack\'s read-only collector document (no other document is granted), and opted-out instances are denied.',
      },
    );
  }

  private grantRemediate(
    fn: GuardFunction,
    o: { optOutTagKey: string; eventSource: string; hopLimitTarget: number; enableMetadataEndpoint: boolean },
  ): void {
    const stack = Stack.of(this);
    const instances = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    for (const statement of remediateInstanceStatements(instances, o)) fn.role.addToPrincipalPolicy(statement);
    for (const statement of reportStatements(stack, o.eventSource, this.topic, this.topicKey)) fn.role.addToPrincipalPolicy(statement);
  }
}

