import { AdaptiveTokenBucket, MODIFY_METADATA_BUCKET, TokenBucket } from '../../lambda/core/util/token-bucket';

function fakeTime(start = 1_000_000) {
  let t = start;
  return { now: () => t, sleep: async (ms: number) => { t += ms; }, set: (v: number) => { t = v; } };
}

describe('TokenBucket', () => {
  it('starts full and allows the burst, then paces at the refill rate', async () => {
    const c = fakeTime();
    const b = new TokenBucket(MODIFY_METADATA_BUCKET, c.now);
    const start = c.now();
    for (let i = 0; i < 100; i++) expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(false);
    for (let i = 0; i < 50; i++) await b.take(c.sleep);
    // 50 more tokens at 5/s = 10 s.
    expect(c.now() - start).toBe(10_000);
  });

  it('needs (M − 100)/5 seconds for M calls, the figure the issue quotes', async () => {
    const c = fakeTime();
    const b = new TokenBucket(MODIFY_METADATA_BUCKET, c.now);
    const start = c.now();
    for (let i = 0; i < 1_000; i++) await b.take(c.sleep);
    expect((c.now() - start) / 1000).toBeCloseTo(180, 0);
  });

  it('never holds more than its capacity however long it idles', () => {
    const c = fakeTime();
    const b = new TokenBucket({ capacity: 10, refillPerSecond: 1 }, c.now);
    c.set(c.now() + 3_600_000);
    expect(b.available()).toBe(10);
  });

  it('drain() empties the bucket so the next take waits for a real refill', async () => {
    const c = fakeTime();
    const b = new TokenBucket({ capacity: 100, refillPerSecond: 5 }, c.now);
    b.drain();
    expect(b.waitMs()).toBe(200);
    const waited = await b.take(c.sleep);
    expect(waited).toBe(200);
  });

  it('a clock that steps backwards neither mints nor destroys tokens', () => {
    const c = fakeTime(10_000);
    const b = new TokenBucket({ capacity: 10, refillPerSecond: 1 }, c.now);
    for (let i = 0; i < 10; i++) b.tryTake();
    c.set(5_000);
    expect(b.available()).toBe(0);
    c.set(11_000);
    expect(b.available()).toBeCloseTo(1, 5);
  });

  it('resumes from a saved state, adding what refilled in between', () => {
    const c = fakeTime(0);
    const b = new TokenBucket({ capacity: 100, refillPerSecond: 5 }, c.now);
    for (let i = 0; i < 100; i++) b.tryTake();
    const saved = b.state();
    c.set(4_000);
    const resumed = new TokenBucket({ capacity: 100, refillPerSecond: 5 }, c.now, saved);
    expect(resumed.available()).toBeCloseTo(20, 5);
  });

  it.each([
    [{ capacity: 0, refillPerSecond: 1 }],
    [{ capacity: 10, refillPerSecond: 0 }],
    [{ capacity: Number.NaN, refillPerSecond: 1 }],
    [{ capacity: Infinity, refillPerSecond: 1 }],
  ])('rejects a nonsensical configuration %j', (opts) => {
    expect(() => new TokenBucket(opts, () => 0)).toThrow(/positive/);
  });

  it('refuses to take more than the capacity (it would wait forever)', async () => {
    const b = new TokenBucket({ capacity: 2, refillPerSecond: 1 }, () => 0);
    await expect(b.take(async () => undefined, 3)).rejects.toThrow(/capacity/);
  });

  it('ignores a corrupt saved state and starts full', () => {
    const b = new TokenBucket({ capacity: 7, refillPerSecond: 1 }, () => 0, { tokens: Number.NaN, at: 0 });
    expect(b.available()).toBe(7);
  });
});

describe('AdaptiveTokenBucket', () => {
  const opts = { capacity: 40, initialRate: 20 };

  it('starts at the assumed rate with a full burst, and paces at that rate after it', () => {
    const c = fakeTime();
    const b = new AdaptiveTokenBucket(opts, c.now);
    for (let i = 0; i < 40; i++) expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(false);
    expect(b.waitMs()).toBe(50);
    c.set(c.now() + 1000);
    expect(b.rate).toBe(20);
    let taken = 0;
    while (b.tryTake()) taken++;
    expect(taken).toBe(20);
  });

  it('halves its rate and empties on a throttle, once per cooldown however many calls were throttled together', () => {
    const c = fakeTime();
    const b = new AdaptiveTokenBucket(opts, c.now);
    b.throttled();
    b.throttled();
    b.throttled();
    expect(b.rate).toBe(10);
    expect(b.throttles).toBe(3);
    expect(b.tryTake()).toBe(false);
    c.set(c.now() + 1500);
    b.throttled();
    expect(b.rate).toBeCloseTo((10 + 1.5 * 2) / 2, 6);
  });

  it('climbs back linearly while no throttle comes, never above the assumed rate, never below the floor', () => {
    const c = fakeTime();
    const b = new AdaptiveTokenBucket({ ...opts, minRate: 2 }, c.now);
    for (let k = 0; k < 10; k++) {
      b.throttled();
      c.set(c.now() + 1000);
    }
    expect(b.rate).toBeGreaterThanOrEqual(2);
    c.set(c.now() + 3000);
    const r = b.rate;
    c.set(c.now() + 1000);
    expect(b.rate).toBeCloseTo(Math.min(20, r + 2), 6);
    c.set(c.now() + 60_000);
    expect(b.rate).toBe(20);
  });

  it('refuses options it could not honour', () => {
    const c = fakeTime();
    expect(() => new AdaptiveTokenBucket({ capacity: 0, initialRate: 20 }, c.now)).toThrow(RangeError);
    expect(() => new AdaptiveTokenBucket({ capacity: 40, initialRate: 20, decreaseFactor: 1 }, c.now)).toThrow(RangeError);
    expect(() => new AdaptiveTokenBucket({ capacity: 40, initialRate: 20, minRate: 30 }, c.now)).toThrow(RangeError);
  });
});
