/** Loaded on first use (../lazy-adapters.ts): only the S3 client and the two commands of the snapshot. */
import { S3Client } from '@aws-sdk/client-s3';
import type { Clock } from '../clock';
import { createClient } from '../client-factory';
import { S3SnapshotStore } from '../readiness-cache';

export function snapshotStore(bucket: string, clock: Clock): S3SnapshotStore {
  return new S3SnapshotStore({ s3: createClient(S3Client, 's3'), bucket, clock });
}
