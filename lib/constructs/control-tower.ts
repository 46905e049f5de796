/**
 * What makes every template of this project pass AWS Control Tower's proactive controls
 * (docs/control-tower.md), in one place so that a resource added later conforms without its author
 * thinking of it:
 * - {@link guardKey}: the one customer-managed key of a guard (or of the organization hub): the alarm
 *   topic and every log group are encrypted with it (CT.CLOUDWATCH.PR.3); CloudWatch Logs may use
 *   it only for log groups of this account and region.
 * - {@link ControlTowerReady}: an Aspect over the guard (or hub) that encrypts every log group that
 *   names no key with that key, and adds to every KMS key's policy the statement that limits grants
 *   to AWS services (CT.KMS.PR.3).
 * - {@link deadLetterQueue}: every dead-letter queue declares itself as one (CT.SQS.PR.1 asks any
 *   other queue for a dead-letter queue; the launch queue has one).
 * - buckets: lib/findings-export-grants.ts `stateBucket` (versioned, KMS default encryption).
 * The test that runs the Control Tower rules on whole templates (test/lib/control-tower.test.ts)
 * fails on any resource that does not conform, whoever added it.
 */
import { type IAspect, Duration, Stack, Validations } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { CfnLogGroup } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption, RedrivePermission } from 'aws-cdk-lib/aws-sqs';
import type { Construct, IConstruct } from 'constructs';

/** The key's construct id: the alarm topic's key of earlier versions, kept so that upgrading does not replace it. */
const KEY_ID = 'TopicKey';

/**
 * The guard's key (created on first use, one per `scope`): the alarm topic's key, which also
 * encrypts the log groups. CloudWatch Logs may use it only with an encryption context naming a log
 * group of this account and region (the documented key policy for log group encryption).
 */
export function guardKey(scope: Construct): Key {
  const existing = scope.node.tryFindChild(KEY_ID);
  if (existing instanceof Key) return existing;
  const stack = Stack.of(scope);
  const key = new Key(scope, KEY_ID, {
    enableKeyRotation: true,
    description: 'timesync-guard: alarm topic and log groups',
  });
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: 'AllowCloudWatchLogsForThisAccountsLogGroups',
      principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*` } },
    }),
  );
  return key;
}

/**
 * The statement CT.KMS.PR.3 requires in a key policy: nobody may create a grant on the key unless
 * the grant is for an AWS resource or the caller is an AWS service. Nothing of this project creates
 * grants (CloudWatch Logs, SNS and the alarms use the key directly).
 */
export function grantsOnlyForAwsServices(): PolicyStatement {
  return new PolicyStatement({
    sid: 'DenyGrantsExceptForAwsServices',
    effect: Effect.DENY,
    principals: [new AnyPrincipal()],
    actions: ['kms:CreateGrant'],
    resources: ['*'],
    conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
  });
}

/**
 * Applied to a guard (or the organization hub stack): every log group without a key gets the
 * guard's key, and every KMS key created with CDK's `Key` gets {@link grantsOnlyForAwsServices}.
 * Retention is not forced: its default is a year (CT.CLOUDWATCH.PR.2), and a shorter one is the
 * user's choice (`logRetentionDays`).
 */
export class ControlTowerReady implements IAspect {
  private readonly denied = new Set<Key>();

  constructor(private readonly key: Key) {}

  public visit(node: IConstruct): void {
    if (node instanceof CfnLogGroup && node.kmsKeyId === undefined) node.kmsKeyId = this.key.keyArn;
    if (node instanceof Key && !this.denied.has(node)) {
      this.denied.add(node);
      node.addToResourcePolicy(grantsOnlyForAwsServices());
    }
  }
}

/**
 * A dead-letter queue: SQS-managed encryption, TLS only, 14 days, and a redrive-allow policy that
 * says it is one. `allowAll` is SQS's own default for a queue without that policy, so it changes
 * nothing at run time; `byQueue` cannot be used: the launch queue's redrive policy names this queue,
 * so naming the launch queue here would be a dependency cycle, and the Scheduler targets are not
 * queues. `why` is the cdk-nag reason for it having no dead-letter queue of its own.
 */
export function deadLetterQueue(scope: Construct, id: string, why: string): Queue {
  const queue = new Queue(scope, id, {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    redriveAllowPolicy: { redrivePermission: RedrivePermission.ALLOW_ALL },
  });
  Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason: why });
  return queue;
}
