/**
 * The benchmark's yardsticks: bounds and prices must match the documented derivations
 * (bench/README.md, /work/shared/reference/aws-limits.md), or every ratio it prints is wrong.
 */
import { checkCallBounds, checkTimeBound, modifyPacingSeconds, type FleetShape } from '../../bench/bounds';
import { metricsMonthlyUSD, monthlyCost, sfnTransitions } from '../../bench/cost';
import { deliveryMakespanMs } from '../../bench/sim/account';
import { COLLECTOR_STEP_TIMEOUT_SECONDS } from '../../lib/constructs/guest-documents';

const STEP = COLLECTOR_STEP_TIMEOUT_SECONDS;

const shape = (n: number, extra: Partial<FleetShape> = {}): FleetShape => ({ n, managed: n, targets: n, cutOutputs: 0, hung: 0, ...extra });

describe('lower bounds', () => {
  it('derives the call bound of a check from page sizes and the 50-id cap', () => {
    expect(checkCallBounds(shape(10_000, { managed: 9000, targets: 8309, cutOutputs: 311 }))).toEqual({
      DescribeInstances: 10,
      DescribeInstanceInformation: 180,
      SendCommand: 167,
      ListCommands: 4,
      ListCommandInvocations: 167,
      GetCommandInvocation: 311,
      total: 839,
    });
  });

  it('ramps 50 targets at 25 concurrency in 14 s of 5 s scripts (1, 3, 7, 15, 25 in flight)', () => {
    expect(deliveryMakespanMs(50, 25)).toBe(14_000);
    expect(deliveryMakespanMs(1, 25)).toBe(5_000);
  });

  it('needs (M − 100)/5 s of ModifyInstanceMetadataOptions pacing: 1,980 s for 10,000, none for 100', () => {
    expect(modifyPacingSeconds(10_000)).toBe(1980);
    expect(modifyPacingSeconds(100)).toBe(0);
  });

  it('lets a hung collector hold the check for the collector step timeout', () => {
    const healthy = checkTimeBound(shape(1000));
    const hung = checkTimeBound(shape(1000, { hung: 1 }));
    // First describe page (1 s) + SendCommand (0.1 s) + the step timeout + one Details page (0.3 s).
    expect(hung.seconds).toBeCloseTo(1.4 + STEP, 6);
    expect(healthy.seconds).toBeLessThan(hung.seconds);
    // A list-then-run design waits for the whole inventory first, then the step timeout instead of a 14 s batch.
    expect(hung.listThenRun - healthy.listThenRun).toBeCloseTo(STEP - 14, 6);
  });

  it('cannot target a hung instance before the listing page that names it has arrived', () => {
    const late = checkTimeBound(shape(10_000, { managed: 9000, targets: 2, hung: 1, targetPages: [
      { describePage: 0, diiPage: 0, hung: false },
      { describePage: 9, diiPage: 179, hung: true },
    ] }));
    // Page 180 of DescribeInstanceInformation arrives at 54 s; then SendCommand, the step timeout, one Details page.
    expect(late.listingOrderPath).toBeCloseTo(54 + 0.1 + STEP + 0.3, 6);
    expect(late.seconds).toBe(late.listingOrderPath);
  });

  it('bounds a check by its inventory for any design, and by inventory + Run Command for a list-then-run one', () => {
    const b = checkTimeBound(shape(10_000, { managed: 9000, targets: 8309 }));
    expect(b.inventory).toBeCloseTo(54, 6); // 180 DescribeInstanceInformation pages × 0.3 s
    expect(b.seconds).toBeCloseTo(54 + 0.1 + 5 + 0.3, 6);
    expect(b.listThenRun).toBeGreaterThan(b.seconds);
  });
});

describe('prices', () => {
  it('tiers custom metrics: 40,000 per-instance metrics cost $6,000 a month, 10 fleet metrics $3', () => {
    expect(metricsMonthlyUSD(40_000)).toBeCloseTo(6000, 6);
    expect(metricsMonthlyUSD(10)).toBeCloseTo(3, 6);
  });

  it('prorates nightly metrics to 1/24 and prices logs per GiB', () => {
    const c = monthlyCost({
      hourlyCheck: { seconds: 0, logBytes: 0, invocations: 0 },
      nightlyRemediation: { seconds: 0, logBytes: 2 ** 30 / 30, invocations: 0 },
      checkMetrics: 0,
      remediationMetrics: 24,
      alarms: 0,
    });
    expect(c.metrics).toBeCloseTo(0.3, 6);
    expect(c.logs).toBeCloseTo(0.5, 6);
  });

  it('counts the state machine transitions of a run that loops twice', () => {
    expect(sfnTransitions(3)).toBe(4 + 6 + 2 + 1);
  });
});
