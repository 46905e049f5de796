/**
 * Time as a dependency. Every wait, sleep and "now" in the engines goes through a `Clock`, so the
 * benchmark can drive a simulated account on a virtual clock and tests never sleep for real.
 */

import type { Clock } from '../engine/ports';

export type { Clock };

/** Wall-clock time and real timers: what the Lambda handlers and the CLI use. */
export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms: number) =>
    ms <= 0 ? Promise.resolve() : new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

/**
 * A virtual clock for tests and the benchmark: `sleep` advances time instantly, so a run that
 * waits minutes in production completes in milliseconds, and `now()` still reports the minutes.
 */
export class VirtualClock implements Clock {
  private t: number;
  /** Total virtual time spent sleeping, for assertions ("polled cheaply"). */
  public slept = 0;
  /** Number of sleep calls. */
  public sleeps = 0;

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  async sleep(ms: number): Promise<void> {
    const d = Math.max(0, ms);
    this.t += d;
    this.slept += d;
    this.sleeps += 1;
    // Yield to the event loop so concurrent work interleaves as it would with real timers.
    await Promise.resolve();
  }

  /** Moves time forward without a sleep (e.g. to simulate a slow API call). */
  advance(ms: number): void {
    this.t += Math.max(0, ms);
  }
}
