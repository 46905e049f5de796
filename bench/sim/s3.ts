/**
 * An in-memory S3 bucket set behind aws-sdk-client-mock (GetObject, PutObject): what the hub's run
 * bucket holds during a simulated organization run (the item list hub-run writes, the ResultWriter's
 * manifest and result files, the summary). A missing object is S3's NoSuchKey; nothing else is modelled.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { SimAwsError } from './primitives';

export class SimS3 {
  /** `bucket/key` → body. */
  readonly objects = new Map<string, string>();
  readonly calls: Record<string, number> = {};
  private stub?: ReturnType<typeof mockClient>;

  put(bucket: string, key: string, body: string): void {
    this.objects.set(`${bucket}/${key}`, body);
  }

  get(bucket: string, key: string): string | undefined {
    return this.objects.get(`${bucket}/${key}`);
  }

  /** Mocks every S3Client's send. Call {@link restore} when done. */
  install(): this {
    const stub = mockClient(S3Client);
    stub.on(PutObjectCommand).callsFake((input: { Bucket: string; Key: string; Body?: unknown }) => {
      this.calls.PutObject = (this.calls.PutObject ?? 0) + 1;
      this.put(input.Bucket, input.Key, String(input.Body ?? ''));
      return { ETag: '"sim"' };
    });
    stub.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
      this.calls.GetObject = (this.calls.GetObject ?? 0) + 1;
      const body = this.get(input.Bucket, input.Key);
      if (body === undefined) throw new SimAwsError('NoSuchKey', 'The specified key does not exist.', 404);
      return { Body: { transformToString: async () => body } };
    });
    this.stub = stub as unknown as ReturnType<typeof mockClient>;
    return this;
  }

  restore(): void {
    this.stub?.restore();
  }
}
