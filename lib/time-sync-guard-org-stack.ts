import { Aspects, Aws, type CfnElement, CfnOutput, CfnParameter, Duration, Fn, Stack, type StackProps, TimeZone, Token, Validations } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { AnyPrincipal, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { HUB_DEFAULTS, HUB_ENV, HUB_FLEET_METRICS, imdsv2UndoRoleName } from '../lambda/core/fleet/hub';
import { HUB_RUN_PREFIX } from '../lambda/core/fleet/hub-run-data';
import { DEFAULTS } from '../lambda/core/settings';
import { ControlTowerReady, deadLetterQueue as scheduleDeadLetterQueue, guardKey } from './constructs/control-tower';
import { FunctionNetwork } from './constructs/function-network';
import { GuardAlarms } from './constructs/guard-alarms';
import { GuardDashboard } from './constructs/guard-dashboard';
import { GuardFunction, REMEDIATE_TIMEOUT } from './constructs/guard-function';
import { LaunchCheck } from './constructs/launch-check';
import { OrgSpoke, SPOKE_DOCUMENT_NAMES, spokeDocuments, spokeHasUndoRole, type StackSetCallAs } from './constructs/org-spoke';
import { OrgStateMachine } from './constructs/org-state-machine';
import { contextBoolean } from './context';
import { stateBucket } from './findings-export-grants';
import { createAlarmTopic, createContinuationKey, createImdsv2RecordKey, reportStatements, settingsEnvironment } from './guard-common';
import {
  currentProps,
  DEFAULT_CHECK_SCHEDULE,
  DEFAULT_REMEDIATION_SCHEDULE,
  type TimeSyncGuardProps,
  TimeSyncGuardPropsError,
  validateTimeSyncGuardProps,
} from './time-sync-guard-props';

/** Child executions of the distributed Map at once: bounded for the STS, EC2 and SSM rates shared by the hub. */
export const DEFAULT_ORG_MAX_CONCURRENCY = 40;
/** hub-item invocations per account-region: 100 slices of 10,000 instances, or 100 remediation continuations. */
export const DEFAULT_ORG_MAX_ITEM_INVOCATIONS = 100;

/** Props of {@link TimeSyncGuardOrgStack}. */
export interface TimeSyncGuardOrgStackProps extends StackProps {
  /**
   * The guard's settings, as for the single-account stack (thresholds, schedules, remediation,
   * alarms, retention, `launchCheck`, `remediateOnLaunch`, `imdsv2AutoUndo`); only `urgentRemediation` is off in the hub.
   * @default - every setting at its default
   */
  readonly guard?: TimeSyncGuardProps;
  /**
   * OU or root ids (`ou-…`, `r-…`) whose ACTIVE accounts are covered; the spoke StackSets deploy to them
   * and to every account that joins them later.
   * @default - a CloudFormation parameter `OrganizationalUnitIds`, asked at deploy
   */
  readonly organizationalUnits?: string[];
  /**
   * Explicit account ids covered in addition to the OUs' accounts (e.g. the management account with a
   * self-managed spoke: docs/organization.md).
   * @default - none
   */
  readonly accounts?: string[];
  /**
   * Regions checked in every account (the documents StackSet deploys to them).
   * @default - the hub's region
   */
  readonly regions?: string[];
  /**
   * Name of the spoke role in every member account.
   * @default 'TimeSyncGuardSpoke'
   */
  readonly spokeRoleName?: string;
  /**
   * Who calls the StackSet APIs: `DELEGATED_ADMIN` from a registered delegated administrator account,
   * `SELF` when the hub is the management account itself.
   * @default 'DELEGATED_ADMIN'
   */
  readonly callAs?: StackSetCallAs;
  /**
   * The organization id (`o-…`): the spoke trust then also requires `aws:PrincipalOrgID` and the hub
   * may assume only roles of this organization (`aws:ResourceOrgID`).
   * @default - trust by hub account and hub role ARN only
   */
  readonly organizationId?: string;
  /**
   * Accounts checked at once (child executions of the distributed Map).
   * @default 40
   */
  readonly maxConcurrency?: number;
  /**
   * hub-item invocations per account-region before that item is reported as failed.
   * @default 100
   */
  readonly maxItemInvocations?: number;
  /**
   * EC2 pages (1,000 instances each) per check slice.
   * @default 10
   */
  readonly slicePages?: number;
  /**
   * ARN of an existing SNS topic for alarms and run summaries; excludes `guard.alarmEmails`.
   * @default - the stack creates its own encrypted topic
   */
  readonly alarmTopicArn?: string;
}

const OU = /^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const ORG_ID = /^o-[a-z0-9]{10,32}$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

function checkList(name: string, values: readonly string[] | undefined, pattern: RegExp, what: string): void {
  if (values === undefined || Token.isUnresolved(values)) return;
  if (values.length === 0) throw new TimeSyncGuardPropsError(name, 'must not be empty (leave it out for the default)');
  for (const v of values) if (!Token.isUnresolved(v) && !pattern.test(v)) throw new TimeSyncGuardPropsError(name, `must be ${what}, got ${JSON.stringify(v)}`);
}

function checkInteger(name: string, v: number | undefined, min: number, max: number): void {
  if (v === undefined || Token.isUnresolved(v)) return;
  if (!Number.isInteger(v) || v < min || v > max) throw new TimeSyncGuardPropsError(name, `must be an integer in [${min}, ${max}], got ${v}`);
}

/** Validates the organization props (tokens skipped), naming the prop at fault. */
export function validateOrgProps(p: TimeSyncGuardOrgStackProps): void {
  checkList('organizationalUnits', p.organizationalUnits, OU, 'OU or root ids (ou-…, r-…)');
  checkList('accounts', p.accounts, ACCOUNT, '12-digit account ids');
  checkList('regions', p.regions, REGION, 'region names');
  if (p.spokeRoleName !== undefined && !Token.isUnresolved(p.spokeRoleName) && !ROLE_NAME.test(p.spokeRoleName)) {
    throw new TimeSyncGuardPropsError('spokeRoleName', `must be an IAM role name, got ${JSON.stringify(p.spokeRoleName)}`);
  }
  if (p.organizationId !== undefined && !Token.isUnresolved(p.organizationId) && !ORG_ID.test(p.organizationId)) {
    throw new TimeSyncGuardPropsError('organizationId', `must be an organization id (o-…), got ${JSON.stringify(p.organizationId)}`);
  }
  if (p.callAs !== undefined && p.callAs !== 'DELEGATED_ADMIN' && p.callAs !== 'SELF') {
    throw new TimeSyncGuardPropsError('callAs', `must be DELEGATED_ADMIN or SELF, got ${JSON.stringify(p.callAs)}`);
  }
  // A distributed Map runs at most 10,000 child executions in parallel.
  checkInteger('maxConcurrency', p.maxConcurrency, 1, 10_000);
  checkInteger('maxItemInvocations', p.maxItemInvocations, 1, 1000);
  checkInteger('slicePages', p.slicePages, 1, 100);
  const g = p.guard ?? {};
  // The undo role's name is the spoke role's plus a suffix, within IAM's 64 characters.
  if (spokeHasUndoRole({ imdsv2: g.imdsv2 ?? DEFAULTS.imdsv2, imdsv2AutoUndo: g.imdsv2AutoUndo }) && p.spokeRoleName !== undefined && !Token.isUnresolved(p.spokeRoleName)) {
    const undoRole = imdsv2UndoRoleName(p.spokeRoleName);
    if (undoRole.length > 64) throw new TimeSyncGuardPropsError('spokeRoleName', `must leave room for the IMDSv2 undo role ${JSON.stringify(undoRole)} (64 characters at most) with guard.imdsv2AutoUndo`);
  }
  if (p.alarmTopicArn !== undefined && (g.alarmTopic !== undefined || g.alarmEmails !== undefined)) {
    throw new TimeSyncGuardPropsError('alarmTopicArn', 'excludes guard.alarmTopic and guard.alarmEmails (subscribe addresses to your own topic)');
  }
}

/**
 * The organization hub, deployed in a delegated administrator account: the spoke StackSets (an IAM
 * role in every member account of the OUs, the SSM documents in every covered region), the hub
 * Lambdas (hub-run, hub-item), the state machine over (account, region), hourly check and nightly
 * remediation schedules, the run-summary topic, the single-account alarms plus one on the
 * account-regions not covered, and one dashboard.
 */
export class TimeSyncGuardOrgStack extends Stack {
  /** The spoke StackSets. */
  public readonly spoke: OrgSpoke;
  /** hub-item: one account-region (or one slice of it) under the spoke role. */
  public readonly itemFunction: GuardFunction;
  /** hub-run: the listing and the summary. */
  public readonly runFunction: GuardFunction;
  /** The run: ListTargets → distributed Map → Summarize. */
  public readonly orchestration: OrgStateMachine;
  /** Alarm and run-summary topic. */
  public readonly topic: ITopic;
  /** The hourly check schedule. */
  public readonly checkSchedule: Schedule;
  /** The nightly remediation schedule; undefined when `remediationEnabled` is false. */
  public readonly remediationSchedule?: Schedule;
  /** Every alarm, by key: the single-account set plus `accountRegionsNotCovered`. */
  public readonly alarms: GuardAlarms['alarms'] & { readonly accountRegionsNotCovered: cw.Alarm };
  /** The central dashboard. */
  public readonly dashboard: cw.Dashboard;
  /** The member accounts' launch events (with `guard.launchCheck`): the bus, and the queue and handler behind it. */
  public readonly launchCheck?: { readonly bus: EventBus; readonly check: LaunchCheck };

  constructor(scope: Construct, id: string, props: TimeSyncGuardOrgStackProps = {}) {
    super(scope, id, { description: 'timesync-guard organization hub: spoke StackSets, fan-out over accounts and regions, central alarms', ...props });
    validateOrgProps(props);
    const given = props.guard ?? {};
    const checkInterval = validateTimeSyncGuardProps(given);
    const guard = currentProps(given);
    const metricNamespace = guard.metricNamespace ?? DEFAULTS.metricNamespace;
    const optOutTagKey = guard.optOutTagKey ?? DEFAULTS.optOutTagKey;
    const eventSource = guard.eventSource ?? DEFAULTS.eventSource;
    const logRetention = guard.logRetention ?? RetentionDays.ONE_YEAR;
    const timeZone = guard.timeZone ?? TimeZone.ETC_UTC;
    const remediationEnabled = guard.remediationEnabled ?? true;
    const spokeRoleName = props.spokeRoleName ?? HUB_DEFAULTS.spokeRoleName;
    const regions = props.regions ?? [Aws.REGION];
    const organizationalUnits =
      props.organizationalUnits ??
      new CfnParameter(this, 'OrganizationalUnitIds', {
        type: 'CommaDelimitedList',
        description: 'OU or root ids (ou-…, r-…) whose accounts timesync-guard covers (the spoke StackSets deploy to them)',
      }).valueAsList;

    // Control Tower ready (docs/control-tower.md): every log group of the hub encrypted with its key.
    Aspects.of(this).add(new ControlTowerReady(guardKey(this)));
    FunctionNetwork.create(this, guard);
    let topicKey: Key | undefined;
    if (props.alarmTopicArn !== undefined) this.topic = Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn);
    else if (guard.alarmTopic !== undefined) this.topic = guard.alarmTopic;
    else ({ topic: this.topic, key: topicKey } = createAlarmTopic(this, guard.alarmEmails ?? []));

    // Settings as the single-account remediate function gets them; the documents are the spokes'
    // fixed names and the pins of the contents the documents StackSet deploys (one computation for
    // both), and the hub's own variables are added beside them.
    const documents = spokeDocuments();
    const fixed: Record<string, string> = {
      collectorDocument: SPOKE_DOCUMENT_NAMES.collector,
      collectorDocumentHash: documents.collector.sha256,
      remediationDocument: SPOKE_DOCUMENT_NAMES.remediation,
      remediationDocumentHash: documents.remediation.sha256,
      windowsRemediationDocument: SPOKE_DOCUMENT_NAMES.windowsRemediation,
      windowsRemediationDocumentHash: documents.windowsRemediation.sha256,
      topicArn: this.topic.topicArn,
      // The urgent path is the single-account stack's (its check starts the remediation); the hub has none.
      urgentRemediation: 'false',
    };
    const securityHub = guard.securityHub ?? DEFAULTS.securityHub;
    const ssmCompliance = guard.ssmCompliance ?? DEFAULTS.ssmCompliance;
    // What each member account-region last exported: one object per account-region in the hub.
    const exportState = securityHub || ssmCompliance ? this.createExportStateBucket() : undefined;
    // A run's item list, the Map's result files and the full summary: nothing of that size in the execution state.
    const runBucket = stateBucket(
      this,
      'RunData',
      "The bucket holds each hub run's account-region list, the distributed Map's result files and the run summary, written by hub-run and the state machine and read back by them",
    );
    // IMDSv2 in the member accounts: readiness snapshots per account-region in the run bucket (imdsv2/…), the hub's record key.
    const imdsv2 = guard.imdsv2 ?? DEFAULTS.imdsv2;
    const recordKey = imdsv2 !== 'off' ? createImdsv2RecordKey(this) : undefined;
    const settings = settingsEnvironment('remediation', guard, {
      ...fixed,
      ...(exportState ? { exportStateBucket: exportState.bucketName } : {}),
      ...(recordKey ? { imdsv2CacheBucket: runBucket.bucketName, imdsv2RecordKeySecret: recordKey.secretArn } : {}),
    });
    this.itemFunction = new GuardFunction(this, 'HubItem', {
      entryFile: 'hub-item.ts',
      description: 'timesync-guard organization hub: one account-region under the spoke role',
      timeout: REMEDIATE_TIMEOUT,
      environment: { ...settings, [HUB_ENV.spokeRoleName]: spokeRoleName, [HUB_ENV.slicePages]: String(props.slicePages ?? HUB_DEFAULTS.slicePages) },
      logRetention,
      metricNamespace,
      reservedConcurrency: guard.reservedConcurrency,
    });
    this.runFunction = new GuardFunction(this, 'HubRun', {
      entryFile: 'hub-run.ts',
      description: 'timesync-guard organization hub: accounts to cover, run summary',
      timeout: Duration.minutes(5),
      environment: {
        ...settings,
        [HUB_ENV.organizationalUnits]: Fn.join(',', organizationalUnits),
        ...(props.accounts ? { [HUB_ENV.accounts]: props.accounts.join(',') } : {}),
        [HUB_ENV.regions]: Fn.join(',', regions),
        [HUB_ENV.runBucket]: runBucket.bucketName,
      },
      logRetention,
      metricNamespace,
    });
    createContinuationKey(this, this.itemFunction);
    if (recordKey) {
      recordKey.grantRead(this.itemFunction.role);
      this.itemFunction.role.addToPrincipalPolicy(new PolicyStatement({ sid: 'Imdsv2Snapshots', actions: ['s3:GetObject', 's3:PutObject'], resources: [runBucket.arnForObjects('imdsv2/*')] }));
      Validations.of(this.itemFunction.role.node.tryFindChild('DefaultPolicy') ?? this.itemFunction.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(runBucket.node.defaultChild as CfnElement)}.Arn>/imdsv2/*]`,
        reason: 'One IMDSv2 readiness snapshot per member account-region (imdsv2/<account>/<region>/readiness.json) in the hub\'s run bucket; accounts join the OUs after deploy.',
      });
    }
    this.runFunction.role.addToPrincipalPolicy(
      new PolicyStatement({ sid: 'RunData', actions: ['s3:GetObject', 's3:PutObject'], resources: [runBucket.arnForObjects(`${HUB_RUN_PREFIX}/*`)] }),
    );
    Validations.of(this.runFunction.role.node.tryFindChild('DefaultPolicy') ?? this.runFunction.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(runBucket.node.defaultChild as CfnElement)}.Arn>/${HUB_RUN_PREFIX}/*]`,
      reason: "Each run's item list, result files and summary under runs/ of the hub's own run bucket; their keys carry the execution and map run ids, generated at run time.",
    });
    if (exportState) {
      this.itemFunction.role.addToPrincipalPolicy(new PolicyStatement({ sid: 'FindingsExportState', actions: ['s3:GetObject', 's3:PutObject'], resources: [exportState.arnForObjects('findings-export/*')] }));
      Validations.of(this.itemFunction.role.node.tryFindChild('DefaultPolicy') ?? this.itemFunction.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(exportState.node.defaultChild as CfnElement)}.Arn>/findings-export/*]`,
        reason: 'One state object per member account-region (findings-export/<account>/<region>.json) in the hub\'s own export-state bucket; accounts join the OUs after deploy, so the object names are not known at synth.',
      });
    }
    // The opt-in undo of an IMDSv2 enforcement, as in one account: its own spoke role, entered by hub-item only.
    const imdsv2AutoUndo = spokeHasUndoRole({ imdsv2, imdsv2AutoUndo: guard.imdsv2AutoUndo ?? DEFAULTS.imdsv2AutoUndo });
    this.grantHub(spokeRoleName, props.organizationId, eventSource, topicKey, imdsv2AutoUndo);

    this.orchestration = new OrgStateMachine(this, 'Run', {
      runHandler: this.runFunction.function,
      itemHandler: this.itemFunction.function,
      maxConcurrency: props.maxConcurrency ?? DEFAULT_ORG_MAX_CONCURRENCY,
      maxItemInvocations: props.maxItemInvocations ?? DEFAULT_ORG_MAX_ITEM_INVOCATIONS,
      logRetention,
      runBucket,
    });
    if (guard.launchCheck) this.launchCheck = this.createLaunchCheck(guard, fixed, spokeRoleName, organizationalUnits, regions, props, logRetention, metricNamespace);

    this.spoke = new OrgSpoke(this, 'Spoke', {
      launchCheck: this.launchCheck !== undefined,
      ...(this.launchCheck ? { hubLaunchBusArn: this.launchCheck.bus.eventBusArn } : {}),
      spokeRoleName,
      optOutTagKey,
      hopLimitTarget: guard.hopLimitTarget ?? DEFAULTS.hopLimitTarget,
      enableMetadataEndpoint: guard.enableMetadataEndpoint ?? DEFAULTS.enableMetadataEndpoint,
      securityHub,
      ssmCompliance,
      accountDefaults: guard.accountDefaults ?? DEFAULTS.accountDefaults,
      imdsv2: guard.imdsv2 ?? DEFAULTS.imdsv2,
      imdsv2AutoUndo,
      launchTemplates: guard.launchTemplates ?? DEFAULTS.launchTemplates,
      hubItemRoleArn: this.itemFunction.role.roleArn,
      organizationId: props.organizationId,
      hubAccountId: Aws.ACCOUNT_ID,
      // The launch check enters the member accounts too (its own role, check statements only used).
      hubRoleArns: [this.itemFunction.role.roleArn, ...(this.launchCheck ? [this.launchCheck.check.handler.role.roleArn] : [])],
      organizationalUnits,
      regions,
      documents,
      roleRegion: Aws.REGION,
      callAs: props.callAs ?? 'DELEGATED_ADMIN',
    });

    ({ check: this.checkSchedule, remediation: this.remediationSchedule } = this.createSchedules(guard, timeZone, remediationEnabled, checkInterval));

    const alarms = new GuardAlarms(this, 'Alarms', {
      metricNamespace,
      checkInterval,
      notCheckedThreshold: guard.notCheckedThreshold ?? 0,
      remediationHeartbeatWindow: remediationEnabled ? (guard.remediationHeartbeatWindow ?? Duration.days(1)) : undefined,
      topic: this.topic,
      checkFunction: this.itemFunction.function,
      stateMachine: this.orchestration.stateMachine,
      // The member accounts' IMDSv2 watch (rejected calls after enforcement) is alarmed as in one account.
      imdsv2: imdsv2 !== 'off',
      imdsv2AutoUndo,
    });
    const notCovered = new cw.Alarm(this, 'AccountRegionsNotCoveredAlarm', {
      metric: alarms.metric(HUB_FLEET_METRICS.accountRegionsNotCovered, cw.Stats.MAXIMUM, checkInterval),
      threshold: 0,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
      evaluationPeriods: 1,
      alarmDescription: 'timesync-guard: account-regions the organization run could not cover (spoke role missing, SCP, throttled; the run summary names them)',
    });
    notCovered.addAlarmAction(new SnsAction(this.topic));
    notCovered.addOkAction(new SnsAction(this.topic));
    this.alarms = { ...alarms.alarms, accountRegionsNotCovered: notCovered };

    this.dashboard = new GuardDashboard(this, 'Dashboard', {
      metric: alarms.metric,
      checkInterval,
      alarms: [...alarms.list(), notCovered],
      checkFunction: this.itemFunction.function,
      remediateFunction: this.runFunction.function,
      stateMachine: this.orchestration.stateMachine,
      functionLabels: { check: 'hub-item', remediate: 'hub-run' },
      // The member accounts' launch sources, summed by the summary under the single-account names.
      launchSources: (guard.launchTemplates ?? DEFAULTS.launchTemplates) !== 'off',
    }).dashboard;
    // Per account: Logs Insights over hub-item's own records, not a metric series per account (their
    // cost grew with the organization: docs/organization.md). Queried only when the dashboard is viewed.
    const perAccount = (title: string, query: string) =>
      new cw.LogQueryWidget({ title, width: 12, height: 6, logGroupNames: [this.itemFunction.logGroup.logGroupName], view: cw.LogQueryVisualizationType.TABLE, queryString: query });
    this.dashboard.addWidgets(
      perAccount(
        'Accounts with instances at risk or not checked (last check slices)',
        [
          'filter message = "check-summary" and (instancesAtRisk > 0 or instancesNotChecked > 0)',
          'stats latest(instancesAtRisk) as atRisk, latest(instancesNotChecked) as notChecked by accountId, region, slice',
          'sort atRisk desc, notChecked desc',
          'limit 100',
        ].join(' | '),
      ),
      perAccount(
        'Account-regions not covered, by reason',
        ['filter message = "account-not-covered"', 'stats count(*) as runs, latest(reason) as reason, latest(detail) as detail by accountId, region', 'sort runs desc', 'limit 100'].join(' | '),
      ),
    );

    new CfnOutput(this, 'AlarmTopicArn', { value: this.topic.topicArn });
    new CfnOutput(this, 'StateMachineArn', { value: this.orchestration.stateMachine.stateMachineArn, description: 'Start with {"mode":"check"} or {"mode":"remediate"}' });
    new CfnOutput(this, 'HubItemRoleArn', { value: this.itemFunction.role.roleArn, description: 'The only principal the spoke roles trust' });
    new CfnOutput(this, 'HubItemLogGroup', { value: this.itemFunction.logGroup.logGroupName, description: 'Per-instance records of every account (Logs Insights)' });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboardName });
  }

  /**
   * The launch check of the member accounts: a bus whose resource policy admits PutEvents from the
   * organization only (each member account's forwarding rule, deployed by the documents StackSet),
   * a rule on it → the launch queue → hub-launch, which checks that the event's account is covered
   * before it assumes the spoke role and runs the single-account launch check there.
   */
  private createLaunchCheck(
    guard: TimeSyncGuardProps,
    fixed: Record<string, string>,
    spokeRoleName: string,
    organizationalUnits: string[],
    regions: string[],
    props: TimeSyncGuardOrgStackProps,
    logRetention: RetentionDays,
    metricNamespace: string,
  ): { bus: EventBus; check: LaunchCheck } {
    // The bus admits the organization only: its id from the prop, else asked at deploy.
    const organizationId =
      props.organizationId ??
      new CfnParameter(this, 'OrganizationId', {
        type: 'String',
        allowedPattern: '^o-[a-z0-9]{10,32}$',
        description: "The organization id (o-…): the hub's launch bus admits PutEvents from its accounts only",
      }).valueAsString;
    const bus = new EventBus(this, 'LaunchBus', { description: "timesync-guard: the member accounts' EC2 running events (organization only)" });
    bus.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OrganizationMembersOnly',
        principals: [new AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [bus.eventBusArn],
        conditions: { StringEquals: { 'aws:PrincipalOrgID': organizationId } },
      }),
    );
    const check = new LaunchCheck(this, 'LaunchCheck', {
      environment: settingsEnvironment('launch', guard, fixed),
      logRetention,
      metricNamespace,
      ssmWaitSeconds: guard.launchSsmWaitSeconds ?? DEFAULTS.launchSsmWaitSeconds,
      // remediateOnLaunch: the launch role starts the hub's own run for one account-region (a launch run:
      // the nightly run's overlap guard, plan, caps, dry run, opt-out and audit, scoped to those instances).
      ...((guard.remediateOnLaunch ?? DEFAULTS.remediateOnLaunch) ? { remediation: this.orchestration.stateMachine } : {}),
      organization: {
        eventBus: bus,
        entryFile: 'hub-launch.ts',
        environment: {
          [HUB_ENV.spokeRoleName]: spokeRoleName,
          [HUB_ENV.organizationalUnits]: Fn.join(',', organizationalUnits),
          ...(props.accounts ? { [HUB_ENV.accounts]: props.accounts.join(',') } : {}),
          [HUB_ENV.regions]: Fn.join(',', regions),
        },
      },
    });
    const role = check.handler.role;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'AssumeSpokeRoles',
        actions: ['sts:AssumeRole'],
        resources: [`arn:${Aws.PARTITION}:iam::*:role/${spokeRoleName}`],
        conditions: { StringEquals: { 'aws:ResourceOrgID': organizationId } },
      }),
    );
    role.addToPrincipalPolicy(new PolicyStatement({ sid: 'CoveredAccountCheck', actions: ['organizations:ListParents'], resources: ['*'] }));
    Validations.of(role.node.tryFindChild('DefaultPolicy') ?? role).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${spokeRoleName}]`,
        reason: 'The launch check enters the member account of each event through the one spoke role of that name, inside the organization only (aws:ResourceOrgID); accounts join the OUs after deploy.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'organizations:ListParents is read-only; the hub reads the parent of an event\'s account to check it is one of its OUs, whose resources live in the management account under an id unknown at synth.',
      },
    );
    return { bus, check };
  }

  /** The hub's bucket of the findings export state (one object per member account-region). */
  private createExportStateBucket(): Bucket {
    return stateBucket(
      this,
      'ExportState',
      "The bucket holds one object per member account-region: hashes of what the hub last sent to that account's Security Hub and SSM Compliance, written and read only by the hub item function",
    );
  }

  /** Least privilege of the two hub functions. */
  private grantHub(spokeRoleName: string, organizationId: string | undefined, eventSource: string, topicKey: Key | undefined, imdsv2AutoUndo: boolean): void {
    const item = this.itemFunction.role;
    const undoRole = imdsv2UndoRoleName(spokeRoleName);
    item.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'AssumeSpokeRoles',
        actions: ['sts:AssumeRole'],
        resources: [`arn:${Aws.PARTITION}:iam::*:role/${spokeRoleName}`, ...(imdsv2AutoUndo ? [`arn:${Aws.PARTITION}:iam::*:role/${undoRole}`] : [])],
        ...(organizationId ? { conditions: { StringEquals: { 'aws:ResourceOrgID': organizationId } } } : {}),
      }),
    );
    // Both send to the central bus (audit events, run summary); only hub-run publishes to the topic.
    for (const s of reportStatements(this, eventSource, this.topic, topicKey)) {
      if (s.sid === 'AuditEvents') item.addToPrincipalPolicy(s);
      this.runFunction.role.addToPrincipalPolicy(s);
    }
    this.runFunction.role.addToPrincipalPolicy(new PolicyStatement({ sid: 'ListMemberAccounts', actions: ['organizations:ListAccountsForParent'], resources: ['*'] }));
    const acknowledge = (fn: GuardFunction, ...findings: { id: string; reason: string }[]) =>
      Validations.of(fn.role.node.tryFindChild('DefaultPolicy') ?? fn.role).acknowledge(...findings);
    acknowledge(this.itemFunction, {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${spokeRoleName}]`,
      reason: `The hub enters every member account through the one role of that name (deployed by the spoke StackSet); the account is the wildcard because accounts join the OUs after deploy. Each spoke role's trust admits only this role's ARN${organizationId ? ', and aws:ResourceOrgID keeps the hub inside the organization' : ''}.`,
    });
    if (imdsv2AutoUndo) {
      acknowledge(this.itemFunction, {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${undoRole}]`,
        reason: `imdsv2AutoUndo: the hourly check's rollback enters each member account through the IMDSv2 undo role of that name (the role StackSet deploys it beside the spoke role); accounts join the OUs after deploy. Its trust admits only this role's ARN${organizationId ? ', and aws:ResourceOrgID keeps the hub inside the organization' : ''}.`,
      });
    }
    acknowledge(this.runFunction, {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'organizations:ListAccountsForParent is read-only; its OU resources live in the management account under an organization id the hub does not know at synth time.',
    });
  }

  private createSchedules(guard: TimeSyncGuardProps, timeZone: TimeZone, remediationEnabled: boolean, checkInterval: Duration): { check: Schedule; remediation?: Schedule } {
    const deadLetterQueue = scheduleDeadLetterQueue(this, 'ScheduleDeadLetterQueue', 'This queue is itself the dead-letter queue of the two schedule targets; its messages are alarmed on through the heartbeats, not reprocessed.');
    const role = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': this.account } } }),
      description: 'timesync-guard: EventBridge Scheduler starts the organization check and remediation',
    });
    const start = (mode: 'check' | 'remediate', maxEventAge: Duration) =>
      new StepFunctionsStartExecution(this.orchestration.stateMachine, {
        role,
        deadLetterQueue,
        retryAttempts: 3,
        maxEventAge,
        input: ScheduleTargetInput.fromObject({ mode }),
      });
    const check = new Schedule(this, 'CheckSchedule', {
      description: 'timesync-guard: organization check',
      schedule: ScheduleExpression.expression(guard.checkSchedule ?? DEFAULT_CHECK_SCHEDULE, timeZone),
      target: start('check', checkInterval.toSeconds() > 86400 ? Duration.days(1) : checkInterval),
    });
    const remediation = remediationEnabled
      ? new Schedule(this, 'RemediationSchedule', {
          description: 'timesync-guard: organization remediation',
          schedule: ScheduleExpression.expression(guard.remediationSchedule ?? DEFAULT_REMEDIATION_SCHEDULE, timeZone),
          target: start('remediate', Duration.hours(1)),
        })
      : undefined;
    return { check, remediation };
  }
}


/** Context keys of the organization mode (`-c organization=true` and the keys below). */
export const ORG_CONTEXT_KEYS = ['organization', 'organizationalUnits', 'accounts', 'regions', 'spokeRoleName', 'callAs', 'organizationId', 'maxConcurrency'] as const;

/** Default stack name of the organization hub. */
export const DEFAULT_ORG_STACK_NAME = 'TimeSyncGuardOrg';

type Get = (key: string) => unknown;

/** `-c key=a,b` gives a string, cdk.json a list. */
function contextList(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const items = Array.isArray(v) ? v.map(String) : String(v).split(',');
  return items.map((x) => x.trim()).filter((x) => x !== '');
}

/** Whether the app builds the organization hub: `organization` read as every boolean context key is. */
export function organizationMode(get: Get): boolean {
  return contextBoolean('organization', get('organization')) ?? false;
}

/** The organization props from context (validated by the stack, which names the key at fault). */
export function orgPropsFromContext(get: Get): Omit<TimeSyncGuardOrgStackProps, 'guard' | 'alarmTopicArn'> {
  const str = (k: string): string | undefined => {
    const v = get(k);
    return v === undefined || v === null ? undefined : String(v).trim();
  };
  const concurrency = str('maxConcurrency');
  return {
    organizationalUnits: contextList(get('organizationalUnits')),
    accounts: contextList(get('accounts')),
    regions: contextList(get('regions')),
    spokeRoleName: str('spokeRoleName'),
    callAs: str('callAs') as StackSetCallAs | undefined,
    organizationId: str('organizationId'),
    maxConcurrency: concurrency === undefined ? undefined : Number(concurrency),
  };
}
