import 'aws-sdk-client-mock-jest';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { VirtualClock } from '../../lambda/aws/clock';
import { putCheckMetrics } from '../../lambda/aws/metrics';
import { aggregate, type FleetSummary, SPARSE_CHECK_METRICS } from '../../lambda/core/fleet/aggregate';
import { CHECK_METRICS } from '../../lambda/core/fleet/metric-names';
import { awsError } from '../support/sim';

const cwMock = mockClient(CloudWatchClient);

function summaryWithBounds(bounds: number[]): FleetSummary {
  return { ...aggregate([], { maxOffsetSeconds: 1, maxClockErrorBoundSeconds: 1 }), clockErrorBounds: bounds };
}

beforeEach(() => cwMock.reset());

describe('putCheckMetrics', () => {
  it('merges identical bound values into Values/Counts and splits at 150 values per datum', async () => {
    cwMock.on(PutMetricDataCommand).resolves({});
    const bounds = [...Array.from({ length: 400 }, (_, i) => i / 1000), 0.001, 0.001];
    const calls = await putCheckMetrics(new CloudWatchClient({}), 'TimeSyncGuard', summaryWithBounds(bounds), new VirtualClock());
    expect(calls).toBe(1);
    const data = cwMock.commandCalls(PutMetricDataCommand)[0]!.args[0].input.MetricData!;
    const boundData = data.filter((d) => d.MetricName === CHECK_METRICS.clockErrorBoundSeconds);
    expect(boundData.map((d) => d.Values!.length)).toEqual([150, 150, 100]);
    expect(boundData.flatMap((d) => d.Counts!).reduce((a, b) => a + b, 0)).toBe(402);
    expect(data.filter((d) => d.Unit === 'Count')).toHaveLength(Object.keys(CHECK_METRICS).length - 1 - SPARSE_CHECK_METRICS.size);
  });

  it('publishes the counts (all zero) and no bound datum for an empty fleet', async () => {
    cwMock.on(PutMetricDataCommand).resolves({});
    await putCheckMetrics(new CloudWatchClient({}), 'NS', summaryWithBounds([]), new VirtualClock());
    const data = cwMock.commandCalls(PutMetricDataCommand)[0]!.args[0].input.MetricData!;
    expect(data.every((d) => d.Value === 0 && d.Unit === 'Count')).toBe(true);
  });

  it('retries a throttled PutMetricData on the clock', async () => {
    cwMock.on(PutMetricDataCommand).rejectsOnce(awsError('Throttling')).resolves({});
    const clock = new VirtualClock();
    await putCheckMetrics(new CloudWatchClient({}), 'NS', summaryWithBounds([0.1]), clock);
    expect(cwMock).toHaveReceivedCommandTimes(PutMetricDataCommand, 2);
    expect(clock.sleeps).toBe(1);
  });
});
