import { ArnFormat, type Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Effect, ManagedPolicy, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { COVERAGE_METRICS, DHMC_SETTING_ID } from '../../lambda/core/fleet/coverage';
import { CREDENTIAL_METRICS } from '../../lambda/core/imdsv2/credential-delivery';
import type { GuardFunction } from './guard-function';

/** Object key of the CloudTrail evidence in the check's bucket (lambda/aws/on-demand/cloudtrail.ts). */
const CREDENTIAL_EVIDENCE_KEY = 'imdsv2/cloudtrail-evidence.json';

/** AWS's managed policy for the Default Host Management role. */
export const DHMC_MANAGED_POLICY = 'AmazonSSMManagedEC2InstanceDefaultPolicy';

/** Props of {@link FleetCoverage}. */
export interface FleetCoverageProps {
  /** Gets the read-only coverage grants (it computes the causes every run). */
  readonly checkFunction: GuardFunction;
  /** Gets the CloudTrail grants too (its check before fixing reads the evidence). */
  readonly remediateFunction: GuardFunction;
  /** Fleet metric factory (namespace + `service` dimension), from GuardAlarms. */
  readonly metric: (name: string, statistic: string, period: Duration) => cw.Metric;
  readonly checkInterval: Duration;
  readonly topic: ITopic;
  readonly dashboard: cw.Dashboard;
  /** SsmCoveragePercent alarms below this (0–100). */
  readonly alarmPercent: number;
  /** Create the DHMC role and set the service setting (reset on delete). @default false */
  readonly defaultHostManagement?: boolean;
  /** The `cloudTrail` setting (`off`, an event data store ARN, `log-group:<name>`). @default 'off' */
  readonly cloudTrail?: string;
  /** The check's bucket (the evidence object lives beside the readiness snapshot). @default - none */
  readonly bucket?: IBucket;
}

/**
 * SSM coverage (docs/coverage.md): the check role's read-only lookups for the causes, the
 * SsmCoveragePercent alarm and a dashboard row; with `defaultHostManagement`, the DHMC role and the
 * service setting; with a CloudTrail source, the query grants of both roles.
 */
export class FleetCoverage extends Construct {
  /** Fires when the SSM-managed share of running instances is below the threshold in two checks in a row. */
  public readonly alarm: cw.Alarm;
  /** The Default Host Management role; undefined unless `defaultHostManagement`. */
  public readonly dhmcRole?: Role;

  constructor(scope: Construct, id: string, props: FleetCoverageProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const settingArn = stack.formatArn({ service: 'ssm', resource: 'servicesetting', resourceName: DHMC_SETTING_ID.slice(1), arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    this.grantCoverageReads(props.checkFunction, settingArn);

    const percent = props.metric(COVERAGE_METRICS.percent, cw.Stats.MINIMUM, props.checkInterval);
    this.alarm = new cw.Alarm(this, 'SsmCoverage', {
      metric: percent,
      threshold: props.alarmPercent,
      comparisonOperator: cw.ComparisonOperator.LESS_THAN_THRESHOLD,
      // Silence is the heartbeat's business; a fleet with no running instance publishes nothing.
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      alarmDescription: `timesync-guard: fewer than ${props.alarmPercent}% of the running instances are SSM managed (two checks in a row): see the causes in docs/coverage.md`,
    });
    const action = new SnsAction(props.topic);
    this.alarm.addAlarmAction(action);
    this.alarm.addOkAction(action);

    const trail = (props.cloudTrail ?? 'off') !== 'off';
    props.dashboard.addWidgets(
      new cw.GraphWidget({ title: 'SSM coverage (% of running instances managed)', left: [percent], leftYAxis: { min: 0, max: 100 }, width: 12, height: 6 }),
      new cw.GraphWidget({
        title: trail ? 'CloudTrail: IMDSv1 credentials, confirmed clock impact' : 'SSM coverage alarm',
        left: trail ? [props.metric(CREDENTIAL_METRICS.imdsv1Credentials, cw.Stats.MAXIMUM, props.checkInterval), props.metric(CREDENTIAL_METRICS.confirmedImpact, cw.Stats.MAXIMUM, props.checkInterval)] : [percent],
        leftAnnotations: trail ? [] : [{ value: props.alarmPercent, label: 'alarm below' }],
        width: 12,
        height: 6,
      }),
    );

    if (props.defaultHostManagement) this.dhmcRole = this.createDhmc(settingArn);
    if (trail) this.grantCloudTrail([props.checkFunction, props.remediateFunction], props);
  }

  /** The coverage lookups: none has a resource type but the setting, the profiles and the roles. */
  private grantCoverageReads(fn: GuardFunction, settingArn: string): void {
    const stack = Stack.of(this);
    const policy = new Policy(this, 'CoveragePolicy', {
      roles: [fn.role],
      statements: [
        new PolicyStatement({ sid: 'CoverageNetwork', actions: ['ec2:DescribeRouteTables', 'ec2:DescribeVpcEndpoints'], resources: ['*'] }),
        new PolicyStatement({ sid: 'CoverageDhmcSetting', actions: ['ssm:GetServiceSetting'], resources: [settingArn] }),
        new PolicyStatement({
          sid: 'CoverageProfiles',
          actions: ['iam:GetInstanceProfile'],
          resources: [stack.formatArn({ service: 'iam', region: '', resource: 'instance-profile', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
        }),
        new PolicyStatement({
          sid: 'CoverageRoleSimulation',
          actions: ['iam:SimulatePrincipalPolicy'],
          resources: [stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
        }),
      ],
    });
    acknowledge(policy, [
      ['AwsSolutions-IAM5[Resource::*]', 'ec2:DescribeRouteTables and ec2:DescribeVpcEndpoints support no resource-level permissions; they read the route to the SSM endpoints of unmanaged instances.'],
      [
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:instance-profile/*]',
        'iam:GetInstanceProfile on the account\'s instance profiles: any unmanaged instance may carry any profile; the call only reads which role the profile holds.',
      ],
      [
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*]',
        'iam:SimulatePrincipalPolicy on the account\'s roles: any profile may hold any role; the simulation reads whether it allows the three SSM Agent actions and changes nothing.',
      ],
    ]);
  }

  /**
   * The DHMC role (AWS's managed policy, trusted by ssm.amazonaws.com) and the service setting,
   * written by an AwsCustomResource whose role may do nothing but get, update and reset that one
   * setting and pass that one role to SSM. Delete resets the setting (undo).
   */
  private createDhmc(settingArn: string): Role {
    const role = new Role(this, 'DhmcRole', {
      assumedBy: new ServicePrincipal('ssm.amazonaws.com'),
      description: 'timesync-guard: Default Host Management Configuration role (SSM manages instances without an instance profile)',
      managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName(DHMC_MANAGED_POLICY)],
    });
    acknowledge(role, [['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedEC2InstanceDefaultPolicy]', 'AWS\'s managed policy made for the Default Host Management role (SSM documentation); AWS keeps it to what SSM Agent needs.']]);
    const call = (action: 'updateServiceSetting' | 'resetServiceSetting', parameters: Record<string, string>) => ({
      service: 'SSM',
      action,
      parameters,
      physicalResourceId: PhysicalResourceId.of(DHMC_SETTING_ID),
    });
    // The provider's own role and log group, so that its whole grant is the statements below (the
    // default role carries AWSLambdaBasicExecutionRole: logs on every group of the account).
    const logGroup = new LogGroup(this, 'DhmcSettingLogs', { retention: RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY });
    const providerRole = new Role(this, 'DhmcSettingRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'timesync-guard: sets and resets the Default Host Management setting (one setting, one role to pass)',
    });
    providerRole.addToPrincipalPolicy(new PolicyStatement({ sid: 'OwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    const setting = new AwsCustomResource(this, 'DhmcSetting', {
      role: providerRole,
      logGroup,
      onCreate: call('updateServiceSetting', { SettingId: DHMC_SETTING_ID, SettingValue: role.roleName }),
      onUpdate: call('updateServiceSetting', { SettingId: DHMC_SETTING_ID, SettingValue: role.roleName }),
      onDelete: call('resetServiceSetting', { SettingId: DHMC_SETTING_ID }),
      installLatestAwsSdk: false,
      policy: AwsCustomResourcePolicy.fromStatements(dhmcStatements(settingArn, role.roleArn)),
    });
    setting.node.addDependency(role);
    return role;
  }

  private grantCloudTrail(fns: readonly GuardFunction[], props: FleetCoverageProps): void {
    const stack = Stack.of(this);
    const statements: PolicyStatement[] = [];
    const setting = props.cloudTrail ?? 'off';
    const eds = setting.startsWith('arn:') ? setting : undefined;
    const group = setting.startsWith('log-group:') ? setting.slice('log-group:'.length) : undefined;
    if (eds) statements.push(new PolicyStatement({ sid: 'QueryCloudTrailLake', actions: ['cloudtrail:StartQuery', 'cloudtrail:GetQueryResults'], resources: [eds] }));
    if (group) {
      statements.push(
        new PolicyStatement({
          sid: 'QueryTrailLogGroup',
          actions: ['logs:StartQuery'],
          resources: [stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: `${group}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
        }),
        new PolicyStatement({ sid: 'ReadTrailQueryResults', actions: ['logs:GetQueryResults'], resources: ['*'] }),
      );
    }
    if (props.bucket) statements.push(new PolicyStatement({ sid: 'CloudTrailEvidence', actions: ['s3:GetObject', 's3:PutObject'], resources: [props.bucket.arnForObjects(CREDENTIAL_EVIDENCE_KEY)] }));
    fns.forEach((fn, k) => {
      const policy = new Policy(this, `CloudTrailPolicy${k}`, { roles: [fn.role], statements });
      const acks: [string, string][] = [];
      if (group) {
        acks.push(['AwsSolutions-IAM5[Resource::*]', 'logs:GetQueryResults supports no resource-level permissions; it reads the results of the query this role started on the trail\'s log group.']);
        acks.push([`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:${group}:*]`, 'logs:StartQuery on the one log group the trail delivers to (its log streams are the :* suffix).']);
      }
      acknowledge(policy, acks);
    });
  }
}

/**
 * The DHMC custom resource's whole grant: get / update / reset the one setting, and pass the one
 * role, only to SSM. Exported for the IAM test.
 */
export function dhmcStatements(settingArn: string, roleArn: string): PolicyStatement[] {
  return [
    new PolicyStatement({ sid: 'DhmcSetting', effect: Effect.ALLOW, actions: ['ssm:GetServiceSetting', 'ssm:UpdateServiceSetting', 'ssm:ResetServiceSetting'], resources: [settingArn] }),
    new PolicyStatement({ sid: 'PassDhmcRoleToSsm', effect: Effect.ALLOW, actions: ['iam:PassRole'], resources: [roleArn], conditions: { StringEquals: { 'iam:PassedToService': 'ssm.amazonaws.com' } } }),
  ];
}

function acknowledge(scope: Construct, acks: readonly [string, string][]): void {
  if (acks.length === 0) return;
  Validations.of(scope).acknowledge(...acks.map(([id, reason]) => ({ id, reason })));
}
