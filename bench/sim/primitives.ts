/**
 * Building blocks every simulated service shares: AWS-shaped errors, the token bucket on virtual
 * time, paging by opaque token, counters, and the timing model (A2–A9). No service state lives here.
 */
import { COLLECTOR_STEP_TIMEOUT_SECONDS } from '../../lib/constructs/guest-documents';

/**
 * The time the account runs on: the benchmark's DiscreteEventClock, or a test's VirtualClock
 * (lambda/aws/clock.ts). Every call sleeps its virtual latency on it.
 */
export interface SimClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** Capacity and refill of a token bucket. */
export interface BucketSpec {
  readonly capacity: number;
  readonly refillPerSecond: number;
}

/** Virtual latency of each call, in ms (A2–A5). */
export interface Latencies {
  /** A2: DescribeInstances: 200 ms + 0.8 ms per instance returned (a full page of 1,000 ≈ 1 s). */
  readonly describeInstancesBase: number;
  readonly describeInstancesPerItem: number;
  /** A3: one SSM listing page (DescribeInstanceInformation, ListCommands, ListCommandInvocations). */
  readonly ssmListPage: number;
  /** A4: every other call. */
  readonly other: number;
  /** A5: a throttled call fails fast. */
  readonly throttled: number;
}

export const DEFAULT_LATENCIES: Latencies = {
  describeInstancesBase: 200,
  describeInstancesPerItem: 0.8,
  ssmListPage: 300,
  other: 100,
  throttled: 20,
};

/**
 * No latency at all: for tests on a VirtualClock (lambda/aws/clock.ts), whose `sleep` moves time
 * for every concurrent caller, so per-call latency would add up as if calls were serial.
 */
export const NO_LATENCY: Latencies = { describeInstancesBase: 0, describeInstancesPerItem: 0, ssmListPage: 0, other: 0, throttled: 0 };

/** Run Command and IMDS behaviour over time (A6–A9). */
export interface RunCommandModel {
  /** A6: delivery ramp: one more wave per round, each doubling (1, then 2 more, then 4 more…). */
  readonly rampRoundMs: number;
  /** A7: time the collector / remediation script runs in the guest. */
  readonly guestMs: number;
  /** A8: execution timeout of a hung script when the command passes none (`executionTimeout`). */
  readonly defaultExecutionTimeoutMs: number;
  /** A9: ModifyInstanceMetadataOptions stays `pending` this long, then `applied`. */
  readonly metadataApplyMs: number;
}

export const DEFAULT_RUN_COMMAND_MODEL: RunCommandModel = {
  rampRoundMs: 1000,
  guestMs: 5000,
  defaultExecutionTimeoutMs: COLLECTOR_STEP_TIMEOUT_SECONDS * 1000,
  metadataApplyMs: 2000,
};

// ---------------------------------------------------------------------------------------------
// Errors shaped like the SDK's

/** An AWS error as the SDK surfaces it: `name` is the service's error code. */
export class SimAwsError extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { httpStatusCode: number; requestId: string };
  readonly Code: string;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = code;
    this.Code = code;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status, requestId: 'sim' };
  }
}

// ---------------------------------------------------------------------------------------------
// Token bucket on virtual time

/** EC2-style bucket: a request takes one token or is throttled; tokens refill continuously. */
export class SimBucket {
  private tokens: number;
  private at: number;
  constructor(
    readonly spec: BucketSpec,
    private readonly now: () => number,
  ) {
    this.tokens = spec.capacity;
    this.at = now();
  }
  /** Takes a token if there is one. */
  take(): boolean {
    const t = this.now();
    if (t > this.at) {
      this.tokens = Math.min(this.spec.capacity, this.tokens + ((t - this.at) / 1000) * this.spec.refillPerSecond);
      this.at = t;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
  /** Tokens available now (for tests). */
  available(): number {
    const t = this.now();
    return Math.min(this.spec.capacity, this.tokens + (Math.max(0, t - this.at) / 1000) * this.spec.refillPerSecond);
  }
}


/** The `$metadata` an SSM exception class needs. */
export const ssmMeta = { $metadata: { httpStatusCode: 400, requestId: 'sim' } };

export function bump(m: Record<string, number>, k: string, by = 1): void {
  m[k] = (m[k] ?? 0) + by;
}

/** SSM `MaxConcurrency` / `MaxErrors` (a count or a percent of the targets) as a count. */
export function percentOrCount(spec: string | undefined, of: number, dflt: number): number {
  if (spec === undefined || spec === '') return dflt;
  const m = /^(\d+)%$/.exec(spec.trim());
  if (m) return Math.ceil((of * Number(m[1])) / 100);
  const v = Number(spec);
  return Number.isFinite(v) ? v : dflt;
}

/**
 * Index of the first item after the page token (0 without a token). Items are sorted by key; a
 * token is the last key returned, so a listing resumes correctly even when items vanish between pages.
 */
export function afterToken(length: number, keyAt: (k: number) => string, token: string | undefined): number {
  if (token === undefined) return 0;
  if (!token.startsWith('sim:')) throw new SimAwsError('InvalidNextToken', 'The specified token is invalid');
  const after = token.slice(4);
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keyAt(mid) <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** ids and tokens are opaque strings; a token is the last key returned. */
export function pageAfter<T>(items: readonly T[], key: (t: T) => string, token: string | undefined, size: number): { page: T[]; next?: string } {
  const start = afterToken(items.length, (k) => key(items[k]!), token);
  const page = items.slice(start, start + size);
  const more = start + size < items.length;
  return more ? { page, next: `sim:${key(page[page.length - 1]!)}` } : { page };
}

/**
 * One page of the items whose keys are `sorted`, from the token on, keeping those `keep` accepts:
 * O(page + skipped), never a pass over the whole list (the listing stays linear at 50,000 instances).
 */
export function indexedPage<T>(sorted: readonly string[], token: string | undefined, size: number, keep: (key: string) => T | undefined): { page: T[]; next?: string } {
  const page: T[] = [];
  let k = afterToken(sorted.length, (i) => sorted[i]!, token);
  let lastKey = '';
  for (; k < sorted.length && page.length < size; k++) {
    const t = keep(sorted[k]!);
    if (t !== undefined) {
      page.push(t);
      lastKey = sorted[k]!;
    }
  }
  // More only if another kept item follows (AWS may also return a token with an empty last page; we do not).
  for (; k < sorted.length; k++) if (keep(sorted[k]!) !== undefined) return { page, next: `sim:${lastKey}` };
  return { page };
}

