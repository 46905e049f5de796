/**
 * Where the daily IMDSv2 readiness snapshot is kept between runs: one S3 object in the stack's own
 * bucket (encrypted, SSL-only, private). Why S3: the snapshot of 10,000 instances is ≈ 1 MB of JSON,
 * far above an SSM parameter's 8 KB or a secret's 64 KB, and a Lambda's memory does not survive a
 * cold start, so the hourly check would fall back to GetMetricData for the whole fleet.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Clock } from './clock';
import { withRetry } from './retry';

/** The snapshot store: text in, text out. */
export interface SnapshotStore {
  /** The stored text, or undefined when there is none yet. Throws on any other failure. */
  read(): Promise<string | undefined>;
  write(text: string): Promise<void>;
}

/** Object key of the snapshot in the bucket. */
export const READINESS_SNAPSHOT_KEY = 'imdsv2/readiness.json';
/** Object key of the findings export's state (lambda/core/findings-export/state.ts), in the same bucket. */
export const EXPORT_STATE_KEY = 'findings-export/state.json';

export interface S3SnapshotStoreOptions {
  readonly s3: Pick<S3Client, 'send'>;
  readonly bucket: string;
  readonly clock: Clock;
  /** @default READINESS_SNAPSHOT_KEY */
  readonly key?: string;
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/** The S3-backed store. */
export class S3SnapshotStore implements SnapshotStore {
  constructor(private readonly options: S3SnapshotStoreOptions) {}

  async read(): Promise<string | undefined> {
    const { s3, bucket, clock } = this.options;
    try {
      const res = await withRetry(() => s3.send(new GetObjectCommand({ Bucket: bucket, Key: this.options.key ?? READINESS_SNAPSHOT_KEY })), clock, { operation: 'GetObject' });
      return (await res.Body?.transformToString('utf-8')) ?? undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async write(text: string): Promise<void> {
    const { s3, bucket, clock } = this.options;
    await withRetry(
      () => s3.send(new PutObjectCommand({ Bucket: bucket, Key: this.options.key ?? READINESS_SNAPSHOT_KEY, Body: text, ContentType: 'application/json' })),
      clock,
      { operation: 'PutObject' },
    );
  }
}

/** An in-memory store (CLI without a bucket, tests, benchmark). */
export class MemorySnapshotStore implements SnapshotStore {
  text: string | undefined;
  reads = 0;
  writes = 0;
  async read(): Promise<string | undefined> {
    this.reads++;
    return this.text;
  }
  async write(text: string): Promise<void> {
    this.writes++;
    this.text = text;
  }
}
