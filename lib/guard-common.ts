/**
 * What the single-account construct and the organization stack build from one source: the
 * environment of a function from the settings schema, and the least-privilege statements on the
 * fleet (inventory, documents, hop-limit raise, opt-out Denies). The single-account roles get these
 * statements with this account's ARNs; the organization's spoke role gets the very same statements
 * inside its StackSet template, with every member account's ARNs.
 */
import { ArnFormat, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { ENV, propName, reaches, rows, type SettingKey } from '../lambda/core/settings';
import { guardKey } from './constructs/control-tower';
import type { GuardFunction } from './constructs/guard-function';
import type { TimeSyncGuardProps } from './time-sync-guard-props';
import { grantConditions, ruleDenies } from './metadata-options-iam';

/**
 * The environment of one function, from the settings schema: every row that reaches it, valued by
 * the construct (documents, topic), the prop, or the row's default. The check function gets only
 * the check's settings, so it never holds a remediation value it could misread.
 */
export function settingsEnvironment(fn: 'check' | 'remediation' | 'launch', props: TimeSyncGuardProps, fixed: Partial<Record<SettingKey, string>>): Record<string, string> {
  const values = props as Record<string, unknown>;
  const env: Record<string, string> = {};
  for (const row of rows()) {
    if (!reaches(row, fn)) continue;
    const prop = propName(row.key);
    const v = fixed[row.key] ?? (prop === undefined ? undefined : values[prop]) ?? ('default' in row ? row.default : undefined);
    if (v !== undefined) env[row.env!] = String(v);
  }
  return env;
}

/**
 * Read-only fleet inventory, the given documents on the fleet's instances, and never on an
 * opted-out instance: what the check needs (and the remediation, which re-checks before it fixes).
 */
export function checkStatements(instances: string, documentArns: readonly string[], optOutTagKey: string): PolicyStatement[] {
  return [
    new PolicyStatement({
      sid: 'Inventory',
      // None of these supports resource-level permissions (Service Authorization Reference). CancelCommand
      // ends the collector invocations the check cut off as stragglers (lambda/aws/run-command.ts).
      actions: ['ec2:DescribeInstances', 'ssm:DescribeInstanceInformation', 'ssm:ListCommands', 'ssm:ListCommandInvocations', 'ssm:GetCommandInvocation', 'ssm:CancelCommand'],
      resources: ['*'],
    }),
    new PolicyStatement({
      sid: 'RunDocumentsOnInstances',
      actions: ['ssm:SendCommand'],
      resources: [...documentArns, instances],
    }),
    new PolicyStatement({
      sid: 'NeverTouchOptedOutInstances',
      effect: Effect.DENY,
      actions: ['ssm:SendCommand'],
      resources: [instances],
      conditions: optOutConditions(`ssm:resourceTag/${optOutTagKey}`),
    }),
  ];
}

/** The hop-limit raise ({@link imdsStatements}) and the opt-out Deny on it. */
export function remediateInstanceStatements(instances: string, o: { hopLimitTarget: number; enableMetadataEndpoint: boolean; optOutTagKey: string }): PolicyStatement[] {
  return [
    ...imdsStatements(instances, o.hopLimitTarget, o.enableMetadataEndpoint),
    new PolicyStatement({
      sid: 'NeverModifyOptedOutInstances',
      effect: Effect.DENY,
      actions: ['ec2:ModifyInstanceMetadataOptions'],
      resources: [instances],
      conditions: optOutConditions(`aws:ResourceTag/${o.optOutTagKey}`),
    }),
  ];
}

/**
 * The remediate role's IMDS grant, safe even if the code is wrong. On ModifyInstanceMetadataOptions
 * the requested values are in `ec2:Attribute/<Parameter>`, present only when the request sets that
 * parameter (AWS's own "deny opt-out of IMDSv2" example pairs it with a Null guard); the
 * `ec2:MetadataHttp*` keys describe the instance resource and are documented for RunInstances, so
 * they cannot tell a raise from a downgrade here. The code sends only `HttpPutResponseHopLimit`
 * and/or `HttpEndpoint=enabled` (lambda/aws/imds.ts), hence:
 * - Allow: the hop limit, when set, is at least the target (`…IfExists`: an endpoint-only request
 *   omits it); the endpoint only when `enableMetadataEndpoint` (else it must be absent); HttpTokens,
 *   HttpProtocolIpv6 and InstanceMetadataTags never in the request.
 * - Deny (stands even if the Allow is widened later): endpoint `disabled`, tokens `optional`, a hop
 *   limit below the target.
 */
export function imdsStatements(instances: string, hopLimitTarget: number, enableMetadataEndpoint: boolean): PolicyStatement[] {
  const action = 'ec2:ModifyInstanceMetadataOptions';
  // Every condition comes from the metadata-options table (lambda/contracts/metadata-options.ts).
  const allow = new PolicyStatement({
    sid: 'RaiseHopLimitOnly',
    actions: [action],
    resources: [instances],
    conditions: grantConditions('nightly', { hopLimitTarget, settings: { enableMetadataEndpoint } }),
  });
  // On every instance, tagged or not: the IMDSv2 undo (docs/imdsv2.md) is the check role's, opt-in, never this role's.
  const denies = ruleDenies(hopLimitTarget).map(
    ({ sid, conditions }) => new PolicyStatement({ sid, effect: Effect.DENY, actions: [action], resources: [instances], conditions }),
  );
  return [allow, ...denies];
}

/** Tag present and its value anything but `false` (case-insensitive): both conditions in one block, ANDed. */
export function optOutConditions(conditionKey: string): Record<string, Record<string, string>> {
  return {
    Null: { [conditionKey]: 'false' },
    StringNotEqualsIgnoreCase: { [conditionKey]: 'false' },
  };
}

/**
 * Audit events on this region's default bus (every entry with our source) and the run summary on the
 * topic. A topic we created is encrypted with our key: publishing needs exactly two actions on it;
 * an existing topic (alarmTopic) brings its own key policy, which the README says what it must allow.
 */
export function reportStatements(stack: Stack, eventSource: string, topic: ITopic, topicKey: Key | undefined): PolicyStatement[] {
  return [
    new PolicyStatement({
      sid: 'AuditEvents',
      actions: ['events:PutEvents'],
      resources: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default', arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
      // events:source is multi-valued (one value per entry of the PutEvents batch): every entry must
      // carry our source, and the Null guard stops ForAllValues from matching a request without one.
      conditions: { 'ForAllValues:StringEquals': { 'events:source': [eventSource] }, Null: { 'events:source': 'false' } },
    }),
    new PolicyStatement({ sid: 'PublishRunSummary', actions: ['sns:Publish'], resources: [topic.topicArn] }),
    ...(topicKey ? [new PolicyStatement({ sid: 'EncryptRunSummary', actions: [...SNS_PUBLISH_KMS_ACTIONS], resources: [topicKey.keyArn] })] : []),
  ];
}

/** KMS actions a publisher to an SSE-KMS topic needs (Amazon SNS key management): no wildcard. */
export const SNS_PUBLISH_KMS_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'] as const;

/**
 * The HMAC key of the remediation continuation: generated by Secrets Manager at deploy, read once
 * per container by the remediate function (its only reader), so a direct invoke of that function
 * cannot forge or edit a continuation (docs/remediation-safety.md).
 */
export function createContinuationKey(scope: Construct, fn: GuardFunction): Secret {
  const secret = new Secret(scope, 'ContinuationKey', {
    description: 'timesync-guard: HMAC key of the remediation continuation (remediate function only)',
    generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    // Nothing to keep: a continuation is valid for two hours, a new key only fails a run in flight.
    removalPolicy: RemovalPolicy.DESTROY,
  });
  secret.grantRead(fn.role);
  fn.function.addEnvironment(ENV.continuationKeySecret, secret.secretArn);
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'The secret only authenticates remediation continuations, each accepted for two hours after it is issued (runs for 24 h at most); it protects no data and grants no access, and only the remediate function can read it. Rotation would only fail a run in flight.',
  });
  return secret;
}

/**
 * The HMAC key of the IMDSv2 enforcement records (lambda/engine/imdsv2-record.ts), generated at
 * deploy; the single-account guard and the organization hub each make one.
 */
export function createImdsv2RecordKey(scope: Construct): Secret {
  const secret = new Secret(scope, 'Imdsv2RecordKey', {
    description: 'timesync-guard: HMAC key of the IMDSv2 enforcement records (check and remediate functions only)',
    generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    // A new key (after a destroy) only makes older records unverifiable: those instances are no longer watched.
    removalPolicy: RemovalPolicy.DESTROY,
  });
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'The secret only authenticates the IMDSv2 enforcement records the guard writes as instance tags (each watched for the rollback window, 72 h by default); it protects no data and grants no access. Rotation would make the records of instances enforced before it unverifiable (no longer watched).',
  });
  return secret;
}

/** The alarm and run-summary topic, encrypted with its own key that only this account's alarms may use besides IAM. */
export function createAlarmTopic(scope: Construct, emails: readonly string[]): { topic: Topic; key: Key } {
  const stack = Stack.of(scope);
  // The guard's one key, which also encrypts its log groups (lib/constructs/control-tower.ts).
  const key = guardKey(scope);
  // CloudWatch alarms are the only service that publishes to this topic (the remediate Lambda
  // publishes with its role). They need exactly GenerateDataKey + Decrypt, and only for this
  // account's alarms (confused-deputy guard).
  const alarms = stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  const fromOurAlarms = { ArnLike: { 'aws:SourceArn': alarms }, StringEquals: { 'aws:SourceAccount': stack.account } };
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToUseKey',
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: [...SNS_PUBLISH_KMS_ACTIONS],
      resources: ['*'],
      conditions: fromOurAlarms,
    }),
  );
  const topic = new Topic(scope, 'Topic', { masterKey: key, enforceSSL: true, displayName: 'timesync-guard alarms' });
  // The enforceSSL topic policy replaces the default one: allow this account's alarms explicitly.
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: 'AllowCloudWatchAlarms',
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: fromOurAlarms,
    }),
  );
  for (const email of emails) topic.addSubscription(new EmailSubscription(email));
  return { topic, key };
}
