/**
 * PriorityRateLimiter.etaMs: when the k-th call asked after those already waiting can go out, the
 * schedule the collector run plans its last commands on (RunCommandSession.sizeTail).
 */
import { PriorityRateLimiter } from '../../lambda/aws/retry';
import { DiscreteEventClock } from '../../bench/sim/virtual-clock';

test('with tokens in the bucket the next calls go now; past them, one per 1/rate s', async () => {
  const clock = new DiscreteEventClock();
  const limiter = new PriorityRateLimiter({ capacity: 3, initialRate: 20 }, clock);
  expect([0, 1, 2].map((k) => limiter.etaMs(k))).toEqual([0, 0, 0]);
  expect(limiter.etaMs(3)).toBeCloseTo(50);
  expect(limiter.etaMs(12)).toBeCloseTo(500);
});

test('calls already waiting go first: they push the schedule back', async () => {
  const clock = new DiscreteEventClock();
  const limiter = new PriorityRateLimiter({ capacity: 1, initialRate: 10 }, clock);
  await clock.run(async () => {
    await limiter.acquire('SendCommand'); // the only token
    const waiting = [limiter.acquire('SendCommand'), limiter.acquire('SendCommand')];
    expect(limiter.waiting).toBe(2);
    // Two waiting, the bucket empty: the next new call is the third in line, 300 ms away at 10 per second.
    expect(limiter.etaMs(0)).toBeCloseTo(300);
    await Promise.all(waiting);
  });
});
