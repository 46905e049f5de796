import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SimAccount } from '../../bench/sim/account';
import { simInstance } from '../../bench/sim/fleet';
import { DiscreteEventClock } from '../../bench/sim/virtual-clock';
import { VirtualClock } from '../../lambda/aws/clock';
import { CloudWatchInstanceMetrics } from '../../lambda/aws/cloudwatch-metrics';
import { IMDS_METRICS, readinessWindow } from '../../lambda/core/imdsv2/readiness';

const NOW = Date.UTC(2026, 10, 30, 2, 0);
const DAY = 86_400_000;

describe('the shared simulated account answers GetMetricData', () => {
  let account: SimAccount | undefined;
  afterEach(() => account?.restore());

  it('publishes a daily zero since each instance launched, and one call on the day the test says', async () => {
    const clock = new VirtualClock(NOW);
    account = new SimAccount([simInstance('i-old'), simInstance('i-young', { launchedAtMs: NOW - 3 * DAY })], clock).install();
    account.cloudwatch.runInstance('i-v1', NOW - 60 * DAY, NOW, (d) => (d === Date.UTC(2026, 10, 28) ? 1 : 0));
    const w = readinessWindow(NOW, 14);
    const sums = await new CloudWatchInstanceMetrics({ cloudwatch: new CloudWatchClient({}), clock }).sums(IMDS_METRICS.noToken, ['i-old', 'i-young', 'i-v1', 'i-unknown'], w.start, w.end, 86_400);
    expect(sums.get('i-old')!.size).toBe(15);
    expect(sums.get('i-young')!.size).toBe(4);
    expect(sums.get('i-v1')!.get(Date.UTC(2026, 10, 28))).toBe(1);
    expect(sums.get('i-unknown')!.size).toBe(0);
    expect(account.stats.calls['GetMetricData']).toBe(1);
  });

  it('throttles past 50 requests a second (its own bucket) and the adapter retries through it', async () => {
    // Concurrent waits overlap on the discrete-event clock, as on a real one: 60 calls at once.
    const clock = new DiscreteEventClock({ startMs: NOW });
    account = new SimAccount(Array.from({ length: 100 }, (_, k) => simInstance(`i-${k}`)), clock).install();
    const port = new CloudWatchInstanceMetrics({ cloudwatch: new CloudWatchClient({}), clock, concurrency: 60 });
    const w = readinessWindow(NOW, 455); // 221 queries a call
    const ids = Array.from({ length: 60 * 221 }, (_, k) => `i-${k % 100}-${k}`);
    const sums = await clock.run(() => port.sums(IMDS_METRICS.noToken, ids, w.start, w.end, 86_400));
    expect(sums.size).toBe(ids.length);
    expect(account.stats.throttled['GetMetricData']).toBeGreaterThan(0);
    expect(port.stats.throttled).toBe(account.stats.throttled['GetMetricData']);
  });
});
