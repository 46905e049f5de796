/**
 * A client-side token bucket that mirrors an EC2 API throttling bucket (e.g. ModifyInstanceMetadataOptions:
 * capacity 100, refill 5/s), so that a fleet-wide run spends its time waiting on our side instead of
 * collecting `RequestLimitExceeded` errors. Pure: time comes from an injected `now()`; waiting is the
 * caller's business (through its injected clock), which keeps a virtual-clock benchmark exact.
 */

/** Capacity and refill rate of one bucket. */
export interface TokenBucketOptions {
  /** Maximum tokens (the burst). */
  readonly capacity: number;
  /** Tokens added per second. */
  readonly refillPerSecond: number;
}

/** A bucket's state, compact enough to carry in a continuation. */
export interface TokenBucketState {
  readonly tokens: number;
  /** Clock ms at which `tokens` was true. */
  readonly at: number;
}

/** EC2's published bucket for ModifyInstanceMetadataOptions (aws-limits.md). */
export const MODIFY_METADATA_BUCKET: TokenBucketOptions = { capacity: 100, refillPerSecond: 5 };
/** EC2's non-mutating (Describe*) bucket, for filtered/paginated calls. */
export const NON_MUTATING_BUCKET: TokenBucketOptions = { capacity: 100, refillPerSecond: 20 };

export class TokenBucket {
  private tokens: number;
  private at: number;

  /**
   * @param options capacity and refill; both must be positive and finite.
   * @param now injected clock (ms).
   * @param state resume from a saved state; by default the bucket starts full (AWS's starts full too).
   */
  constructor(
    private readonly options: TokenBucketOptions,
    private readonly now: () => number,
    state?: TokenBucketState,
  ) {
    if (!(options.capacity > 0) || !(options.refillPerSecond > 0) || !Number.isFinite(options.capacity) || !Number.isFinite(options.refillPerSecond)) {
      throw new RangeError(`token bucket: capacity and refillPerSecond must be positive, got ${JSON.stringify(options)}`);
    }
    const t = now();
    if (state && Number.isFinite(state.tokens) && Number.isFinite(state.at)) {
      this.tokens = Math.min(options.capacity, Math.max(0, state.tokens));
      this.at = Math.min(state.at, t);
    } else {
      this.tokens = options.capacity;
      this.at = t;
    }
  }

  private refill(): void {
    const t = this.now();
    // A clock that goes backwards (virtual clocks, NTP steps) must not mint or destroy tokens.
    if (t > this.at) {
      this.tokens = Math.min(this.options.capacity, this.tokens + ((t - this.at) / 1000) * this.options.refillPerSecond);
    }
    this.at = Math.max(this.at, t);
  }

  /** Tokens available now (fractional). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Milliseconds until `n` tokens are available (0 when they are now). */
  waitMs(n = 1): number {
    this.refill();
    if (this.tokens >= n) return 0;
    return Math.ceil(((n - this.tokens) / this.options.refillPerSecond) * 1000);
  }

  /** Takes `n` tokens if available now; returns whether it did. */
  tryTake(n = 1): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /**
   * Waits (through `sleep`) until `n` tokens are available, then takes them. Returns the ms waited.
   * @param sleep the caller's injected clock sleep.
   */
  async take(sleep: (ms: number) => Promise<void>, n = 1): Promise<number> {
    if (n > this.options.capacity) throw new RangeError(`token bucket: cannot take ${n} > capacity ${this.options.capacity}`);
    let waited = 0;
    for (;;) {
      const w = this.waitMs(n);
      if (w === 0 && this.tryTake(n)) return waited;
      await sleep(Math.max(1, w));
      waited += Math.max(1, w);
    }
  }

  /**
   * The server said we are throttled: its bucket is empty whatever ours believes (other callers in
   * the account share it). Empty ours so the next call waits for a real refill.
   */
  drain(): void {
    this.refill();
    this.tokens = 0;
  }

  /** State to carry across a continuation. */
  state(): TokenBucketState {
    this.refill();
    return { tokens: this.tokens, at: this.at };
  }
}
