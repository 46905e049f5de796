/**
 * Issue 11's targets on a check, in one dependency-free module: the bounds (bounds.ts), the
 * PASS/MISS lines (run.ts) and the generated reading (reading.ts, loaded by `npm run docs` without
 * the simulator) all name them.
 */

/** A check's time within 1.25 × its time bound, its calls within 1.1 × its call bound. */
export const CHECK_TARGET_RATIOS = { time: 1.25, calls: 1.1 } as const;

/** The names of the two check targets' PASS/MISS lines. */
export const CHECK_TARGET_NAMES = {
  time: `check time ≤ ${CHECK_TARGET_RATIOS.time} × bound`,
  calls: `check API calls ≤ ${CHECK_TARGET_RATIOS.calls} × bound`,
} as const;
