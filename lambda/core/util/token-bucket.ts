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

/** Tuning of {@link AdaptiveTokenBucket}. */
export interface AdaptiveRateOptions {
  /** Maximum tokens (the burst). */
  readonly capacity: number;
  /** Rate to start from (tokens per second): the documented or assumed rate of the API. */
  readonly initialRate: number;
  /**
   * Highest rate it recovers to.
   * @default initialRate
   */
  readonly maxRate?: number;
  /** Lowest rate a run of throttles can push it to. @default 1 */
  readonly minRate?: number;
  /** Additive increase: tokens per second added to the rate per throttle-free second. @default 2 */
  readonly increasePerSecond?: number;
  /** Multiplicative decrease on a throttle, in (0, 1). @default 0.5 */
  readonly decreaseFactor?: number;
  /**
   * Throttles within this long of the last decrease count as the same event: requests sent
   * together are throttled together, and one overshoot must not halve the rate five times.
   * @default 1000
   */
  readonly decreaseCooldownMs?: number;
}

/**
 * A client-side token bucket whose refill rate adapts AIMD-style (as TCP's congestion window and
 * the SDK's adaptive retry mode do): it starts at the assumed rate, halves on a throttle (and empties,
 * because the server's bucket is empty whatever ours believes: the account's other callers share it),
 * and climbs back linearly while no throttle comes. Pure: time from an injected `now()`.
 */
export class AdaptiveTokenBucket {
  private tokens: number;
  private at: number;
  private currentRate: number;
  private lastDecrease = Number.NEGATIVE_INFINITY;
  private readonly o: Required<AdaptiveRateOptions>;
  /** Throttles seen (each counted, even those inside the cooldown). */
  public throttles = 0;

  constructor(options: AdaptiveRateOptions, private readonly now: () => number) {
    const o = {
      maxRate: options.initialRate,
      minRate: 1,
      increasePerSecond: 2,
      decreaseFactor: 0.5,
      decreaseCooldownMs: 1000,
      ...options,
    };
    const positive = [o.capacity, o.initialRate, o.maxRate, o.minRate, o.increasePerSecond].every((v) => Number.isFinite(v) && v > 0);
    if (!positive || !(o.decreaseFactor > 0 && o.decreaseFactor < 1) || o.minRate > o.maxRate || !(o.decreaseCooldownMs >= 0)) {
      throw new RangeError(`adaptive token bucket: invalid options ${JSON.stringify(options)}`);
    }
    this.o = o;
    this.currentRate = Math.min(o.maxRate, Math.max(o.minRate, o.initialRate));
    this.tokens = o.capacity;
    this.at = now();
  }

  /** The refill rate now (tokens per second). */
  get rate(): number {
    this.refill();
    return this.currentRate;
  }

  private refill(): void {
    const t = this.now();
    if (t > this.at) {
      const dt = (t - this.at) / 1000;
      // Tokens at the old rate over the interval, then the additive increase: a conservative order.
      this.tokens = Math.min(this.o.capacity, this.tokens + dt * this.currentRate);
      this.currentRate = Math.min(this.o.maxRate, this.currentRate + dt * this.o.increasePerSecond);
    }
    this.at = Math.max(this.at, t);
  }

  /** Tokens in the bucket now (fractional): with `rate`, when the next calls can go out. */
  get available(): number {
    this.refill();
    return this.tokens;
  }

  /** Milliseconds until a token is available (0 when one is now). */
  waitMs(): number {
    this.refill();
    if (this.tokens >= 1) return 0;
    return Math.max(1, Math.ceil(((1 - this.tokens) / this.currentRate) * 1000));
  }

  /** Takes a token if one is available now. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** The server throttled a request: multiplicative decrease (once per cooldown) and an empty bucket. */
  throttled(): void {
    this.refill();
    this.throttles++;
    this.tokens = 0;
    const t = this.now();
    if (t - this.lastDecrease < this.o.decreaseCooldownMs) return;
    this.lastDecrease = t;
    this.currentRate = Math.max(this.o.minRate, this.currentRate * this.o.decreaseFactor);
  }
}
