/**
 * The coverage port's SSM call (GetServiceSetting) waits its turn in the account's SSM limiter, the
 * one the inventory and Run Command share: SSM's rate is one bucket, and a call that bypassed the
 * limiter would take a token the limiter counted on, so a SendCommand would be throttled and the
 * limiter would halve its rate for the rest of the check.
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import { createAwsCoveragePort } from '../../lambda/aws/coverage';
import { PriorityRateLimiter } from '../../lambda/aws/retry';
import { ssmLimiter, ssmPriority } from '../../lambda/aws/run-command';
import { DiscreteEventClock } from '../../bench/sim/virtual-clock';

function fakeSsm(clock: DiscreteEventClock, calledAt: number[]): Pick<SSMClient, 'send'> {
  return {
    send: (async () => {
      calledAt.push(clock.now());
      return { ServiceSetting: { SettingValue: '$None' } };
    }) as unknown as SSMClient['send'],
  };
}

const noEc2 = { send: (async () => ({})) as never };

/** The coverage port on a fake SSM, sharing a limiter of one token refilled at 10/s. */
function coverageOnOneTokenLimiter() {
  const clock = new DiscreteEventClock();
  const calledAt: number[] = [];
  const ssm = fakeSsm(clock, calledAt);
  const limiter = new PriorityRateLimiter({ capacity: 1, initialRate: 10 }, clock, ssmPriority);
  const port = createAwsCoveragePort({ ec2: noEc2, ssm, profile: async () => ({ state: 'unknown', detail: 'not asked' }) as never, clock, ssmLimiter: limiter });
  return { clock, calledAt, limiter, port };
}

test('GetServiceSetting waits for a token of the shared SSM limiter (no token, no call)', async () => {
  const { clock, calledAt, limiter, port } = coverageOnOneTokenLimiter();
  await clock.run(async () => {
    await limiter.acquire('SendCommand'); // the only token
    const start = clock.now();
    await expect(port.dhmc()).resolves.toEqual({ state: 'off' });
    // One token at 10 per second: 100 ms later.
    expect(calledAt).toEqual([start + 100]);
  });
});

test('GetServiceSetting goes after SendCommand calls already waiting (a read, priority 2)', async () => {
  const { clock, limiter, port } = coverageOnOneTokenLimiter();
  await clock.run(async () => {
    await limiter.acquire('SendCommand');
    const order: string[] = [];
    const setting = port.dhmc().then(() => order.push('GetServiceSetting'));
    const sends = [limiter.acquire('SendCommand'), limiter.acquire('SendCommand')].map((p) => p.then(() => order.push('SendCommand')));
    await Promise.all([setting, ...sends]);
    expect(order).toEqual(['SendCommand', 'SendCommand', 'GetServiceSetting']);
  });
});

test('by default the port uses the limiter Run Command shares on the same client and clock', async () => {
  const clock = new DiscreteEventClock();
  const calledAt: number[] = [];
  const ssm = fakeSsm(clock, calledAt);
  const shared = ssmLimiter(ssm, clock);
  const port = createAwsCoveragePort({ ec2: noEc2, ssm, profile: async () => ({ state: 'unknown', detail: 'not asked' }) as never, clock });
  await clock.run(async () => {
    // Empty the shared bucket (40): the setting must wait for the refill (20 per second).
    for (let k = 0; k < 40; k++) await shared.acquire('DescribeInstanceInformation');
    const start = clock.now();
    await port.dhmc();
    expect(calledAt[0]).toBeGreaterThanOrEqual(start + 50);
  });
});
