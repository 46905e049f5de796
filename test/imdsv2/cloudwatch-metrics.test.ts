import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { VirtualClock } from '../../lambda/aws/clock';
import { CloudWatchInstanceMetrics, queriesPerCall } from '../../lambda/aws/cloudwatch-metrics';
import { IMDS_METRICS, readinessWindow } from '../../lambda/core/imdsv2/readiness';
import { useSimAccount } from '../support/sim';

const sim = useSimAccount();
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 30, 2, 0);
const ids = (n: number): string[] => Array.from({ length: n }, (_, k) => `i-0${k.toString(16).padStart(16, '0')}`);

/** The simulated account's CloudWatch (the instances are CloudWatch series only), on a clock at NOW. */
function simulateCloudWatch(options: Parameters<typeof sim.simulate>[1] = {}) {
  const { clock, cloudwatch } = sim.simulate([], { clock: new VirtualClock(NOW), ...options });
  return { clock, cw: cloudwatch };
}

describe('CloudWatchInstanceMetrics', () => {
  it('reads 14 daily sums of 10,000 instances in at most 20 GetMetricData calls, every call within both limits', async () => {
    const { clock, cw } = simulateCloudWatch();
    const fleet = ids(10_000);
    for (const id of fleet) cw.runInstance(id, NOW - 30 * DAY, NOW, (d) => (id === fleet[42] && d === Date.UTC(2026, 10, 28) ? 1 : 0));
    const w = readinessWindow(NOW, 14);
    const port = new CloudWatchInstanceMetrics({ cloudwatch: new CloudWatchClient({}), clock });
    const sums = await port.sums(IMDS_METRICS.noToken, fleet, w.start, w.end, 86_400);
    expect(port.stats.calls).toBeLessThanOrEqual(20);
    expect(cw.stats.calls).toBe(port.stats.calls);
    for (const call of sim.cloudwatch.commandCalls(GetMetricDataCommand)) {
      const q = call.args[0].input.MetricDataQueries!;
      expect(q.length).toBeLessThanOrEqual(500);
      expect(q.length * 15).toBeLessThanOrEqual(100_800);
    }
    expect(sums.size).toBe(10_000);
    expect(sums.get(fleet[0]!)!.size).toBe(15); // 14 whole days and today so far
    expect(sums.get(fleet[42]!)!.get(Date.UTC(2026, 10, 28))).toBe(1);
  });

  it('shrinks its batches to the datapoint limit on a long lookback (455 days: 221 queries a call)', async () => {
    const { clock, cw } = simulateCloudWatch();
    const w = readinessWindow(NOW, 455);
    expect(queriesPerCall(w.start, w.end, 86_400)).toBe(221);
    const port = new CloudWatchInstanceMetrics({ cloudwatch: new CloudWatchClient({}), clock });
    await port.sums(IMDS_METRICS.noToken, ids(1000), w.start, w.end, 86_400);
    expect(cw.stats.calls).toBe(5); // the sim refuses any call over 100,800 possible datapoints
  });

  it('follows NextToken to the last page and joins the pages per instance', async () => {
    const { clock, cw } = simulateCloudWatch({ metricPageDatapoints: 1000 });
    const fleet = ids(400);
    for (const id of fleet) cw.runInstance(id, NOW - 30 * DAY, NOW, () => 2);
    const w = readinessWindow(NOW, 14);
    const port = new CloudWatchInstanceMetrics({ cloudwatch: new CloudWatchClient({}), clock });
    const sums = await port.sums(IMDS_METRICS.noToken, fleet, w.start, w.end, 86_400);
    expect(cw.stats.calls).toBe(6); // 6,000 points (15 a query) in pages of 1,000
    for (const id of fleet) expect([...sums.get(id)!.values()]).toEqual(Array(15).fill(2));
  });

  it('retries throttling on its clock until every batch is read', async () => {
    // GetMetricData at 1 request a second (burst 1).
    const { clock } = simulateCloudWatch({ getMetricDataBucket: { capacity: 1, refillPerSecond: 1 } });
    const port = new CloudWatchInstanceMetrics({ cloudwatch: new CloudWatchClient({}), clock, concurrency: 4 });
    const w = readinessWindow(NOW, 14);
    const sums = await port.sums(IMDS_METRICS.noToken, ids(4000), w.start, w.end, 86_400);
    const throttled = sim.account.stats.throttled['GetMetricData'];
    expect(throttled).toBeGreaterThan(0);
    expect(port.stats.throttled).toBe(throttled);
    expect(sums.size).toBe(4000);
  });

  it('marks an instance whose query came back Forbidden as unreadable, not as zero', async () => {
    // CloudWatch answers a query it may not read with StatusCode Forbidden (not simulated: a canned answer on the account's mock).
    const { clock } = simulateCloudWatch();
    sim.cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'q0', StatusCode: 'Complete', Timestamps: [new Date(NOW - DAY)], Values: [0] },
        { Id: 'q1', StatusCode: 'Forbidden', Timestamps: [], Values: [] },
      ],
    });
    const port = new CloudWatchInstanceMetrics({ cloudwatch: new CloudWatchClient({}), clock });
    const sums = await port.sums(IMDS_METRICS.noToken, ['i-a', 'i-b'], NOW - 2 * DAY, NOW, 86_400);
    expect(sums.get('i-a')!.get(NOW - DAY)).toBe(0);
    expect(sums.has('i-b')).toBe(true);
    expect(sums.get('i-b')).toBeUndefined();
  });
});
