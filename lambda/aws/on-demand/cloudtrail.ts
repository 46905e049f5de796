/** Loaded on demand (../lazy-credentials.ts): the CloudTrail query port and the evidence object, with their SDK clients. */
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { S3Client } from '@aws-sdk/client-s3';
import type { CloudTrailSource } from '../../core/imdsv2/credential-delivery';
import type { CloudTrailQueryPort, EvidenceStore } from '../../engine/credential-evidence';
import type { Clock } from '../clock';
import { createClient, lazy } from '../client-factory';
import { createCloudTrailQueryPort } from '../cloudtrail-query';
import { S3SnapshotStore } from '../readiness-cache';

/** Object key of the CloudTrail evidence in the check's bucket. */
export const CREDENTIAL_EVIDENCE_KEY = 'imdsv2/cloudtrail-evidence.json';

export function credentialEvidencePorts(source: CloudTrailSource, bucket: string, clock: Clock): { query: CloudTrailQueryPort; store: EvidenceStore } {
  const cloudtrail = lazy(() => createClient(CloudTrailClient, 'cloudtrail'));
  const logs = lazy(() => createClient(CloudWatchLogsClient, 'logs'));
  return {
    query: createCloudTrailQueryPort(source, { cloudtrail, logs }, clock),
    store: new S3SnapshotStore({ s3: createClient(S3Client, 's3'), bucket, clock, key: CREDENTIAL_EVIDENCE_KEY }),
  };
}
