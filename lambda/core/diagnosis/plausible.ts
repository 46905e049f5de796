/**
 * What a time daemon can report. Guest output is untrusted (a compromised guest prints what it
 * likes): a number outside these ranges is not a reading, so the report is judged `unknown` with an
 * `implausible-value` finding and none of its numbers reaches the verdict or a metric.
 *
 * The ranges are wide on purpose: they reject the impossible, not the unusual. A clock 11 days off
 * is still read (and is at risk); 1e299 s, a negative dispersion or a stratum of 200 are not.
 */

/** Largest |offset| read, seconds (11.6 days). Beyond it the report is not trusted. */
export const MAX_ABS_OFFSET_SECONDS = 1e6;
/** Largest delay, dispersion, jitter or root distance read, seconds; none of these is ever negative. */
export const MAX_SPAN_SECONDS = 1e6;
/** Largest clock error bound read: |offset| + dispersion + delay / 2 of plausible parts stays below it. */
export const MAX_BOUND_SECONDS = MAX_ABS_OFFSET_SECONDS + 2 * MAX_SPAN_SECONDS;
/** Largest interval or age read (update interval, time since the last sync), seconds: ~3,000 years. */
export const MAX_INTERVAL_SECONDS = 1e11;
/** chrony's `maxdrift` default: no daemon corrects a larger frequency error, in ppm. */
export const MAX_ABS_FREQUENCY_PPM = 500_000;
/** NTP strata run 0 (unspecified / reference clock) to 16 (unsynchronised). */
export const MAX_STRATUM = 16;

/** The kind of a number, which fixes its range. */
export type PlausibleKind = 'offset' | 'span' | 'bound' | 'interval' | 'epoch' | 'ppm' | 'stratum' | 'tick';

const RANGES: Readonly<Record<PlausibleKind, readonly [min: number, max: number, unit: string]>> = {
  offset: [-MAX_ABS_OFFSET_SECONDS, MAX_ABS_OFFSET_SECONDS, 's'],
  span: [0, MAX_SPAN_SECONDS, 's'],
  bound: [0, MAX_BOUND_SECONDS, 's'],
  interval: [0, MAX_INTERVAL_SECONDS, 's'],
  epoch: [0, MAX_INTERVAL_SECONDS, 's'],
  ppm: [-MAX_ABS_FREQUENCY_PPM, MAX_ABS_FREQUENCY_PPM, 'ppm'],
  stratum: [0, MAX_STRATUM, ''],
  // W32Time's ClockRate: the length of one clock tick (15.625 ms on most hosts).
  tick: [0, 1, 's'],
};

/** True when `value` is a finite number inside the range of its kind (strata must be integers). */
export function isPlausible(value: number, kind: PlausibleKind): boolean {
  const [min, max] = RANGES[kind];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) return false;
  return kind !== 'stratum' || Number.isInteger(value);
}

/** One number to check: what it is (for the message), its value (null/undefined = not reported, not checked) and its kind. */
export type PlausibleCheck = readonly [label: string, value: number | null | undefined, kind: PlausibleKind];

/**
 * The message for the first number out of its range, or null when every reported number is plausible.
 * The message names the value as read (capped) and the range it had to be in.
 */
export function implausible(checks: readonly PlausibleCheck[]): string | null {
  for (const [label, value, kind] of checks) {
    if (value === null || value === undefined || isPlausible(value, kind)) continue;
    const [min, max, unit] = RANGES[kind];
    const shown = String(value).slice(0, 24);
    return `${label} ${shown}${unit === '' ? '' : ` ${unit}`} is not a value a time daemon reports (expected ${min} … ${max}${unit === '' ? '' : ` ${unit}`}${kind === 'stratum' ? ', a whole number' : ''}): the report is not trusted and nothing in it is judged`;
  }
  return null;
}
