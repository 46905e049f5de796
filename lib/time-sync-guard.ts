import { ArnFormat, type CfnElement, Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import type * as cw from 'aws-cdk-lib/aws-cloudwatch';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke, StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS, ENV } from '../lambda/core/settings';
import { GuardAlarms } from './constructs/guard-alarms';
import { GuardDashboard } from './constructs/guard-dashboard';
import { CHECK_TIMEOUT, GuardFunction, REMEDIATE_TIMEOUT } from './constructs/guard-function';
import { GuestDocuments } from './constructs/guest-documents';
import { LaunchCheck } from './constructs/launch-check';
import { RemediationStateMachine } from './constructs/remediation-state-machine';
import {
  DEFAULT_CHECK_SCHEDULE,
  DEFAULT_REMEDIATION_MAX_ITERATIONS,
  DEFAULT_REMEDIATION_SCHEDULE,
  type TimeSyncGuardProps,
  validateTimeSyncGuardProps,
} from './time-sync-guard-props';

export * from './time-sync-guard-props';

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
  /** The launch-time check; undefined when `launchCheck` is false. */
  public readonly launchCheck?: LaunchCheck;

  constructor(scope: Construct, id: string, props: TimeSyncGuardProps = {}) {
    super(scope, id);
    const checkInterval = validateTimeSyncGuardProps(props);
    const stack = Stack.of(this);
    const metricNamespace = props.metricNamespace ?? DEFAULTS.metricNamespace;
    const optOutTagKey = props.optOutTagKey ?? DEFAULTS.optOutTagKey;
    const eventSource = props.eventSource ?? DEFAULTS.eventSource;
    const logRetention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    const timeZone = props.timeZone ?? TimeZone.ETC_UTC;
    const remediationEnabled = props.remediationEnabled ?? true;
    const dryRun = props.dryRun ?? DEFAULTS.dryRun;

    this.topic = props.alarmTopic ?? this.createTopic(props.alarmEmails ?? []);
    this.documents = new GuestDocuments(this, 'Documents', { dryRun });

    const common: Record<string, string> = {
      [ENV.metricNamespace]: metricNamespace,
      [ENV.optOutTagKey]: optOutTagKey,
      [ENV.collectorDocument]: this.documents.collector.ref,
      [ENV.remediationDocument]: this.documents.remediation.ref,
      [ENV.maxOffsetSeconds]: String(props.maxOffsetSeconds ?? DEFAULTS.maxOffsetSeconds),
      [ENV.maxClockErrorBoundSeconds]: String(props.maxClockErrorBoundSeconds ?? DEFAULTS.maxClockErrorBoundSeconds),
      [ENV.commandMaxConcurrency]: props.commandMaxConcurrency ?? DEFAULTS.commandMaxConcurrency,
      [ENV.commandMaxErrors]: props.commandMaxErrors ?? DEFAULTS.commandMaxErrors,
      [ENV.commandTimeoutSeconds]: String(props.commandTimeoutSeconds ?? DEFAULTS.commandTimeoutSeconds),
      [ENV.topicArn]: this.topic.topicArn,
      [ENV.eventSource]: eventSource,
    };
    const remediationOnly: Record<string, string> = {
      [ENV.dryRun]: String(dryRun),
      [ENV.hopLimitTarget]: String(props.hopLimitTarget ?? DEFAULTS.hopLimitTarget),
      [ENV.hopLimitScope]: props.hopLimitScope ?? DEFAULTS.hopLimitScope,
      [ENV.enableMetadataEndpoint]: String(props.enableMetadataEndpoint ?? DEFAULTS.enableMetadataEndpoint),
      [ENV.fixTimeSync]: String(props.fixTimeSync ?? DEFAULTS.fixTimeSync),
      [ENV.maxChangesPerRun]: String(props.maxChangesPerRun ?? DEFAULTS.maxChangesPerRun),
      [ENV.maxChangesPercent]: String(props.maxChangesPercent ?? DEFAULTS.maxChangesPercent),
      [ENV.installChrony]: String(props.installChrony ?? DEFAULTS.installChrony),
      [ENV.forceDomainMembers]: String(props.forceDomainMembers ?? DEFAULTS.forceDomainMembers),
      [ENV.stepLargeOffset]: String(props.stepLargeOffset ?? DEFAULTS.stepLargeOffset),
      [ENV.usePhc]: String(props.usePhc ?? DEFAULTS.usePhc),
      // Read only by the launch function; recorded here so `environment` holds every setting.
      [ENV.launchSsmWaitSeconds]: String(props.launchSsmWaitSeconds ?? DEFAULTS.launchSsmWaitSeconds),
      [ENV.remediateOnLaunch]: String(props.remediateOnLaunch ?? DEFAULTS.remediateOnLaunch),
    };
    this.environment = { ...common, ...remediationOnly };

    this.checkFunction = new GuardFunction(this, 'CheckHandler', {
      entryFile: 'check.ts',
      description: 'timesync-guard hourly fleet check',
      timeout: CHECK_TIMEOUT,
      environment: common,
      logRetention,
      metricNamespace,
    });
    this.remediateFunction = new GuardFunction(this, 'RemediateHandler', {
      entryFile: 'remediate.ts',
      description: 'timesync-guard nightly remediation step',
      timeout: REMEDIATE_TIMEOUT,
      environment: this.environment,
      logRetention,
      metricNamespace,
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
    this.grantRemediate(this.remediateFunction, optOutTagKey, eventSource);

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
        environment: common,
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

  private createTopic(emails: string[]): Topic {
    const key = new Key(this, 'TopicKey', {
      enableKeyRotation: true,
      description: 'timesync-guard alarm topic',
    });
    // Alarms (CloudWatch) and EventBridge rules publish as services; without these the encrypted topic drops their messages.
    for (const service of ['cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
      key.addToResourcePolicy(
        new PolicyStatement({
          sid: `Allow${service.split('.')[0]}ToUseKey`,
          principals: [new ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
        }),
      );
    }
    const topic = new Topic(this, 'Topic', { masterKey: key, enforceSSL: true, displayName: 'timesync-guard alarms' });
    const stack = Stack.of(this);
    // The enforceSSL topic policy replaces the default one: allow this account's alarms explicitly.
    topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    for (const email of emails) topic.addSubscription(new EmailSubscription(email));
    return topic;
  }

  /** Read-only fleet inventory + the collector (and, for remediate, the remediation document). */
  private grantCheck(fn: GuardFunction, optOutTagKey: string, documentArns: string[]): void {
    const stack = Stack.of(this);
    const instances = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'Inventory',
        // None of these supports resource-level permissions (Service Authorization Reference).
        actions: ['ec2:DescribeInstances', 'ssm:DescribeInstanceInformation', 'ssm:ListCommands', 'ssm:ListCommandInvocations', 'ssm:GetCommandInvocation'],
        resources: ['*'],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'RunDocumentsOnInstances',
        actions: ['ssm:SendCommand'],
        resources: [...documentArns, instances],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'NeverTouchOptedOutInstances',
        effect: Effect.DENY,
        actions: ['ssm:SendCommand'],
        resources: [instances],
        conditions: optOutConditions(`ssm:resourceTag/${optOutTagKey}`),
      }),
    );
    const policy = fn.role.node.tryFindChild('DefaultPolicy') ?? fn.role;
    Validations.of(policy).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ec2:DescribeInstances, ssm:DescribeInstanceInformation, ssm:ListCommands, ssm:ListCommandInvocations and ssm:GetCommandInvocation support no resource-level permissions.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
        reason: 'The fleet is every instance of the region by design; SendCommand is also limited to this stack\'s documents, ModifyInstanceMetadataOptions to this one action, and opted-out instances are denied.',
      },
    );
  }

  private grantRemediate(fn: GuardFunction, optOutTagKey: string, eventSource: string): void {
    const stack = Stack.of(this);
    const instances = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({ sid: 'RaiseHopLimit', actions: ['ec2:ModifyInstanceMetadataOptions'], resources: [instances] }),
    );
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'NeverModifyOptedOutInstances',
        effect: Effect.DENY,
        actions: ['ec2:ModifyInstanceMetadataOptions'],
        resources: [instances],
        conditions: optOutConditions(`aws:ResourceTag/${optOutTagKey}`),
      }),
    );
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'AuditEvents',
        actions: ['events:PutEvents'],
        resources: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default', arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
        conditions: { StringEquals: { 'events:source': eventSource } },
      }),
    );
    this.topic.grantPublish(fn.role);
    Validations.of(fn.role.node.tryFindChild('DefaultPolicy') ?? fn.role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason: 'sns:Publish to the KMS-encrypted alarm topic needs GenerateDataKey* on its one key (granted by Topic.grantPublish, resource = that key).',
    });
  }
}

/** Tag present and its value anything but `false` (case-insensitive): both conditions in one block, ANDed. */
function optOutConditions(conditionKey: string): Record<string, Record<string, string>> {
  return {
    Null: { [conditionKey]: 'false' },
    StringNotEqualsIgnoreCase: { [conditionKey]: 'false' },
  };
}
