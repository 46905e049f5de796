/**
 * One API call paced by a client-side token bucket on the injected clock (the service's published
 * or assumed rate) and retried on throttling (./retry.ts): the shape of the export adapters
 * (Security Hub, SSM Compliance), whose calls come in bursts at the end of a check run.
 */
import { TokenBucket, type TokenBucketOptions } from '../core/util/token-bucket';
import type { Clock } from './clock';
import { withRetry } from './retry';

/** `Name: message`, bounded, for results and logs. */
export function shortError(err: unknown): string {
  const e = err as { name?: string; message?: string } | null;
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`.slice(0, 300);
}

/** A caller of one operation: each call waits for a token, then runs with throttling retries. */
export function pacedCaller(bucketOptions: TokenBucketOptions, clock: Clock, operation: string, maxAttempts: number): <T>(fn: () => Promise<T>) => Promise<T> {
  const bucket = new TokenBucket(bucketOptions, () => clock.now());
  const takeToken = async (): Promise<void> => {
    for (let wait = bucket.waitMs(); wait > 0; wait = bucket.waitMs()) await clock.sleep(wait);
    bucket.tryTake();
  };
  return (fn) => withRetry(fn, clock, { operation, maxAttempts, beforeAttempt: takeToken });
}
