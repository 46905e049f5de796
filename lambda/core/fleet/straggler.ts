/**
 * The straggler cutoff of a fleet check: when to stop waiting for a guest whose collector is still
 * running although the rest of the run has finished. Pure: run times in, a cutoff out.
 *
 * SSM itself ends a hung collector only at its document's step timeout (30 s for the stack's
 * collector), which is most of a small check's duration. The cutoff adapts to the run's own guests:
 * `max(floorMs, factor × the quantile of this run's observed run times)`, applied only once most
 * of the run's targets have finished and enough run times were seen. A guest past it is left
 * running and reported `pending` (status `unknown`, never `ok`, not counted in InstancesNotChecked):
 * the next run reads how it ended (lambda/engine/pending.ts), and only a guest unread in two runs
 * is counted (`check-timed-out`). The document's own timeout stays the hard stop. Because the
 * cutoff follows the run's distribution, a fleet of uniformly slow guests is not cut: its quantile
 * is slow too.
 */

/** Tuning of the straggler cutoff (see {@link stragglerCutoffMs}). */
export interface StragglerCutoffOptions {
  /**
   * Never cut a guest that has run less than this (ms), whatever the run's distribution. 10 s: a cut
   * guest is only pending (read by the next run, never paged for), so the floor need not cover
   * every slow guest; it is the least hung cutoff the benchmark's joint bound declares (2 × its 5 s guest run).
   * @default 10000
   */
  readonly floorMs?: number;
  /**
   * Multiple of the run-time quantile that a guest may take before it is cut.
   * @default 2
   */
  readonly factor?: number;
  /**
   * Quantile of the run's observed guest run times the factor applies to.
   * @default 0.95
   */
  readonly quantile?: number;
  /**
   * Share of the run's targets that must have finished before any guest is cut.
   * @default 0.9
   */
  readonly finishedShare?: number;
  /**
   * Observed run times needed before any guest is cut (a small run waits for SSM's verdict as before).
   * @default 20
   */
  readonly minSamples?: number;
}

/** The defaults of {@link StragglerCutoffOptions}. */
export const STRAGGLER_CUTOFF_DEFAULTS: Required<StragglerCutoffOptions> = {
  floorMs: 10_000,
  factor: 2,
  quantile: 0.95,
  finishedShare: 0.9,
  minSamples: 20,
};

/** The q-quantile (nearest rank) of ascending `sorted`; undefined when empty. */
export function quantileOf(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil(Math.min(1, Math.max(0, q)) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * The run time (ms) after which a still-running guest is a straggler, or undefined while no guest
 * may be cut yet (too few run times seen, or too few targets finished).
 *
 * @param observedMs run times of the guests that finished (any order; non-finite or negative values are ignored)
 * @param finished targets of the run that have finished (any terminal state)
 * @param targets targets of the run
 */
export function stragglerCutoffMs(observedMs: readonly number[], finished: number, targets: number, options: StragglerCutoffOptions = {}): number | undefined {
  const o = { ...STRAGGLER_CUTOFF_DEFAULTS, ...options };
  const sample = observedMs.filter((v) => Number.isFinite(v) && v >= 0).sort((a, b) => a - b);
  if (sample.length < o.minSamples || targets <= 0 || finished < o.finishedShare * targets) return undefined;
  const q = quantileOf(sample, o.quantile) ?? 0;
  return Math.max(o.floorMs, o.factor * q);
}
