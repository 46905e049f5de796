/**
 * Bounded retry of throttling errors with exponential backoff and full jitter, on an injected clock.
 *
 * Why a layer above the SDK's own `retryMode: 'adaptive'`: the SDK absorbs short bursts (3 attempts),
 * but a fleet-scale run can meet sustained throttling (EC2's token buckets, SSM's unpublished limits)
 * for longer than that. This layer waits on the injected `Clock`, so the benchmark (whose mocked
 * clients bypass SDK middleware) exercises exactly this code. Non-throttling errors are never retried.
 */
import { AdaptiveTokenBucket, type AdaptiveRateOptions } from '../core/util/token-bucket';
import type { Clock } from './clock';

/** Error codes/names the AWS APIs use for throttling (EC2, SSM, CloudWatch, generic 429). */
export const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'RequestLimitExceeded',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
]);

/** True for an AWS throttling error: by name/code, or an HTTP 429 status. */
export function isThrottlingError(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const e = err as { name?: unknown; code?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: unknown } };
  for (const v of [e.name, e.code, e.Code]) {
    if (typeof v === 'string' && THROTTLING_CODES.has(v)) return true;
  }
  return e.$metadata?.httpStatusCode === 429;
}

/** Tuning of {@link withRetry}; the defaults suit fleet-scale throttling. */
export interface RetryOptions {
  /** Total attempts including the first. @default 8 */
  readonly maxAttempts?: number;
  /** Backoff base: the cap of the first wait. @default 500 */
  readonly baseDelayMs?: number;
  /** Upper bound of a single wait. @default 20000 */
  readonly maxDelayMs?: number;
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Called before each wait; for logging and counting throttles. */
  readonly onRetry?: (info: RetryInfo) => void;
  /** Operation name for `onRetry` and the final error. */
  readonly operation?: string;
  /**
   * Awaited before every attempt, the first included: the hook for a client-side rate limiter
   * (e.g. taking a token bucket's token on the same clock). Gets the operation name, so one
   * limiter can serve calls of different urgency.
   */
  readonly beforeAttempt?: (operation: string) => Promise<void>;
}

/** What a retry callback learns. */
export interface RetryInfo {
  readonly operation: string;
  /** 1-based number of the attempt that failed. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: unknown;
}

/** Defaults of {@link RetryOptions}. */
export const RETRY_DEFAULTS = { maxAttempts: 8, baseDelayMs: 500, maxDelayMs: 20_000 } as const;

/**
 * Runs `fn`, retrying throttling errors up to `maxAttempts` in total with waits of
 * `random() × min(maxDelayMs, baseDelayMs × 2^(attempt−1))` on `clock`. Any other error, or the
 * last throttling error, is rethrown unchanged (so callers can still inspect its name).
 */
export async function withRetry<T>(fn: () => Promise<T>, clock: Clock, options: RetryOptions = {}): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? RETRY_DEFAULTS.maxAttempts);
  const base = options.baseDelayMs ?? RETRY_DEFAULTS.baseDelayMs;
  const cap = options.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      if (options.beforeAttempt) await options.beforeAttempt(options.operation ?? 'call');
      return await fn();
    } catch (err) {
      if (!isThrottlingError(err) || attempt >= maxAttempts) throw err;
      // Full jitter: spreads the retries of many concurrent callers (AWS Architecture Blog, "Exponential Backoff And Jitter").
      const delayMs = Math.floor(random() * Math.min(cap, base * 2 ** (attempt - 1)));
      options.onRetry?.({ operation: options.operation ?? 'call', attempt, delayMs, error: err });
      await clock.sleep(delayMs);
    }
  }
}

/**
 * Iterates the pages of an SDK paginator, resuming from the last good token after a throttling
 * error instead of starting over (a paginator generator is dead once a page throws). Each page gets
 * the full retry budget of {@link withRetry}.
 *
 * @param open builds a fresh paginator starting at `startingToken` (undefined = first page)
 * @param nextToken reads the continuation token of a page
 */
export async function* paginateWithRetry<P>(
  open: (startingToken: string | undefined) => AsyncIterable<P>,
  nextToken: (page: P) => string | undefined,
  clock: Clock,
  options: RetryOptions = {},
): AsyncGenerator<P, void, undefined> {
  let token: string | undefined;
  let done = false;
  while (!done) {
    let iterator: AsyncIterator<P> | undefined;
    const page = await withRetry(
      async () => {
        // A throttled paginator cannot be resumed; open a new one at the last good token.
        iterator = open(token)[Symbol.asyncIterator]();
        return iterator.next();
      },
      clock,
      options,
    );
    if (page.done) return;
    yield page.value;
    token = nextToken(page.value);
    if (!token) done = true;
  }
}

interface Waiter {
  readonly priority: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/**
 * One client-side limiter for every call a run makes to a service whose account-wide request rate
 * is one shared bucket (SSM): an {@link AdaptiveTokenBucket} on the injected clock, handing its
 * tokens to waiting calls most urgent first (lowest priority number; FIFO within a priority). The
 * urgency order is what lets a fleet check keep its guests busy: calls that start work (listing
 * which instances are managed, SendCommand) go before calls that only read results back.
 */
export class PriorityRateLimiter {
  private readonly queue: Waiter[] = [];
  private seq = 0;
  private pumping = false;
  readonly bucket: AdaptiveTokenBucket;

  constructor(
    options: AdaptiveRateOptions,
    private readonly clock: Clock,
    private readonly priorityOf: (operation: string) => number = () => 0,
  ) {
    this.bucket = new AdaptiveTokenBucket(options, () => clock.now());
  }

  /** Resolves when this call may go out. */
  acquire(operation: string): Promise<void> {
    return new Promise<void>((resolve) => {
      this.queue.push({ priority: this.priorityOf(operation), seq: this.seq++, resolve });
      if (!this.pumping) void this.pump();
    });
  }

  /** The server throttled a call: slow down (see {@link AdaptiveTokenBucket.throttled}). */
  throttled(): void {
    this.bucket.throttled();
  }

  /** Calls waiting for a token. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * When (ms from now) the k-th call (0-based) to ask after every call already waiting can go out,
   * at the current rate and with no throttle: the schedule a caller plans its queued calls on.
   */
  etaMs(k: number): number {
    const behind = this.queue.length + k + 1 - this.bucket.available;
    return behind <= 0 ? 0 : (behind / this.bucket.rate) * 1000;
  }

  /** Retry options that route every attempt through this limiter and report throttles to it. */
  retryOptions(base: RetryOptions = {}): RetryOptions {
    return {
      ...base,
      beforeAttempt: (operation) => this.acquire(operation),
      onRetry: (info) => {
        this.throttled();
        base.onRetry?.(info);
      },
    };
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const wait = this.bucket.waitMs();
        if (wait > 0) {
          await this.clock.sleep(wait);
          continue;
        }
        if (!this.bucket.tryTake()) continue;
        let best = 0;
        for (let k = 1; k < this.queue.length; k++) {
          const w = this.queue[k]!;
          const b = this.queue[best]!;
          if (w.priority < b.priority || (w.priority === b.priority && w.seq < b.seq)) best = k;
        }
        this.queue.splice(best, 1)[0]!.resolve();
      }
    } finally {
      this.pumping = false;
    }
  }
}
