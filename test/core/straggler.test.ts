import { quantileOf, STRAGGLER_CUTOFF_DEFAULTS, stragglerCutoffMs } from '../../lambda/core/fleet/straggler';

const times = (n: number, ms: number): number[] => Array.from({ length: n }, () => ms);

describe('stragglerCutoffMs', () => {
  it.each([
    ['a fast run: the floor', [...times(95, 5000), ...times(5, 6000)], 100, 100, 10_000],
    ['a uniformly slow run: twice its 95th percentile', times(100, 25_000), 100, 100, 50_000],
    ['slow tail beyond the 95th percentile does not raise it', [...times(96, 9000), ...times(4, 29_000)], 100, 100, 18_000],
    ['too few run times seen: no cutoff', times(19, 5000), 100, 100, undefined],
    ['too few targets finished: no cutoff', times(89, 5000), 89, 100, undefined],
    ['exactly the finished share: cutoff', times(90, 5000), 90, 100, 10_000],
  ])('%s', (_name, observed, finished, targets, expected) => {
    expect(stragglerCutoffMs(observed, finished, targets)).toBe(expected);
  });

  it('ignores values that are not run times', () => {
    expect(stragglerCutoffMs([...times(20, 5000), Number.NaN, -1, Number.POSITIVE_INFINITY], 20, 20)).toBe(STRAGGLER_CUTOFF_DEFAULTS.floorMs);
  });

  it('takes its knobs from the options', () => {
    expect(stragglerCutoffMs(times(10, 4000), 10, 10, { floorMs: 1000, factor: 3, minSamples: 5 })).toBe(12_000);
  });
});

describe('quantileOf', () => {
  it.each([
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95, 10],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5, 5],
    [[7], 0.95, 7],
    [[], 0.95, undefined],
  ])('of %j at %d is %d', (sorted, q, expected) => {
    expect(quantileOf(sorted, q)).toBe(expected);
  });
});
