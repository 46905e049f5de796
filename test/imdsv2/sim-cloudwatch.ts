/**
 * Test wiring of the simulated CloudWatch (bench/sim/cloudwatch.ts) behind aws-sdk-client-mock:
 * the real adapter's GetMetricData requests answered by the sim, on a virtual clock (each call
 * costs its simulated latency).
 */
import { type CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { AwsStub } from 'aws-sdk-client-mock';
import type { VirtualClock } from '../../lambda/aws/clock';
import { SimCloudWatch, type SimCloudWatchOptions, type SimGetMetricDataInput } from '../../bench/sim/cloudwatch';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CwStub = AwsStub<any, any, CloudWatchClient['config']>;

export function simulateCloudWatch(stub: CwStub, clock: VirtualClock, options: SimCloudWatchOptions = {}): SimCloudWatch {
  const sim = new SimCloudWatch(clock, options);
  stub.on(GetMetricDataCommand).callsFake(async (input: SimGetMetricDataInput) => {
    const { result, latency } = sim.getMetricData(input);
    await clock.sleep(latency);
    return result;
  });
  return sim;
}
