import { URGENT_STATE_MACHINE_ENV } from '../../lambda/core/fleet/urgent';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, TimeZone } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CHECK_METRICS, METRIC_DIMENSIONS, REMEDIATION_METRICS } from '../../lambda/core/fleet/metric-names';
import { DEFAULTS, ENV, parseCheckSettings, parseSettings, reaches, rows } from '../../lambda/core/settings';
import type { TimeSyncGuardStack } from '../../lib/time-sync-guard-stack';
import { actions, flat, guardTemplate, logicalId, policyStatements, type Statement, stackTemplate, statementsFor } from './util';

describe('TimeSyncGuardStack with defaults', () => {
  let template: Template;
  /** The construct's alarm list (GuardAlarmSet): counts are derived from it, never typed. */
  let alarmList: readonly unknown[];
  beforeAll(() => {
    let stack: TimeSyncGuardStack;
    ({ template, stack } = stackTemplate({ guard: { alarmEmails: ['ops@example.com', 'oncall@example.org'] } }));
    alarmList = Object.values(stack.guard.alarms).filter((a) => a !== undefined);
  });

  describe('schedules', () => {
    it('checks hourly in UTC with retries and a dead-letter queue', () => {
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'rate(1 hour)',
        ScheduleExpressionTimezone: 'Etc/UTC',
        State: 'ENABLED',
        Target: {
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GuardCheckHandler'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GuardScheduleDeadLetterQueue'), 'Arn'] } },
        },
      });
    });

    it('starts the remediation state machine nightly at 02:00 with retries and the dead-letter queue', () => {
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'cron(0 2 * * ? *)',
        ScheduleExpressionTimezone: 'Etc/UTC',
        Target: {
          Arn: { Ref: Match.stringLikeRegexp('^GuardRemediation') },
          Input: '{}',
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GuardScheduleDeadLetterQueue'), 'Arn'] } },
        },
      });
    });

    it('encrypts the dead-letter queue and refuses plain HTTP to it', () => {
      template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });
  });

  describe('Lambda functions', () => {
    it('runs both on arm64 Node.js 24 with 512 MB, no reserved concurrency by default and 15-minute timeouts', () => {
      const fns = template.findResources('AWS::Lambda::Function');
      expect(Object.keys(fns)).toHaveLength(2);
      for (const fn of Object.values(fns)) {
        expect(fn.Properties).toMatchObject({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          MemorySize: 512,
          Timeout: 900,
          Handler: 'index.handler',
        });
        expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
        expect(fn.Properties.Environment.Variables).toMatchObject({
          POWERTOOLS_SERVICE_NAME: 'timesync-guard',
          POWERTOOLS_METRICS_NAMESPACE: 'TimeSyncGuard',
        });
      }
    });

    it('gives each function its own log group, kept for a year (CT.CLOUDWATCH.PR.2), encrypted with the guard key and retained when the stack is deleted', () => {
      template.resourcePropertiesCountIs('AWS::Logs::LogGroup', {}, 3);
      for (const prefix of ['GuardCheckHandlerLogs', 'GuardRemediateHandlerLogs']) {
        expect(template.toJSON().Resources[logicalId(template, 'AWS::Logs::LogGroup', prefix)].DeletionPolicy).toBe('Retain');
      }
      template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [logicalId(template, 'AWS::KMS::Key', 'GuardTopicKey'), 'Arn'] } }, 3);
      for (const prefix of ['GuardCheckHandler', 'GuardRemediateHandler']) {
        const fnId = logicalId(template, 'AWS::Lambda::Function', `${prefix}`);
        const fn = template.toJSON().Resources[fnId];
        expect(fn.Properties.LoggingConfig.LogGroup).toEqual({ Ref: logicalId(template, 'AWS::Logs::LogGroup', `${prefix}Logs`) });
      }
    });

    it("names in the README's Uninstall every resource cdk destroy leaves behind", () => {
      const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
      const uninstall = readme.slice(readme.indexOf('## Uninstall'), readme.indexOf('## Monthly cost'));
      const words: Record<string, RegExp> = { 'AWS::Logs::LogGroup': /function log groups/, 'AWS::KMS::Key': /KMS key/, 'AWS::S3::Bucket': /bucket/ };
      const retained = Object.values(template.toJSON().Resources as Record<string, { Type: string; DeletionPolicy?: string }>).filter((r) => r.DeletionPolicy === 'Retain');
      expect(retained.length).toBeGreaterThan(0);
      for (const r of retained) expect({ type: r.Type, said: words[r.Type]?.test(uninstall) ?? false }).toEqual({ type: r.Type, said: true });
    });

    it('passes every setting as an environment variable the Lambda parser accepts', () => {
      const fnId = logicalId(template, 'AWS::Lambda::Function', 'GuardRemediateHandler');
      const env = template.toJSON().Resources[fnId].Properties.Environment.Variables as Record<string, unknown>;
      for (const key of rows().filter((r) => reaches(r, 'remediation')).map((r) => r.env!)) expect(env).toHaveProperty([key]);
      expect(env[ENV.collectorDocument]).toEqual({ Ref: logicalId(template, 'AWS::SSM::Document', 'GuardDocumentsCollector') });
      expect(env[ENV.remediationDocument]).toEqual({ Ref: logicalId(template, 'AWS::SSM::Document', 'GuardDocumentsRemediation') });
      expect(env[ENV.topicArn]).toEqual({ Ref: logicalId(template, 'AWS::SNS::Topic', 'GuardTopic') });
      const literal = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v === 'string' ? v : 'from-token']));
      const settings = parseSettings(literal);
      expect(settings).toMatchObject({
        metricNamespace: DEFAULTS.metricNamespace,
        optOutTagKey: DEFAULTS.optOutTagKey,
        dryRun: false,
        hopLimitTarget: 2,
        hopLimitScope: 'containers',
        maxChangesPerRun: 10000,
        maxChangesPercent: 100,
        eventSource: DEFAULTS.eventSource,
      });
    });

    it('gives the check function exactly the check settings, by the schema', () => {
      const fnId = logicalId(template, 'AWS::Lambda::Function', 'GuardCheckHandler');
      const env = template.toJSON().Resources[fnId].Properties.Environment.Variables as Record<string, unknown>;
      const tsg = Object.keys(env).filter((k) => k.startsWith('TSG_')).sort();
      // And the remediation state machine it starts for urgent hosts (the urgent path is live by default).
      expect(tsg).toEqual([...rows().filter((r) => reaches(r, 'check')).map((r) => r.env), URGENT_STATE_MACHINE_ENV].sort());
      expect(env).not.toHaveProperty([ENV.dryRun]);
      expect(env).not.toHaveProperty([ENV.remediationMaxErrors]);
      // The check judges HopLimitTooLowForContainers against the same target the remediation raises to.
      expect(env).toMatchObject({ [ENV.hopLimitTarget]: '2', [ENV.hopLimitScope]: 'containers' });
      const literal = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v === 'string' ? v : 'from-token']));
      expect(() => parseCheckSettings(literal)).not.toThrow();
    });

    it('gives the remediate function every setting that has a variable', () => {
      const fnId = logicalId(template, 'AWS::Lambda::Function', 'GuardRemediateHandler');
      const env = template.toJSON().Resources[fnId].Properties.Environment.Variables as Record<string, unknown>;
      expect(Object.keys(env).filter((k) => k.startsWith('TSG_')).sort()).toEqual(rows().filter((r) => reaches(r, 'remediation')).map((r) => r.env).sort());
    });

    it('does not retry a failed asynchronous check and drops one older than the interval', () => {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId(template, 'AWS::Lambda::Function', 'GuardCheckHandler') },
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: 3600,
      });
      template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    });

    it('uses roles without managed policies', () => {
      for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      }
    });
  });

  describe('IAM', () => {
    const instanceArn = 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*';

    it('lets the check function send only the collector document, and only to instances', () => {
      const st = policyStatements(template, 'GuardCheckHandlerRoleDefaultPolicy');
      const send = statementsFor(st, 'ssm:SendCommand');
      expect(send).toHaveLength(1);
      const resources = (send[0].Resource as unknown[]).map(flat);
      expect(resources).toEqual([
        `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:document/\${${logicalId(template, 'AWS::SSM::Document', 'GuardDocumentsCollector')}}`,
        instanceArn,
      ]);
      expect(st.flatMap(actions)).not.toContain('ec2:ModifyInstanceMetadataOptions');
      expect(st.flatMap(actions)).not.toContain('cloudwatch:PutMetricData');
    });

    it('keeps wildcard resources to the actions that support no resource-level permissions', () => {
      for (const prefix of ['GuardCheckHandlerRoleDefaultPolicy', 'GuardRemediateHandlerRoleDefaultPolicy']) {
        const star = policyStatements(template, prefix).filter((s) => s.Resource === '*');
        expect(star.flatMap(actions).sort()).toEqual(
          // ec2:GetInstanceMetadataDefaults is account level (no resource type); ModifyInstanceMetadataDefaults only with accountDefaults=set.
          // The launch sources' reads (launchTemplates report, the default) support none either.
          ['ec2:DescribeInstances', 'ec2:GetInstanceMetadataDefaults', 'ssm:CancelCommand', 'ssm:DescribeInstanceInformation', 'ssm:GetCommandInvocation', 'ssm:ListCommandInvocations', 'ssm:ListCommands', 'autoscaling:DescribeAutoScalingGroups', 'ec2:DescribeLaunchTemplates', 'ec2:DescribeLaunchTemplateVersions', 'ec2:DescribeImages'].sort(),
        );
      }
    });

    it('writes logs only to the function\'s own log group', () => {
      const st = policyStatements(template, 'GuardCheckHandlerRoleDefaultPolicy');
      const logs = st.filter((s) => actions(s).some((a) => a.startsWith('logs:')));
      expect(logs).toHaveLength(1);
      expect(logs[0].Resource).toEqual({ 'Fn::GetAtt': [logicalId(template, 'AWS::Logs::LogGroup', 'GuardCheckHandlerLogs'), 'Arn'] });
    });

    it('lets the remediate function send the collector and both remediation documents (Linux, Windows) to instances, denying opted-out instances', () => {
      const st = policyStatements(template, 'GuardRemediateHandlerRoleDefaultPolicy');
      const send = statementsFor(st, 'ssm:SendCommand');
      expect((send[0].Resource as unknown[]).map(flat)).toEqual([
        expect.stringMatching(/:document\/\$\{GuardDocumentsCollector/),
        expect.stringMatching(/:document\/\$\{GuardDocumentsRemediation/),
        expect.stringMatching(/:document\/\$\{GuardDocumentsWindowsRemediation/),
        instanceArn,
      ]);
      const deny = statementsFor(st, 'ssm:SendCommand', 'Deny');
      expect(deny).toHaveLength(1);
      expect(flat(deny[0].Resource)).toBe(instanceArn);
      expect(deny[0].Condition).toEqual({
        Null: { 'ssm:resourceTag/timesync-guard:opt-out': 'false' },
        StringNotEqualsIgnoreCase: { 'ssm:resourceTag/timesync-guard:opt-out': 'false' },
      });
    });

    it('allows ModifyInstanceMetadataOptions on instances only under conditions and denies it when the opt-out tag is present and not false', () => {
      const st = policyStatements(template, 'GuardRemediateHandlerRoleDefaultPolicy');
      const allow = statementsFor(st, 'ec2:ModifyInstanceMetadataOptions');
      expect(allow).toHaveLength(1);
      expect(actions(allow[0])).toEqual(['ec2:ModifyInstanceMetadataOptions']);
      expect(flat(allow[0].Resource)).toBe(instanceArn);
      expect(allow[0].Condition).toBeDefined();
      const deny = statementsFor(st, 'ec2:ModifyInstanceMetadataOptions', 'Deny');
      expect(deny.map((d) => d.Sid)).toEqual(['NeverDisableMetadataEndpoint', 'NeverMakeTokensOptional', 'NeverLowerHopLimit', 'NeverModifyOptedOutInstances']);
      for (const d of deny) expect(flat(d.Resource)).toBe(instanceArn);
      expect(deny[3].Condition).toEqual({
        Null: { 'aws:ResourceTag/timesync-guard:opt-out': 'false' },
        StringNotEqualsIgnoreCase: { 'aws:ResourceTag/timesync-guard:opt-out': 'false' },
      });
    });

    it('lets the remediate function put events only on the default bus with its own source', () => {
      const st = policyStatements(template, 'GuardRemediateHandlerRoleDefaultPolicy');
      const put = statementsFor(st, 'events:PutEvents');
      expect(put).toHaveLength(1);
      expect(flat(put[0].Resource)).toBe('arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default');
      expect(put[0].Condition).toEqual({ 'ForAllValues:StringEquals': { 'events:source': ['timesync-guard'] }, Null: { 'events:source': 'false' } });
    });

    it('lets the remediate function publish to the topic and use only its key', () => {
      const st = policyStatements(template, 'GuardRemediateHandlerRoleDefaultPolicy');
      expect(statementsFor(st, 'sns:Publish')[0].Resource).toEqual({ Ref: logicalId(template, 'AWS::SNS::Topic', 'GuardTopic') });
      const kms = statementsFor(st, 'kms:GenerateDataKey');
      expect(kms).toHaveLength(1);
      expect(actions(kms[0]).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
      expect(kms[0].Resource).toEqual({ 'Fn::GetAtt': [logicalId(template, 'AWS::KMS::Key', 'GuardTopicKey'), 'Arn'] });
      expect(st.flatMap(actions)).not.toContain('kms:GenerateDataKey*');
    });

    it('lets the state machine list executions of itself only and invoke only the remediate function', () => {
      const st = policyStatements(template, 'GuardRemediationRoleDefaultPolicy');
      const list = statementsFor(st, 'states:ListExecutions');
      expect(list).toHaveLength(1);
      const name = template.findResources('AWS::StepFunctions::StateMachine');
      const smName = Object.values(name)[0].Properties.StateMachineName as string;
      expect(flat(list[0].Resource)).toBe(`arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:${smName}`);
      const invoke = statementsFor(st, 'lambda:InvokeFunction');
      expect(flat(invoke[0].Resource)).toMatch(/^\$\{GuardRemediateHandler[0-9A-F]+\.Arn\}\|\$\{GuardRemediateHandler[0-9A-F]+\.Arn\}:\*$/);
    });

    it('lets the scheduler invoke the check, start the state machine and write the dead-letter queue, nothing else', () => {
      const st = policyStatements(template, 'GuardSchedulerRoleDefaultPolicy');
      expect(st.flatMap(actions).sort()).toEqual(['lambda:InvokeFunction', 'sqs:SendMessage', 'states:StartExecution']);
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } })],
        },
      });
    });
  });

  describe('alarm topic', () => {
    it("encrypts the topic with a rotating customer-managed key that only this account's alarms and log groups may use as a service, and no one for a grant but for AWS resources", () => {
      template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GuardTopicKey'), 'Arn'] } });
      const [key] = Object.values(template.findResources('AWS::KMS::Key'));
      expect(key.Properties.EnableKeyRotation).toBe(true);
      const services = (key.Properties.KeyPolicy.Statement as Statement[]).filter((x) => x.Principal?.Service);
      expect(services).toEqual([
        expect.objectContaining({
          Sid: 'AllowCloudWatchLogsForThisAccountsLogGroups',
          Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
          Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': expect.anything() } },
        }),
        expect.objectContaining({
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
          Condition: {
            ArnLike: { 'aws:SourceArn': expect.anything() },
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          },
        }),
      ]);
      expect(flat(services[0].Condition!.ArnLike['kms:EncryptionContext:aws:logs:arn'])).toBe('arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*');
      expect(flat(services[1].Condition!.ArnLike['aws:SourceArn'])).toBe('arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*');
      // CT.KMS.PR.3.
      expect((key.Properties.KeyPolicy.Statement as Statement[]).filter((x) => x.Effect === 'Deny')).toEqual([
        { Sid: 'DenyGrantsExceptForAwsServices', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:CreateGrant', Resource: '*', Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } } },
      ]);
    });

    it('denies non-TLS publishing and allows this account\'s alarms', () => {
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish' }),
          ]),
        },
      });
    });

    it('subscribes every configured e-mail address', () => {
      template.resourceCountIs('AWS::SNS::Subscription', 2);
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.org' });
    });
  });

  describe('alarms', () => {
    type Alarm = { Properties: Record<string, unknown> };
    const byMetric = (name: string): Alarm => {
      const found = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) => a.Properties.MetricName === name);
      expect(found).toHaveLength(1);
      return found[0] as Alarm;
    };

    it.each([
      CHECK_METRICS.notOnAmazonTimeSync,
      CHECK_METRICS.notSynchronized,
      CHECK_METRICS.clockErrorBoundOverThreshold,
      CHECK_METRICS.hopLimitTooLowForContainers,
      CHECK_METRICS.metadataEndpointDisabled,
      CHECK_METRICS.instancesNotChecked,
    ])('alarms on %s > 0 per check interval, missing data not breaching', (name) => {
      expect(byMetric(name).Properties).toMatchObject({
        Namespace: 'TimeSyncGuard',
        Dimensions: [{ Name: 'service', Value: METRIC_DIMENSIONS.service }],
        Statistic: 'Maximum',
        Period: 3600,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        // One slow run (stragglers cut off) must not page: InstancesNotChecked needs two checks in a row.
        EvaluationPeriods: name === CHECK_METRICS.instancesNotChecked ? 2 : 1,
        DatapointsToAlarm: name === CHECK_METRICS.instancesNotChecked ? 2 : 1,
      });
    });

    it('breaches the check heartbeat when no run completed in two check intervals', () => {
      expect(byMetric(CHECK_METRICS.instancesSeen).Properties).toMatchObject({
        Statistic: 'SampleCount',
        Period: 7200,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
    });

    it('breaches the remediation heartbeat when no run completed in a day', () => {
      expect(byMetric(REMEDIATION_METRICS.remediationCompleted).Properties).toMatchObject({
        Statistic: 'Sum',
        Period: 86400,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
    });

    it.each([
      ['Errors', 'AWS/Lambda'],
      ['ExecutionsFailed', 'AWS/States'],
    ])('alarms on %s >= 1', (name, namespace) => {
      const found = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) => a.Properties.MetricName === name);
      expect(found.length).toBeGreaterThanOrEqual(1);
      for (const a of found) {
        expect(a.Properties).toMatchObject({ Namespace: namespace, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
      }
    });

    it('alarms on failed remediation executions with a single metric (one alarm-metric of cost)', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        MetricName: 'ExecutionsFailed',
        Namespace: 'AWS/States',
      });
      for (const a of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
        expect(a.Properties.Metrics).toBeUndefined();
      }
    });

    it('sends every alarm and its recovery to the topic', () => {
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
      // Findings/not-checked, heartbeats, check errors, failed executions, IMDSv2 rollback and rejection, urgent repeat: every alarm of the list, and only those.
      expect(alarms).toHaveLength(alarmList.length);
      expect(alarmList.length).toBeGreaterThan(0);
      const topic = { Ref: logicalId(template, 'AWS::SNS::Topic', 'GuardTopic') };
      for (const a of alarms) {
        expect(a.Properties.AlarmActions).toEqual([topic]);
        expect(a.Properties.OKActions).toEqual([topic]);
      }
    });
  });

  describe('remediation state machine', () => {
    type Asl = { StartAt: string; TimeoutSeconds: number; States: Record<string, Record<string, unknown>> };
    let asl: Asl;
    beforeAll(() => {
      const sm = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0];
      // Replace the tokens by placeholders so the definition parses as JSON.
      const def = flat(sm.Properties.DefinitionString);
      asl = JSON.parse(def) as Asl;
    });

    it('is a standard workflow with ALL logging to its own group and X-Ray tracing', () => {
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineType: 'STANDARD',
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: {
          Level: 'ALL',
          IncludeExecutionData: true,
          Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GuardRemediationLogs'), 'Arn'] } } }],
        },
      });
      expect(asl.TimeoutSeconds).toBe(23 * 3600);
      template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: Match.stringLikeRegexp('^/aws/vendedlogs/states/Test-Guard-Remediation-') });
    });

    it('first lists its own RUNNING executions and skips the run when another one is going', () => {
      // StartAt: an urgent request (capSpent present), a launch request (instanceIds present) or a scheduled run; all then reach the guard.
      const start = asl.States[asl.StartAt] as { Choices: Array<Record<string, unknown>>; Default: string };
      expect(start.Choices[0]).toMatchObject({ Variable: '$.capSpent', IsPresent: true, Next: 'UrgentHasIds' });
      expect(start.Choices[1]).toMatchObject({ Variable: '$.instanceIds', IsPresent: true, Next: 'InitLaunch' });
      expect(asl.States.InitUrgent!.Next).toBe(asl.States[start.Default]!.Next);
      expect(asl.States.InitLaunch!.Next).toBe(asl.States[start.Default]!.Next);
      const first = asl.States[asl.States[start.Default].Next as string];
      expect(first.Resource).toBe('arn:${AWS::Partition}:states:::aws-sdk:sfn:listExecutions');
      expect(first.Parameters).toEqual({ 'StateMachineArn.$': '$$.StateMachine.Id', StatusFilter: 'RUNNING', MaxResults: 2 });
      const guard = asl.States[first.Next as string] as { Choices: Array<Record<string, unknown>>; Default: string };
      expect(guard.Choices[0]).toMatchObject({ Variable: '$.guard.running', NumericGreaterThan: 1 });
      expect(asl.States[guard.Choices[0].Next as string].Parameters).toMatchObject({ skipped: 'overlap' });
      expect(guard.Default).toBe('Remediate');
    });

    it('loops the remediate Lambda on its continuation until done, failing after 60 invocations', () => {
      const invoke = asl.States.Remediate;
      expect(invoke.Resource).toBe('arn:${AWS::Partition}:states:::lambda:invoke');
      expect(invoke.Parameters).toMatchObject({ 'Payload.$': '$.request' });
      expect(JSON.stringify(invoke.Retry)).toContain('Lambda.ServiceException');
      const isDone = asl.States[invoke.Next as string] as { Choices: Array<Record<string, unknown>>; Default: string };
      expect(isDone.Choices[0]).toMatchObject({ Variable: '$.result.response.done', BooleanEquals: true });
      expect(asl.States[isDone.Choices[0].Next as string].Type).toBe('Succeed');
      expect(isDone.Choices[1]).toMatchObject({ Variable: '$.iteration', NumericGreaterThanEquals: 59 });
      expect(asl.States[isDone.Choices[1].Next as string].Type).toBe('Fail');
      const next = asl.States[isDone.Default];
      expect(next.Parameters).toEqual({ 'iteration.$': 'States.MathAdd($.iteration, 1)', request: { 'continuation.$': '$.result.response.continuation' } });
      expect(next.Next).toBe('Remediate');
    });
  });

  it('builds a dashboard with an alarm status widget and the clock error bound p99', () => {
    const body = flat(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);
    expect(body).toContain('"type":"alarm"');
    expect(body).toContain('"stat":"p99"');
    expect(body).toContain(CHECK_METRICS.clockErrorBoundSeconds);
  });
});

describe('TimeSyncGuard configured', () => {
  it('uses the configured schedules and time zone for both schedules', () => {
    const { template } = guardTemplate({
      checkSchedule: 'rate(30 minutes)',
      remediationSchedule: 'cron(30 1 ? * SUN *)',
      timeZone: TimeZone.EUROPE_BERLIN,
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(30 minutes)', ScheduleExpressionTimezone: 'Europe/Berlin' });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(30 1 ? * SUN *)', ScheduleExpressionTimezone: 'Europe/Berlin' });
    // Alarm periods follow the interval; the heartbeat covers two.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: CHECK_METRICS.notSynchronized, Period: 1800 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: CHECK_METRICS.instancesSeen, Period: 3600 });
  });

  it('sizes alarms from checkInterval when the check schedule is a cron expression', () => {
    const { template } = guardTemplate({ checkSchedule: 'cron(0 */6 * * ? *)', checkInterval: Duration.hours(6) });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: CHECK_METRICS.instancesSeen, Period: 43200 });
  });

  it('deploys without the remediation schedule and heartbeat when remediation is disabled', () => {
    const { template, guard } = guardTemplate({ remediationEnabled: false });
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    expect(guard.remediationSchedule).toBeUndefined();
    expect(guard.alarms.remediationHeartbeat).toBeUndefined();
    expect(Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.MetricName)).not.toContain(REMEDIATION_METRICS.remediationCompleted);
  });

  it('passes dry run, hop-limit and cap settings to the remediate function, and leaves the document\'s DryRun default fixed', () => {
    const { template } = guardTemplate({ dryRun: true, hopLimitTarget: 3, hopLimitScope: 'all', maxChangesPerRun: 10, maxChangesPercent: 5, optOutTagKey: 'NoTouch', eventSource: 'acme.timesync' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.dryRun]: 'true',
          [ENV.hopLimitTarget]: '3',
          [ENV.hopLimitScope]: 'all',
          [ENV.maxChangesPerRun]: '10',
          [ENV.maxChangesPercent]: '5',
          [ENV.optOutTagKey]: 'NoTouch',
          [ENV.eventSource]: 'acme.timesync',
        }),
      },
    });
    const contents = Object.values(template.findResources('AWS::SSM::Document')).map((d) => JSON.parse(d.Properties.Content as string) as { parameters?: { DryRun?: { default: string } } });
    // The document's DryRun default is fixed (false): the engine always sends it, and a dry run sends no document.
    const remediationDoc = contents.find((c) => c.parameters?.DryRun !== undefined);
    expect(remediationDoc?.parameters?.DryRun?.default).toBe('false');
    const st = policyStatements(template, 'GuardRemediateHandlerRoleDefaultPolicy');
    expect(statementsFor(st, 'ec2:ModifyInstanceMetadataOptions', 'Deny').find((d) => d.Sid === 'NeverModifyOptedOutInstances')?.Condition).toEqual({
      Null: { 'aws:ResourceTag/NoTouch': 'false' },
      StringNotEqualsIgnoreCase: { 'aws:ResourceTag/NoTouch': 'false' },
    });
    expect(statementsFor(st, 'events:PutEvents')[0].Condition).toEqual({ 'ForAllValues:StringEquals': { 'events:source': ['acme.timesync'] }, Null: { 'events:source': 'false' } });
  });

  it('uses a custom namespace for every fleet metric alarm and the configured log retention', () => {
    const { template, guard } = guardTemplate({ metricNamespace: 'Acme/Time', logRetention: RetentionDays.ONE_YEAR, notCheckedThreshold: 5 });
    const custom = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) => a.Properties.Namespace && !String(a.Properties.Namespace).startsWith('AWS/'));
    // Every alarm of the list on a fleet metric (not an AWS/ one), counted from the list.
    const fleet = Object.values(guard.alarms).filter((a) => a !== undefined && !String((a.metric as { namespace?: string }).namespace ?? 'AWS/').startsWith('AWS/'));
    expect(fleet.length).toBeGreaterThan(0);
    expect(custom.length).toBe(fleet.length);
    for (const a of custom) expect(a.Properties.Namespace).toBe('Acme/Time');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: CHECK_METRICS.instancesNotChecked, Threshold: 5 });
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 365 }, 3);
  });

  it('uses an existing topic instead of creating one', () => {
    const { template } = stackTemplate({ alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops-alarms' });
    template.resourceCountIs('AWS::SNS::Topic', 0);
    // The guard's key still encrypts the log groups.
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:ops-alarms'] });
  });
});

describe('continuation key', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = stackTemplate());
  });

  it('generates one secret (64 characters, no punctuation) for the continuation MAC (the other one signs IMDSv2 records)', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    const secret = logicalId(template, 'AWS::SecretsManager::Secret', 'GuardContinuationKey');
    expect(template.toJSON().Resources[secret].Properties.GenerateSecretString).toEqual({ PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false });
  });

  it('passes its ARN to the remediate function only', () => {
    const secret = logicalId(template, 'AWS::SecretsManager::Secret', 'GuardContinuationKey');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'timesync-guard nightly remediation step',
      Environment: { Variables: Match.objectLike({ [ENV.continuationKeySecret]: { Ref: secret } }) },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'timesync-guard hourly fleet check',
      Environment: { Variables: Match.objectLike({ [ENV.continuationKeySecret]: Match.absent() }) },
    });
  });

  it('lets only the remediate role read it: no other policy in the stack names secretsmanager', () => {
    const secret = logicalId(template, 'AWS::SecretsManager::Secret', 'GuardContinuationKey');
    const read = statementsFor(policyStatements(template, 'GuardRemediateHandlerRoleDefaultPolicy'), 'secretsmanager:GetSecretValue');
    expect(read).toEqual([expect.objectContaining({ Resource: { Ref: secret } })]);
    const policies = template.findResources('AWS::IAM::Policy');
    const readers = Object.entries(policies)
      .filter(([, p]) => JSON.stringify(p.Properties.PolicyDocument).includes(`{"Ref":"${secret}"}`))
      .map(([id]) => id);
    expect(readers).toEqual([expect.stringMatching(/^GuardRemediateHandlerRoleDefaultPolicy/)]);
  });
});

describe('IMDSv2 record key (signs the enforcement records: docs/imdsv2.md)', () => {
  const readersOf = (template: Template): string[] => {
    const secret = logicalId(template, 'AWS::SecretsManager::Secret', 'GuardImdsv2RecordKey');
    return Object.entries(template.findResources('AWS::IAM::Policy'))
      .filter(([, p]) => JSON.stringify(p.Properties.PolicyDocument).includes(`{"Ref":"${secret}"}`))
      .map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))
      .sort();
  };

  it('is generated at deploy (64 characters), its ARN given to both functions; in report mode only the check role may read it', () => {
    const { template } = stackTemplate();
    const secret = logicalId(template, 'AWS::SecretsManager::Secret', 'GuardImdsv2RecordKey');
    expect(template.toJSON().Resources[secret].Properties.GenerateSecretString).toEqual({ PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false });
    for (const description of ['timesync-guard nightly remediation step', 'timesync-guard hourly fleet check']) {
      template.hasResourceProperties('AWS::Lambda::Function', { Description: description, Environment: { Variables: Match.objectLike({ [ENV.imdsv2RecordKeySecret]: { Ref: secret } }) } });
    }
    expect(readersOf(template)).toEqual(['GuardCheckHandlerRoleDefaultPolicy']);
  });

  it('in enforce mode the remediate role may read it too (it signs what it switches)', () => {
    const { template } = guardTemplate({ imdsv2: 'enforce' });
    expect(readersOf(template)).toEqual(['GuardCheckHandlerRoleDefaultPolicy', 'GuardRemediateHandlerRoleDefaultPolicy']);
  });

  it('does not exist with imdsv2 off', () => {
    const { template } = guardTemplate({ imdsv2: 'off' });
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
  });
});

describe('the IMDSv2 alarms (docs/imdsv2.md)', () => {
  const metricsOf = (template: Template): unknown[] => Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.MetricName);

  it.each([
    ['report (the default)', {}],
    ['enforce without imdsv2AutoUndo', { imdsv2: 'enforce' as const }],
  ])('%s: alarms on rejected IMDSv1 calls, not on a rollback no role may make (it could never fire)', (_name, props) => {
    const metrics = metricsOf(guardTemplate(props).template);
    expect(metrics).toContain('Imdsv2Rejected');
    expect(metrics).not.toContain('Imdsv2RolledBack');
  });

  it('enforce with imdsv2AutoUndo: alarms on a rollback too', () => {
    const metrics = metricsOf(guardTemplate({ imdsv2: 'enforce', imdsv2AutoUndo: true }).template);
    expect(metrics).toEqual(expect.arrayContaining(['Imdsv2Rejected', 'Imdsv2RolledBack']));
  });

  it('off: neither', () => {
    const metrics = metricsOf(guardTemplate({ imdsv2: 'off' }).template);
    expect(metrics).not.toContain('Imdsv2Rejected');
    expect(metrics).not.toContain('Imdsv2RolledBack');
  });
});
