/**
 * The benchmark's yardsticks: bounds and prices must match the documented derivations
 * (bench/README.md, the team's shared reference aws-limits.md), or every ratio it prints is wrong.
 */
import { checkCallBounds, checkTimeBound, closedFormAfterInventoryMs, collectorWaitToMeetTargets, defaultTimeModel, deliveryAfterInventoryMs, deliveryRampMs, describeArrivals, modifyPacingSeconds, rampCapacity, type FleetShape } from '../../bench/bounds';
import { metricsMonthlyUSD, monthlyCost, sfnTransitions } from '../../bench/cost';
import { deliveryMakespanMs } from '../../bench/sim/account';
import { COLLECTOR_STEP_TIMEOUT_SECONDS } from '../../lib/constructs/guest-documents';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const STEP = COLLECTOR_STEP_TIMEOUT_SECONDS;

const shape = (n: number, extra: Partial<FleetShape> = {}): FleetShape => ({ n, managed: n, targets: n, cutOutputs: 0, hung: 0, ...extra });

describe('lower bounds', () => {
  it('derives the call bound of a check from page sizes and the 50-id cap, with no completion poll and no report-size term', () => {
    const s = shape(10_000, { managed: 9000, targets: 8309, cutOutputs: 311 });
    expect(checkCallBounds(s)).toEqual({
      DescribeInstances: 10,
      DescribeInstanceInformation: 180,
      SendCommand: 167,
      // Completion can come from the EventBridge status-change event: no design must poll.
      ListCommands: 0,
      ListCommandInvocations: 167,
      // A report that fits Details needs none: how long this project's report is, is not the model's.
      GetCommandInvocation: 0,
      // No instance off SSM in this shape: only the Auto Scaling groups' page of the launch sources.
      CoverageAndSources: 1,
      total: 525,
    });
    // The bound before issue 25 (kept for the old figures) counted one per report over the cap.
    expect(checkCallBounds(s, { reportSizeTerm: true })).toMatchObject({ GetCommandInvocation: 311, CoverageAndSources: 0, total: 835 });
  });

  it('counts what the coverage report needs once any instance is off SSM: the DHMC setting, routes, endpoints, and two calls per distinct profile', () => {
    const s = { ...shape(1000, { managed: 900, targets: 830, cutOutputs: 0 }), notOnline: 170, notOnlineProfiles: 7 };
    expect(checkCallBounds(s).CoverageAndSources).toBe(3 + 2 * 7 + 1);
  });

  it('ramps 50 targets at 25 concurrency in 14 s of 5 s scripts (1, 3, 7, 15, 25 in flight)', () => {
    expect(deliveryMakespanMs(50, 25)).toBe(14_000);
    expect(deliveryMakespanMs(1, 25)).toBe(5_000);
  });

  it('lets one command start 1, 3, 7, 15, 31 targets within 0–4 ramp rounds and all 50 from the fifth', () => {
    expect([0, 999, 1000, 2000, 3000, 4000, 4999, 5000].map((x) => rampCapacity(x))).toEqual([1, 1, 3, 7, 15, 31, 31, 50]);
    expect(rampCapacity(-1)).toBe(0);
  });

  it('finds the fastest start of N targets over any command sizes under the SSM bucket', () => {
    const bucket = { capacity: 40, refillPerSecond: 20 };
    // 50 single-id commands: 40 from the burst at once, 10 more at 20/s (0.5 s); no ramp.
    expect(deliveryRampMs(50, bucket)).toBeCloseTo(500, -1);
    // 843 targets (the 1,000-instance fleet): commands of 15 three rounds in, the bucket refilling meanwhile.
    expect(deliveryRampMs(843, bucket)).toBeGreaterThan(3000);
    expect(deliveryRampMs(843, bucket)).toBeLessThan(3200);
    expect(deliveryRampMs(0, bucket)).toBe(0);
  });

  it('cannot start 843 targets sooner than the fifth ramp round with fewer than 28 commands, nor at all with 16', () => {
    const bucket = { capacity: 40, refillPerSecond: 20 };
    // 31 per command within four rounds: 27 commands hold 837, so the rest wait for round five.
    expect(deliveryRampMs(843, bucket, undefined, 17)).toBe(5000);
    expect(deliveryRampMs(843, bucket, undefined, 27)).toBe(5000);
    expect(deliveryRampMs(843, bucket, undefined, 28)).toBe(4000);
    // 16 commands hold only 800 ids.
    expect(deliveryRampMs(843, bucket, undefined, 16)).toBe(Number.POSITIVE_INFINITY);
  });

  it('lists DescribeInstances pages one after another: 1 s per full page (A2)', () => {
    expect(describeArrivals(2500)).toEqual([1000, 2000, 2600]);
  });

  it('needs (M − 100)/5 s of ModifyInstanceMetadataOptions pacing: 1,980 s for 10,000, none for 100', () => {
    expect(modifyPacingSeconds(10_000)).toBe(1980);
    expect(modifyPacingSeconds(100)).toBe(0);
  });

  it('charges a hung script the guest time in the bound for any design, and the step timeout only for designs that wait for SSM', () => {
    const healthy = checkTimeBound(shape(1000));
    const hung = checkTimeBound(shape(1000, { hung: 1 }));
    // No design can tell a hung script from a healthy one sooner than a healthy one ends, nor has to wait longer.
    expect(hung.seconds).toBe(healthy.seconds);
    // First describe page (1 s; the first unfiltered SSM page is there at 0.3 s) + SendCommand (0.1 s) + the step timeout + one Details page (0.3 s).
    expect(hung.waitsForSsmVerdict).toBeCloseTo(1 + 0.1 + STEP + 0.3, 6);
  });

  it('cannot target an instance before its EC2 page and one filtered SSM call have answered', () => {
    const late = checkTimeBound(shape(10_000, { managed: 9000, targets: 2, targetPages: [
      { describePage: 0, diiPage: 0, hung: false },
      { describePage: 9, diiPage: 179, hung: false, cut: true },
    ] }));
    // Page 10 of DescribeInstances arrives at 10 s (the unfiltered SSM listing would reach page 180 only at 54 s);
    // then one filtered DescribeInstanceInformation, SendCommand, the script, one Details page (no GetCommandInvocation
    // in the model-only bound, even for a long report).
    expect(late.listingOrderPath).toBeCloseTo(10 + 0.3 + 0.1 + 5 + 0.3, 6);
    expect(late.seconds).toBe(late.listingOrderPath);
  });

  it('leaves a design that keeps both 1,000-size check targets 1.16× the guest run to wait on a collector', () => {
    // 843 targets on the first EC2 page, as in the benchmark's 1,000 fleet.
    const pages = (targets: number) => Array.from({ length: targets }, (_, k) => ({ describePage: 0, diiPage: Math.floor(k / 50), hung: false }));
    const s = shape(1000, { managed: 900, targets: 843, targetPages: pages(843) });
    const w = collectorWaitToMeetTargets(s);
    // Call bound 1 + 18 + 17 + 17 = 53; the 1.1× target allows 58, so 5 more commands at most: 22.
    expect(w.sendsAllowed).toBe(22);
    // Known at 1 s (the EC2 page; the first SSM page was there at 0.3 s), ramp round five, SendCommand 0.1 s.
    expect(w.lastStartSeconds).toBeCloseTo(6.1, 6);
    expect(w.timeLimitSeconds).toBeCloseTo(1.25 * checkTimeBound(s).seconds, 2);
    expect(w.longestWaitSeconds).toBeCloseTo(w.timeLimitSeconds - 6.1, 2);
    expect(w.longestWaitOverGuest).toBeCloseTo(w.longestWaitSeconds / 5, 2);
    expect(w.longestWaitOverGuest).toBeLessThan(1.2);
    expect(w.healthyFit).toBe(true);
  });

  it('lets the last collector start a round sooner when the call target leaves room for commands of 31', () => {
    const pages = Array.from({ length: 843 }, (_, k) => ({ describePage: 0, diiPage: Math.floor(k / 50), hung: false }));
    // With the report-size term, 300 long outputs raise the call bound to 353, and its 1.1× target leaves room for 35 more commands.
    const s = shape(1000, { managed: 900, targets: 843, cutOutputs: 300, targetPages: pages });
    const w = collectorWaitToMeetTargets(s, { ...defaultTimeModel(), terms: { reportSizeTerm: true } });
    expect(w.sendsAllowed).toBe(52);
    expect(w.lastStartSeconds).toBeCloseTo(1 + 4 + 0.1, 6);
  });

  it('bounds a large check by the SSM rate: every call of the call bound through the 40/20 bucket (23.8 s at 10,000; 39.35 s with the old report-size term)', () => {
    const s = shape(10_000, { managed: 9000, targets: 8309, cutOutputs: 311 });
    const b = checkTimeBound(s);
    expect(b.ssmCalls).toBe(180 + 167 + 167);
    expect(b.ssmRate).toBeCloseTo((514 - 40) / 20 + 0.1, 6);
    expect(b.seconds).toBe(b.ssmRate);
    expect(checkTimeBound(s, { ...defaultTimeModel(), terms: { reportSizeTerm: true } }).ssmRate).toBeCloseTo((825 - 40) / 20 + 0.1, 6);
  });

  it('joins the call target with the declared least hung cutoff (10 s = 2 × the guest run): 16.1 s at 1,000', () => {
    const pages = Array.from({ length: 843 }, (_, k) => ({ describePage: 0, diiPage: Math.floor(k / 50), hung: k === 400 }));
    const s = shape(1000, { managed: 900, targets: 843, hung: 1, targetPages: pages });
    const w = collectorWaitToMeetTargets(s);
    expect(w.minHungCutoffSeconds).toBe(10);
    // The last collector starts at 6.1 s within the call target and may be the hung one: 10 s more.
    expect(w.jointSeconds).toBeCloseTo(6.1 + 10, 6);
    expect(w.jointSeconds).toBeGreaterThan(checkTimeBound(s).seconds);
    // Without a hung collector the healthy guests decide: last start + the guest run + one Details page.
    expect(collectorWaitToMeetTargets({ ...s, hung: 0, targetPages: pages.map((p) => ({ ...p, hung: false })) }).jointSeconds).toBeCloseTo(6.1 + 5 + 0.3, 6);
  });

  it('judges 50,000, where the SSM rate decides, by the same bound, joint or not', () => {
    const s = shape(50_000, { managed: 45_000, targets: 41_500, hung: 120 });
    expect(collectorWaitToMeetTargets(s).jointSeconds).toBe(checkTimeBound(s).seconds);
  });

  it('charges the inventory calls every target needs before its command: at 10,000 the last collector starts at 18.15 s, not 13.5 s, and the joint bound is 28.15 s', () => {
    const s = shape(10_000, { managed: 9000, targets: 8309, hung: 23 });
    const w = collectorWaitToMeetTargets(s);
    const m = defaultTimeModel();
    // + SendCommand's 0.1 s before the guest can start. The exact optimum decides; the closed form (16 s) is looser.
    expect(w.lastStartAfterInventorySeconds).toBeCloseTo(deliveryAfterInventoryMs(8309, m.ssmBucket, m.runCommand) / 1000 + 0.1, 6);
    expect(w.lastStartAfterInventorySeconds).toBeCloseTo(18.15, 6);
    expect(w.lastStartAfterInventoryClosedFormSeconds).toBeCloseTo(16.0, 6);
    expect(w.lastStartSeconds).toBe(w.lastStartAfterInventorySeconds);
    expect(w.lastStartByPagesSeconds).toBeLessThan(w.lastStartSeconds);
    expect(w.jointSeconds).toBeCloseTo(18.15 + 10, 6);
    expect(w.jointSeconds).toBeGreaterThan(checkTimeBound(s).seconds);
    // Without the running instances a design must ask about, no figure for asking about every id.
    expect(w.lastStartAskingEveryIdSeconds).toBeUndefined();
  });

  it('shows what a design that asks about every instance not opted out gets: at 10,000 (9,793 asked, 8,309 targets) its last collector starts at 20.55 s, so a hung one started last holds it to 30.55 s', () => {
    const s = shape(10_000, { managed: 9000, targets: 8309, hung: 23, asked: 9793 });
    const w = collectorWaitToMeetTargets(s);
    expect(w.lastStartAskingEveryIdSeconds).toBeCloseTo(20.55, 6);
    expect(w.jointAskingEveryIdSeconds).toBeCloseTo(30.55, 6);
    // Above the bound (it is not one: a design that guessed the managed ids could do better) and above 1.25 × 23.8 s.
    expect(w.lastStartAskingEveryIdSeconds!).toBeGreaterThan(w.lastStartSeconds);
    expect(w.jointAskingEveryIdSeconds!).toBeGreaterThan(1.25 * 23.8);
  });

  it('leaves 1,000 to its listings: the inventory calls fit in the burst there', () => {
    const pages = Array.from({ length: 843 }, (_, k) => ({ describePage: 0, diiPage: Math.floor(k / 50), hung: false }));
    const w = collectorWaitToMeetTargets(shape(1000, { managed: 900, targets: 843, targetPages: pages }));
    expect(w.lastStartAfterInventorySeconds).toBeLessThan(w.lastStartByPagesSeconds);
    expect(w.lastStartSeconds).toBeCloseTo(6.1, 6);
  });
});

describe('deliveryAfterInventoryMs', () => {
  const m = defaultTimeModel();
  /**
   * One concrete design, played out call by call on the bucket: an inventory call for the next 50
   * targets, then `sizes` commands in order (each sent as soon as its targets are listed).
   */
  function playOut(sizes: readonly number[]): number {
    const tokenAt = (i: number) => Math.max(0, ((i - m.ssmBucket.capacity) / m.ssmBucket.refillPerSecond) * 1000);
    let token = 0;
    let listed = 0;
    let sent = 0;
    let lastStart = 0;
    for (const size of sizes) {
      while (listed < sent + size) {
        token++;
        listed += 50;
      }
      token++;
      const at = tokenAt(token);
      // The ramp starts wave w (targets 2^w .. 2^(w+1) − 1) w rounds after the send.
      lastStart = Math.max(lastStart, at + (Math.ceil(Math.log2(size + 1)) - 1) * m.runCommand.rampRoundMs);
      sent += size;
    }
    return lastStart;
  }

  it('is never later than a design played out call by call (full commands, or small last ones)', () => {
    for (const count of [60, 843, 2000, 8309]) {
      const full = Array.from({ length: Math.ceil(count / 50) }, (_, k) => Math.min(50, count - 50 * k));
      const bound = deliveryAfterInventoryMs(count, m.ssmBucket, m.runCommand);
      expect(bound).toBeLessThanOrEqual(playOut(full));
      // The same targets with the last 100 split into commands of 1, 3, 7, 15, … (sent last, smallest last).
      const tail = [31, 31, 15, 15, 7, 1].filter((_x, i, a) => a.slice(0, i + 1).reduce((p, q) => p + q, 0) <= Math.min(100, count));
      const head = count - tail.reduce((p, q) => p + q, 0);
      const split = [...Array.from({ length: Math.ceil(head / 50) }, (_, k) => Math.min(50, head - 50 * k)), ...tail];
      expect(bound).toBeLessThanOrEqual(playOut(split));
    }
  });

  it('is at least the commands alone (deliveryRampMs) and the closed form, and grows with the targets', () => {
    let previous = 0;
    for (const count of [1, 50, 400, 843, 2000, 8309, 20_000]) {
      const b = deliveryAfterInventoryMs(count, m.ssmBucket, m.runCommand);
      expect(b).toBeGreaterThanOrEqual(deliveryRampMs(count, m.ssmBucket, m.runCommand));
      expect(b).toBeGreaterThanOrEqual(closedFormAfterInventoryMs(count, m.ssmBucket, m.runCommand));
      expect(b).toBeGreaterThanOrEqual(previous);
      previous = b;
    }
  });

  it('comes later when the calls return fewer targets or the bucket starts later', () => {
    const base = deliveryAfterInventoryMs(2000, m.ssmBucket, m.runCommand);
    const fewer = deliveryAfterInventoryMs(2000, m.ssmBucket, m.runCommand, { revealed: (k) => 40 * k });
    const later = deliveryAfterInventoryMs(2000, m.ssmBucket, m.runCommand, { startMs: 1000 });
    expect(fewer).toBeGreaterThan(base);
    expect(later).toBe(base + 1000);
  });

  it('is the exact optimum: no order of inventory calls and commands, tried one by one on a small bucket, starts every target sooner, and one starts them all by then', () => {
    // A small bucket (2 burst, 2/s) and 3 targets an inventory call, so every schedule can be tried.
    const bucket = { capacity: 2, refillPerSecond: 2 };
    const per = 3;
    const tokenAt = (i: number) => Math.max(0, ((i - bucket.capacity) / bucket.refillPerSecond) * 1000);
    /** The most targets any schedule of the first `tokens` tokens starts by f (each token idle, inventory or command). */
    const bestBrute = (f: number, tokens: number): number => {
      let best = 0;
      const walk = (i: number, inv: number, started: number): void => {
        best = Math.max(best, started);
        if (i > tokens || tokenAt(i) > f) return;
        const c = rampCapacity(f - tokenAt(i), m.runCommand);
        walk(i + 1, inv, started);
        walk(i + 1, inv + 1, started);
        if (c > 0 && started < per * inv) walk(i + 1, inv, Math.min(per * inv, started + c));
      };
      walk(1, 0, 0);
      return best;
    };
    for (const count of [1, 4, 7, 10, 14]) {
      const f = deliveryAfterInventoryMs(count, bucket, m.runCommand, { revealed: (k) => per * k });
      const tokens = Math.floor((f / 1000) * bucket.refillPerSecond) + bucket.capacity;
      expect(bestBrute(f, tokens)).toBeGreaterThanOrEqual(count);
      expect(bestBrute(f - 1, tokens)).toBeLessThan(count);
    }
  });
});

describe('the joint bound as bench/README.md derives it', () => {
  it('quotes the 10,000 figures results.json holds, not figures typed apart from them', () => {
    const results = JSON.parse(readFileSync(join(__dirname, '../../bench/results.json'), 'utf8')) as {
      sizes: { n: number; check?: { collectorWaitToMeetTargets: Record<string, number> } }[];
    };
    const w = results.sizes.find((x) => x.n === 10_000)!.check!.collectorWaitToMeetTargets;
    const readme = readFileSync(join(__dirname, '../../bench/README.md'), 'utf8');
    for (const key of ['lastStartSeconds', 'jointSeconds', 'lastStartAskingEveryIdSeconds', 'jointAskingEveryIdSeconds']) {
      expect(readme).toContain(`**${w[key]} s**`);
    }
    expect(readme).toContain(`it gave ${w['lastStartAfterInventoryClosedFormSeconds']} s`);
  });
});

describe('closedFormAfterInventoryMs', () => {
  const m = defaultTimeModel();
  it('is Infinity when the commands allowed cannot hold the targets', () => {
    expect(closedFormAfterInventoryMs(101, m.ssmBucket, m.runCommand, 2)).toBe(Number.POSITIVE_INFINITY);
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
