/**
 * The Security Hub adapter: BatchImportFindings, paced to the API's published rate (10 requests per
 * second per account and region, burst 30: Security Hub partner guide, "Guidelines for using the
 * BatchImportFindings API") with a client-side token bucket on the injected clock, throttling
 * retried with backoff. Security Hub not enabled in the account-region answers
 * `InvalidAccessException` ("… is not subscribed to AWS Security Hub"): that is an outcome, not an error.
 */
import { type AwsSecurityFinding, BatchImportFindingsCommand, type SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { AsffFinding } from '../core/findings-export/asff';
import type { TokenBucketOptions } from '../core/util/token-bucket';
import type { Clock, ImportBatchResult, SecurityHubPort } from '../engine/ports';
import { pacedCaller, shortError } from './paced-call';

export type { SecurityHubPort };

/** BatchImportFindings' published throttle: 10 TPS, burst 30, per account and region. */
export const BATCH_IMPORT_BUCKET: TokenBucketOptions = { capacity: 30, refillPerSecond: 10 };

export interface SecurityHubPortOptions {
  readonly securityHub: Pick<SecurityHubClient, 'send'>;
  readonly clock: Clock;
  /** @default BATCH_IMPORT_BUCKET */
  readonly bucket?: TokenBucketOptions;
  /** Attempts per call, throttling included. @default 6 */
  readonly maxAttempts?: number;
}

/** True for the error of an account-region where Security Hub is not enabled. */
export function isNotSubscribed(err: unknown): boolean {
  const e = err as { name?: string; message?: string } | null;
  return e?.name === 'InvalidAccessException' || /not subscribed to AWS Security Hub/i.test(e?.message ?? '');
}

/** The SDK-backed port. */
export function createSecurityHubPort(o: SecurityHubPortOptions): SecurityHubPort {
  const call = pacedCaller(o.bucket ?? BATCH_IMPORT_BUCKET, o.clock, 'BatchImportFindings', o.maxAttempts ?? 6);
  return {
    async importFindings(findings: readonly AsffFinding[]): Promise<ImportBatchResult> {
      try {
        const out = await call(() => o.securityHub.send(new BatchImportFindingsCommand({ Findings: findings as unknown as AwsSecurityFinding[] })));
        return {
          outcome: 'imported',
          failed: (out.FailedFindings ?? []).map((f) => ({ id: f.Id ?? '', code: f.ErrorCode ?? 'Unknown', message: (f.ErrorMessage ?? '').slice(0, 300) })),
        };
      } catch (err) {
        return isNotSubscribed(err) ? { outcome: 'not-subscribed', error: shortError(err) } : { outcome: 'failed', error: shortError(err) };
      }
    },
  };
}
