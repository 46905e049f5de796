import { VirtualClock } from '../../lambda/aws/clock';
import { isThrottlingError, paginateWithRetry, PriorityRateLimiter, withRetry } from '../../lambda/aws/retry';
import { awsError } from '../support/sim';

describe('isThrottlingError', () => {
  it.each([
    ['RequestLimitExceeded', 400, true],
    ['ThrottlingException', 400, true],
    ['Throttling', 400, true],
    ['TooManyRequestsException', 400, true],
    ['SomethingElse', 429, true],
    ['AccessDeniedException', 400, false],
    ['InvalidInstanceId', 400, false],
    ['InternalError', 500, false],
  ])('%s (HTTP %d) → %s', (name, status, expected) => {
    expect(isThrottlingError(awsError(name, status))).toBe(expected);
  });

  it.each([null, undefined, 'RequestLimitExceeded', 42, {}])('is false for a non-error %p', (v) => {
    expect(isThrottlingError(v)).toBe(false);
  });
});

describe('withRetry', () => {
  it('retries throttling until it succeeds, waiting on the injected clock with growing backoff', async () => {
    const clock = new VirtualClock();
    const waits: number[] = [];
    let calls = 0;
    const out = await withRetry(
      async () => {
        if (++calls < 4) throw awsError('RequestLimitExceeded');
        return 'ok';
      },
      clock,
      { random: () => 0.999, onRetry: (i) => waits.push(i.delayMs) },
    );
    expect(out).toBe('ok');
    expect(calls).toBe(4);
    expect(waits).toEqual([499, 999, 1998]);
    expect(clock.slept).toBe(499 + 999 + 1998);
  });

  it('caps each wait at maxDelayMs', async () => {
    const clock = new VirtualClock();
    const waits: number[] = [];
    await expect(
      withRetry(() => Promise.reject(awsError('Throttling')), clock, { maxAttempts: 10, random: () => 0.999, onRetry: (i) => waits.push(i.delayMs) }),
    ).rejects.toThrow();
    expect(Math.max(...waits)).toBeLessThanOrEqual(20_000);
    expect(waits).toHaveLength(9);
  });

  it('gives up after maxAttempts and rethrows the throttling error unchanged', async () => {
    const err = awsError('ThrottlingException');
    let calls = 0;
    await expect(
      withRetry(
        () => {
          calls++;
          return Promise.reject(err);
        },
        new VirtualClock(),
        { maxAttempts: 3 },
      ),
    ).rejects.toBe(err);
    expect(calls).toBe(3);
  });

  it('never retries an error that is not throttling', async () => {
    let calls = 0;
    const clock = new VirtualClock();
    await expect(
      withRetry(() => {
        calls++;
        return Promise.reject(awsError('AccessDeniedException'));
      }, clock),
    ).rejects.toThrow('AccessDeniedException');
    expect(calls).toBe(1);
    expect(clock.sleeps).toBe(0);
  });
});

describe('paginateWithRetry', () => {
  it('resumes from the last good token after a throttled page instead of starting over', async () => {
    const pages = [{ items: [1, 2], next: 'a' }, { items: [3, 4], next: 'b' }, { items: [5] }];
    const tokens: (string | undefined)[] = [];
    let throttleOnce = true;
    async function* open(start: string | undefined): AsyncGenerator<{ items: number[]; next?: string }> {
      let idx = start === undefined ? 0 : start === 'a' ? 1 : 2;
      for (;;) {
        tokens.push(start);
        if (idx === 1 && throttleOnce) {
          throttleOnce = false;
          throw awsError('RequestLimitExceeded');
        }
        const p = pages[idx]!;
        yield p;
        if (!p.next) return;
        idx++;
        start = p.next;
      }
    }
    const got: number[] = [];
    for await (const p of paginateWithRetry(open, (p) => p.next, new VirtualClock())) got.push(...p.items);
    expect(got).toEqual([1, 2, 3, 4, 5]);
    // Never restarted from the first page after the throttle.
    expect(tokens.filter((t) => t === undefined)).toHaveLength(1);
  });
});

describe('PriorityRateLimiter', () => {
  it('hands tokens to the most urgent waiting call first, in arrival order within an urgency', async () => {
    const clock = new VirtualClock();
    const order: string[] = [];
    const limiter = new PriorityRateLimiter({ capacity: 1, initialRate: 10 }, clock, (op) => (op === 'urgent' ? 0 : 1));
    await limiter.acquire('first');
    const calls = ['late-1', 'urgent', 'late-2', 'urgent'].map((op, k) => limiter.acquire(op).then(() => order.push(`${op}#${k}`)));
    await Promise.all(calls);
    expect(order).toEqual(['urgent#1', 'urgent#3', 'late-1#0', 'late-2#2']);
  });

  it('paces calls at its rate on the injected clock and slows down when the server throttles', async () => {
    const clock = new VirtualClock();
    const limiter = new PriorityRateLimiter({ capacity: 2, initialRate: 10 }, clock);
    const t0 = clock.now();
    for (let k = 0; k < 12; k++) await limiter.acquire('call');
    // 2 from the burst, 10 more at 10/s.
    expect(clock.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(clock.now() - t0).toBeLessThan(1100);
    limiter.throttled();
    expect(limiter.bucket.rate).toBeCloseTo(5, 1);
  });

  it('routes retries through the limiter: every attempt takes a token, every throttle slows it', async () => {
    const clock = new VirtualClock();
    const limiter = new PriorityRateLimiter({ capacity: 10, initialRate: 10 }, clock);
    let attempts = 0;
    const out = await withRetry(
      async () => {
        attempts++;
        if (attempts < 3) throw awsError('ThrottlingException');
        return 'ok';
      },
      clock,
      limiter.retryOptions({ random: () => 0, operation: 'SendCommand' }),
    );
    expect(out).toBe('ok');
    expect(limiter.bucket.throttles).toBe(2);
    expect(limiter.bucket.rate).toBeLessThan(10);
  });
});
