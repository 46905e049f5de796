import { MAX_TARGETS_PER_COMMAND, rampCapacity, rampDelayMs, tailCommandSizes } from '../../lambda/core/fleet/command-sizes';

/** The last start (ms) of a layout: each command's send + its ramp's last wave. */
function lastStart(sizes: readonly number[], sendAtMs: (j: number) => number): number {
  return Math.max(...sizes.map((size, j) => sendAtMs(j) + rampDelayMs(size)));
}

/** SSM's assumed rate with an empty bucket: one SendCommand every 50 ms. */
const queued = (j: number): number => j * 50;

describe('the delivery ramp (1, 3, 7, 15, 31, then all 50 targets by the end of each second)', () => {
  it('starts 2^(w+1) − 1 targets by wave w, at most 50', () => {
    expect([0, 999, 1000, 2000, 3000, 4000, 4999, 5000, 60_000].map((ms) => rampCapacity(ms))).toEqual([1, 1, 3, 7, 15, 31, 31, 50, 50]);
    expect(rampCapacity(-1)).toBe(0);
  });

  it("puts a command's last target in wave ⌊log2(size)⌋", () => {
    expect([1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 50].map((s) => rampDelayMs(s) / 1000)).toEqual([0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
  });
});

describe('tailCommandSizes', () => {
  it('keeps plain 50-target commands when no extra command is allowed', () => {
    expect(tailCommandSizes({ targets: 420, sendAtMs: queued, maxCommands: 9 })).toEqual([50, 50, 50, 50, 50, 50, 50, 50, 20]);
  });

  it('cuts the last queued commands smaller so that every target starts sooner, within the extra commands allowed', () => {
    const targets = 3_000;
    const plain = tailCommandSizes({ targets, sendAtMs: queued, maxCommands: 60 });
    const sizes = tailCommandSizes({ targets, sendAtMs: queued, maxCommands: 63 });
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(targets);
    expect(sizes.length).toBeGreaterThan(60);
    expect(sizes.length).toBeLessThanOrEqual(63);
    expect(sizes.every((s) => s >= 1 && s <= MAX_TARGETS_PER_COMMAND)).toBe(true);
    // The front of the queue stays at 50; only the tail is cut, and never grows back.
    expect(sizes.slice(0, 40).every((s) => s === 50)).toBe(true);
    for (let j = 1; j < sizes.length; j++) expect(sizes[j]!).toBeLessThanOrEqual(sizes[j - 1]!);
    expect(lastStart(sizes, queued)).toBeLessThan(lastStart(plain, queued));
  });

  it('splits one command in two when both go out at once (their last targets start in wave 4, not 5)', () => {
    expect(tailCommandSizes({ targets: 50, sendAtMs: () => 0, maxCommands: 2 })).toEqual([31, 19]);
  });

  it('uses no extra command when cutting would not start the last target sooner', () => {
    // The second send 2 s behind the first: its targets would start no sooner than wave 5 of the first.
    expect(tailCommandSizes({ targets: 50, sendAtMs: (j) => j * 2_000, maxCommands: 2 })).toEqual([50]);
  });

  it('gives every target a command (nothing lost, nothing doubled) for any queue', () => {
    for (const targets of [1, 49, 50, 51, 999, 2_345]) {
      const plainCount = Math.ceil(targets / 50);
      const sizes = tailCommandSizes({ targets, sendAtMs: queued, maxCommands: plainCount + 5 });
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(targets);
      expect(sizes.length).toBeLessThanOrEqual(plainCount + 5);
    }
    expect(tailCommandSizes({ targets: 0, sendAtMs: queued, maxCommands: 3 })).toEqual([]);
  });
});
