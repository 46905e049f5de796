/**
 * The permissions of the findings export (lambda/engine/findings-export.ts), shared by the check
 * role of the single-account stack and the organization's spoke role:
 * - `securityhub:BatchImportFindings` only on the account's own product
 *   (`product/<account>/default`, the action's one resource type) and only for findings of the
 *   account itself (`securityhub:TargetAccount`, the action's condition key: the finding's
 *   AwsAccountId), so even a wrong finding cannot be filed as another product or account;
 * - `ssm:PutComplianceItems` only on the account's instances and managed instances (its two
 *   resource types; the action has no condition key for the compliance type).
 * Nothing else of Security Hub or Compliance is granted (no reads, no BatchUpdateFindings).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/** Where the statements apply: plain strings or tokens (`${AWS::…}` in the spoke template). */
export interface FindingsExportScope {
  readonly partition: string;
  /** A region, or `*` for a role used in every region (the spoke). */
  readonly region: string;
  readonly account: string;
  readonly securityHub: boolean;
  readonly ssmCompliance: boolean;
}

/** The account's own Security Hub product ARN. */
export function ownProductArn(s: Pick<FindingsExportScope, 'partition' | 'region' | 'account'>): string {
  return `arn:${s.partition}:securityhub:${s.region}:${s.account}:product/${s.account}/default`;
}

export function findingsExportStatements(s: FindingsExportScope): PolicyStatement[] {
  const out: PolicyStatement[] = [];
  if (s.securityHub) {
    out.push(
      new PolicyStatement({
        sid: 'ImportOwnFindings',
        actions: ['securityhub:BatchImportFindings'],
        resources: [ownProductArn(s)],
        conditions: { StringEquals: { 'securityhub:TargetAccount': s.account } },
      }),
    );
  }
  if (s.ssmCompliance) {
    out.push(
      new PolicyStatement({
        sid: 'PutInstanceCompliance',
        actions: ['ssm:PutComplianceItems'],
        resources: [`arn:${s.partition}:ec2:${s.region}:${s.account}:instance/*`, `arn:${s.partition}:ssm:${s.region}:${s.account}:managed-instance/*`],
      }),
    );
  }
  return out;
}

/**
 * A bucket of state the guard rewrites at least daily (the IMDSv2 snapshot, the export state):
 * private, SSL only, encrypted with KMS by default and versioned (Control Tower's CT.S3.PR.10 and
 * .11, docs/control-tower.md); an object no longer written is gone within a week, and so is each
 * version it replaced. `holds` says what it holds, for the server-access-log acknowledgement.
 * The key is S3's AWS managed key (`aws/s3`): S3 permissions alone decide who reads an object, as
 * they did with SSE-S3, so no role needs a KMS grant; a bucket key keeps KMS requests to a few.
 */
export function stateBucket(scope: Construct, id: string, holds: string): Bucket {
  const bucket = new Bucket(scope, id, {
    encryption: BucketEncryption.KMS_MANAGED,
    bucketKeyEnabled: true,
    versioned: true,
    enforceSSL: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    lifecycleRules: [
      { id: 'ExpireStateAndVersions', expiration: Duration.days(7), noncurrentVersionExpiration: Duration.days(7) },
      // Separate rule: S3 refuses ExpiredObjectDeleteMarker beside an expiration in days.
      { id: 'RemoveExpiredDeleteMarkers', expiredObjectDeleteMarker: true },
    ],
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason: `${holds}; CloudTrail records those calls, and server access logs would need a second bucket for no finding.`,
  });
  return bucket;
}
