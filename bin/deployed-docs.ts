/**
 * The doc text about what a deploy creates, derived from the stacks themselves (synthesized
 * in-process, bundling skipped): the alarm counts of docs/operations.md and docs/configuration.md,
 * the resource table and the permissions a restricted CloudFormation execution role needs.
 * `bin/docs.ts` writes the blocks; test/core/docs.test.ts fails when they drift, and
 * test/core/deployed-docs.test.ts when a synthesized resource type has no row below.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { PRICES } from '../bench/cost';
import { TimeSyncGuardOrgStack } from '../lib/time-sync-guard-org-stack';
import { TimeSyncGuardStack } from '../lib/time-sync-guard-stack';
import type { TimeSyncGuardProps } from '../lib/time-sync-guard-props';

/** The single-account settings whose change adds or removes alarms, and how the docs name each. */
const ALARM_VARIANTS: readonly (readonly [string, TimeSyncGuardProps])[] = [
  ['in a dry run', { dryRun: true }],
  ['with `urgentRemediation` false', { urgentRemediation: false }],
  ['with `imdsv2` off', { imdsv2: 'off' }],
  ['with `remediationEnabled` false', { remediationEnabled: false }],
];

/** Every opt-in that adds resources, on at once: the deploy role must manage its resource types too. */
const EVERYTHING_ON: TimeSyncGuardProps = {
  launchCheck: true,
  remediateOnLaunch: true,
  accountDefaults: 'set',
  imdsv2: 'enforce',
  imdsv2AutoUndo: true,
  alarmEmails: ['ops@example.com'],
  reservedConcurrency: 2,
};

type Template = { Resources?: Record<string, { Type: string; Properties?: { Metrics?: { MetricStat?: unknown }[] } }> };

/** One synthesized stack: its alarm keys (construct), alarms and billed alarm metrics, resource types (template). */
export interface Synthesized {
  readonly alarmKeys: readonly string[];
  readonly alarms: number;
  readonly billedAlarms: number;
  readonly types: Readonly<Record<string, number>>;
}

/** What the docs say about deployed resources, from one synth of every variant. */
export interface DeployedFacts {
  readonly single: Synthesized;
  readonly variants: readonly (readonly [string, Synthesized])[];
  readonly everythingOn: Synthesized;
  readonly org: Synthesized;
  /** The organization hub with its OUs asked at deploy (a CloudFormation parameter). */
  readonly orgWithoutOus: Synthesized;
}

function facts(template: Template, alarms: object): Synthesized {
  const types: Record<string, number> = {};
  let count = 0;
  let billed = 0;
  for (const r of Object.values(template.Resources ?? {})) {
    types[r.Type] = (types[r.Type] ?? 0) + 1;
    if (r.Type !== 'AWS::CloudWatch::Alarm') continue;
    count++;
    const m = r.Properties?.Metrics;
    billed += Array.isArray(m) ? Math.max(1, m.filter((x) => x.MetricStat !== undefined).length) : 1;
  }
  const alarmKeys = Object.entries(alarms as Record<string, unknown>).filter(([, a]) => a !== undefined).map(([k]) => k);
  return { alarmKeys, alarms: count, billedAlarms: billed, types };
}

let cached: DeployedFacts | undefined;

/** Synthesizes the default stack, each alarm variant, everything on and the organization hub, once per process. */
export function deployedFacts(): DeployedFacts {
  if (cached) return cached;
  const outdir = mkdtempSync(join(tmpdir(), 'tsg-docs-synth-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const single = new TimeSyncGuardStack(app, 'Default');
    const variants = ALARM_VARIANTS.map(([label, guard], i) => [label, new TimeSyncGuardStack(app, `Variant${i}`, { guard })] as const);
    const all = new TimeSyncGuardStack(app, 'EverythingOn', { guard: EVERYTHING_ON });
    const org = new TimeSyncGuardOrgStack(app, 'Org', { organizationalUnits: ['ou-abcd-12345678'] });
    const orgWithoutOus = new TimeSyncGuardOrgStack(app, 'OrgWithoutOus', {});
    const assembly = app.synth();
    const of = (stack: TimeSyncGuardStack | TimeSyncGuardOrgStack, alarms: object): Synthesized =>
      facts(assembly.getStackByName(stack.stackName).template as Template, alarms);
    cached = {
      single: of(single, single.guard.alarms),
      variants: variants.map(([label, s]) => [label, of(s, s.guard.alarms)] as const),
      everythingOn: of(all, all.guard.alarms),
      org: of(org, org.alarms),
      orgWithoutOus: of(orgWithoutOus, orgWithoutOus.alarms),
    };
    return cached;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const code = (s: string): string => `\`${s}\``;
const usd = (v: number): string => `$${v.toFixed(2)}`;

/** "14 alarms by default: …; 13 in a dry run (no `urgentRepeat`), …", from the alarm list of each variant. */
export function alarmCountText(f: DeployedFacts = deployedFacts()): string {
  const base = f.single;
  const others = f.variants.map(([label, v]) => {
    const missing = base.alarmKeys.filter((k) => !v.alarmKeys.includes(k));
    return `${v.alarms} ${label}${missing.length ? ` (no ${missing.map(code).join(', ')})` : ''}`;
  });
  const unkeyed = base.alarms - base.alarmKeys.length;
  return (
    `${base.alarms} alarms by default (${base.alarmKeys.map(code).join(', ')}${unkeyed > 0 ? ` and ${unkeyed} more` : ''}); ${others.join('; ')}. ` +
    `The organization hub has ${f.org.alarms}. ${usd(base.billedAlarms * PRICES.alarmStandard)} a month by default whatever the fleet size (an alarm costs ${usd(PRICES.alarmStandard)} per metric it reads).`
  );
}

/**
 * Every CloudFormation resource type the stacks create: what it is for and what the CloudFormation
 * execution role needs to create, update and delete it (the resource handlers' permissions, as
 * the CloudFormation resource schemas list them). A type the stacks synthesize without a row here
 * fails test/core/deployed-docs.test.ts; every action is checked against the IAM action list.
 */
export const RESOURCE_TYPES: Readonly<Record<string, { readonly purpose: string; readonly actions: readonly string[] }>> = {
  'AWS::Lambda::Function': {
    purpose: 'the check and remediate functions (and the launch check, the hub functions)',
    actions: ['lambda:CreateFunction', 'lambda:GetFunction', 'lambda:GetFunctionConfiguration', 'lambda:UpdateFunctionCode', 'lambda:UpdateFunctionConfiguration', 'lambda:DeleteFunction', 'lambda:TagResource', 'lambda:UntagResource', 'lambda:ListTags', 'lambda:PutFunctionConcurrency', 'lambda:DeleteFunctionConcurrency', 'lambda:GetRuntimeManagementConfig', 'lambda:PutRuntimeManagementConfig', 'lambda:GetFunctionCodeSigningConfig', 'iam:PassRole', 's3:GetObject'],
  },
  'AWS::Lambda::EventInvokeConfig': {
    purpose: 'the check function\'s asynchronous invocation (no retry, a queued check expires after one interval)',
    actions: ['lambda:PutFunctionEventInvokeConfig', 'lambda:UpdateFunctionEventInvokeConfig', 'lambda:GetFunctionEventInvokeConfig', 'lambda:DeleteFunctionEventInvokeConfig'],
  },
  'AWS::Lambda::EventSourceMapping': {
    purpose: 'the launch queue → launch-check function (`launchCheck`)',
    actions: ['lambda:CreateEventSourceMapping', 'lambda:GetEventSourceMapping', 'lambda:UpdateEventSourceMapping', 'lambda:DeleteEventSourceMapping', 'lambda:TagResource', 'lambda:ListTags'],
  },
  'AWS::Logs::LogGroup': {
    purpose: 'one per function (retained on delete) and one for the state machine',
    actions: ['logs:CreateLogGroup', 'logs:DescribeLogGroups', 'logs:PutRetentionPolicy', 'logs:DeleteRetentionPolicy', 'logs:AssociateKmsKey', 'logs:DisassociateKmsKey', 'logs:TagResource', 'logs:UntagResource', 'logs:ListTagsForResource', 'logs:DeleteLogGroup'],
  },
  'AWS::IAM::Role': {
    purpose: 'one per function, the state machine and the scheduler; no managed policies',
    actions: ['iam:CreateRole', 'iam:GetRole', 'iam:UpdateRole', 'iam:UpdateAssumeRolePolicy', 'iam:TagRole', 'iam:UntagRole', 'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies', 'iam:DeleteRole'],
  },
  'AWS::IAM::Policy': {
    purpose: 'the inline policies of those roles',
    actions: ['iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy'],
  },
  'AWS::StepFunctions::StateMachine': {
    purpose: 'the remediation loop (the hub\'s distributed Map in organization mode); logging ALL, X-Ray',
    actions: ['states:CreateStateMachine', 'states:DescribeStateMachine', 'states:UpdateStateMachine', 'states:DeleteStateMachine', 'states:TagResource', 'states:UntagResource', 'states:ListTagsForResource', 'iam:PassRole', 'logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery', 'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies'],
  },
  'AWS::Scheduler::Schedule': {
    purpose: 'the hourly check and the nightly remediation',
    actions: ['scheduler:CreateSchedule', 'scheduler:GetSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule', 'iam:PassRole'],
  },
  'AWS::SQS::Queue': {
    purpose: 'the schedules\' dead-letter queue (and the launch queue with `launchCheck`)',
    actions: ['sqs:CreateQueue', 'sqs:GetQueueUrl', 'sqs:GetQueueAttributes', 'sqs:SetQueueAttributes', 'sqs:TagQueue', 'sqs:UntagQueue', 'sqs:ListQueueTags', 'sqs:DeleteQueue'],
  },
  'AWS::SQS::QueuePolicy': {
    purpose: 'TLS only; who may send',
    actions: ['sqs:SetQueueAttributes', 'sqs:GetQueueAttributes'],
  },
  'AWS::SNS::Topic': {
    purpose: 'alarms and run summaries (TLS only, encrypted with the stack\'s key)',
    actions: ['sns:CreateTopic', 'sns:GetTopicAttributes', 'sns:SetTopicAttributes', 'sns:TagResource', 'sns:UntagResource', 'sns:ListTagsForResource', 'sns:DeleteTopic'],
  },
  'AWS::SNS::TopicPolicy': {
    purpose: 'TLS only',
    actions: ['sns:SetTopicAttributes', 'sns:GetTopicAttributes'],
  },
  'AWS::SNS::Subscription': {
    purpose: 'one per `alarmEmails` address',
    actions: ['sns:Subscribe', 'sns:Unsubscribe', 'sns:GetSubscriptionAttributes', 'sns:SetSubscriptionAttributes', 'sns:ListSubscriptionsByTopic'],
  },
  'AWS::KMS::Key': {
    purpose: 'the stack\'s customer-managed key (topic), rotation on, retained on delete',
    actions: ['kms:CreateKey', 'kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:PutKeyPolicy', 'kms:EnableKeyRotation', 'kms:GetKeyRotationStatus', 'kms:EnableKey', 'kms:DisableKey', 'kms:UpdateKeyDescription', 'kms:TagResource', 'kms:UntagResource', 'kms:ListResourceTags', 'kms:ScheduleKeyDeletion'],
  },
  'AWS::S3::Bucket': {
    purpose: 'the check\'s state (IMDSv2 snapshot, findings-export state), retained on delete',
    actions: ['s3:CreateBucket', 's3:ListBucket', 's3:PutBucketTagging', 's3:GetBucketTagging', 's3:PutEncryptionConfiguration', 's3:GetEncryptionConfiguration', 's3:PutBucketPublicAccessBlock', 's3:GetBucketPublicAccessBlock', 's3:PutBucketOwnershipControls', 's3:GetBucketOwnershipControls', 's3:PutBucketVersioning', 's3:GetBucketVersioning', 's3:PutLifecycleConfiguration', 's3:GetLifecycleConfiguration', 's3:DeleteBucket'],
  },
  'AWS::S3::BucketPolicy': {
    purpose: 'TLS only',
    actions: ['s3:PutBucketPolicy', 's3:GetBucketPolicy', 's3:DeleteBucketPolicy'],
  },
  'AWS::SecretsManager::Secret': {
    purpose: 'the keys that sign remediation continuations and IMDSv2 enforcement records',
    actions: ['secretsmanager:CreateSecret', 'secretsmanager:GetRandomPassword', 'secretsmanager:DescribeSecret', 'secretsmanager:UpdateSecret', 'secretsmanager:TagResource', 'secretsmanager:UntagResource', 'secretsmanager:DeleteSecret'],
  },
  'AWS::SSM::Document': {
    purpose: 'the collector (read-only) and remediation Command documents',
    actions: ['ssm:CreateDocument', 'ssm:GetDocument', 'ssm:DescribeDocument', 'ssm:UpdateDocument', 'ssm:UpdateDocumentDefaultVersion', 'ssm:DeleteDocument', 'ssm:AddTagsToResource', 'ssm:RemoveTagsFromResource', 'ssm:ListTagsForResource'],
  },
  'AWS::Events::Rule': {
    purpose: 'EC2 `running` events → the launch queue (`launchCheck`)',
    actions: ['events:PutRule', 'events:DescribeRule', 'events:PutTargets', 'events:RemoveTargets', 'events:ListTargetsByRule', 'events:DeleteRule', 'events:TagResource', 'events:UntagResource'],
  },
  'AWS::CloudWatch::Alarm': {
    purpose: 'the alarms (counted above)',
    actions: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DescribeAlarms', 'cloudwatch:DeleteAlarms', 'cloudwatch:TagResource', 'cloudwatch:UntagResource', 'cloudwatch:ListTagsForResource'],
  },
  'AWS::CloudWatch::Dashboard': {
    purpose: 'the dashboard',
    actions: ['cloudwatch:PutDashboard', 'cloudwatch:GetDashboard', 'cloudwatch:DeleteDashboards'],
  },
  'AWS::CloudFormation::StackSet': {
    purpose: 'organization hub: the spoke role and the documents in every member account',
    actions: ['cloudformation:CreateStackSet', 'cloudformation:DescribeStackSet', 'cloudformation:UpdateStackSet', 'cloudformation:DeleteStackSet', 'cloudformation:CreateStackInstances', 'cloudformation:UpdateStackInstances', 'cloudformation:DeleteStackInstances', 'cloudformation:ListStackInstances', 'cloudformation:DescribeStackSetOperation', 'cloudformation:ListStackSetOperationResults', 'cloudformation:TagResource', 'organizations:ListDelegatedAdministrators', 's3:GetObject'],
  },
};

/** Resource types CloudFormation handles itself (no permission needed). */
export const NO_PERMISSION_TYPES: readonly string[] = ['AWS::CDK::Metadata'];

/** The resource-type table of configuration.md: counts in the default stack, with every opt-in, and in the organization hub. */
export function resourceTable(f: DeployedFacts = deployedFacts()): string {
  const types = Object.keys(RESOURCE_TYPES).filter((t) => f.single.types[t] || f.everythingOn.types[t] || f.org.types[t]);
  const n = (s: Synthesized, t: string): string => String(s.types[t] ?? '—');
  return [
    '| Resource type | default | every opt-in on | organization hub | what for |',
    '|---|---:|---:|---:|---|',
    ...types.map((t) => `| ${code(t)} | ${n(f.single, t)} | ${n(f.everythingOn, t)} | ${n(f.org, t)} | ${RESOURCE_TYPES[t]!.purpose} |`),
    '',
    `"Every opt-in on": ${Object.entries(EVERYTHING_ON).map(([k, v]) => `${code(k)} ${Array.isArray(v) ? 'set' : code(String(v))}`).join(', ')}.`,
  ].join('\n');
}

/** The actions a restricted CloudFormation execution role needs, by service, for every resource type the stacks create. */
export function deployRolePermissions(f: DeployedFacts = deployedFacts()): string {
  const types = new Set([...Object.keys(f.single.types), ...Object.keys(f.everythingOn.types), ...Object.keys(f.org.types)]);
  const byService = new Map<string, Set<string>>();
  for (const t of [...types].sort()) {
    for (const a of RESOURCE_TYPES[t]?.actions ?? []) {
      const [service] = a.split(':') as [string];
      if (!byService.has(service)) byService.set(service, new Set());
      byService.get(service)!.add(a);
    }
  }
  return [...byService.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([service, actions]) => `- ${code(service)}: ${[...actions].sort().map((a) => code(a.slice(service.length + 1))).join(', ')}`)
    .join('\n');
}
