/**
 * How many targets each of the last SendCommand calls of a run should carry. Pure.
 *
 * SSM delivers a command's targets in a ramp: one target in the first second, then 3, 7, 15, 31 in
 * total by the end of each following second (the 50th target of a command starts ≈ 5 s after the
 * send, docs of RunCommandPort's poll interval and bench/README A6). When SendCommand calls queue
 * behind SSM's request rate, the last commands go out late, and a collector in the last wave of the
 * last 50-target command starts last of the run: a hung one there decides when the run may leave it
 * pending (the straggler cutoff counts from its start). Smaller commands at the end of the queue start
 * their targets sooner, at the price of a few more SendCommand calls; {@link tailCommandSizes} picks
 * the sizes that start every queued target soonest within a given number of calls.
 */

/** SendCommand's InstanceIds cap. */
export const MAX_TARGETS_PER_COMMAND = 50;

/** One round of SSM's delivery ramp (ms): wave w opens w rounds after the send. */
export const DELIVERY_RAMP_ROUND_MS = 1000;

/**
 * Targets of one command started within `ms` of its send under the ramp (wave w opens at w rounds
 * and admits 2^(w+1) − 1 in total), at most `maxTargets`.
 */
export function rampCapacity(ms: number, roundMs = DELIVERY_RAMP_ROUND_MS, maxTargets = MAX_TARGETS_PER_COMMAND): number {
  if (!(ms >= 0)) return 0;
  const waves = Math.floor(ms / roundMs);
  // 2^(waves+1) − 1 reaches 50 at the sixth wave; keep the exponent small.
  return waves >= 30 ? maxTargets : Math.min(maxTargets, 2 ** (waves + 1) - 1);
}

/** The ramp's delay (ms) until the last of `size` targets starts: its wave times the round. */
export function rampDelayMs(size: number, roundMs = DELIVERY_RAMP_ROUND_MS): number {
  return size <= 1 ? 0 : Math.floor(Math.log2(size)) * roundMs;
}

/** What {@link tailCommandSizes} needs to know about the queue. */
export interface TailSizing {
  /** Targets waiting to be sent, in order. */
  readonly targets: number;
  /** When the j-th queued SendCommand (0-based) can go out, in ms from now (non-decreasing in j). */
  readonly sendAtMs: (j: number) => number;
  /** The most SendCommand calls the queue may take (≥ ⌈targets / 50⌉). */
  readonly maxCommands: number;
  /** @default DELIVERY_RAMP_ROUND_MS */
  readonly roundMs?: number;
}

/** Command sizes (in send order, summing to `targets`) that start every target soonest; plain 50s when splitting gains nothing. */
export function tailCommandSizes(s: TailSizing): number[] {
  const round = s.roundMs ?? DELIVERY_RAMP_ROUND_MS;
  const plain = plainSizes(s.targets);
  if (s.targets <= 0) return [];
  const maxCommands = Math.max(plain.length, Math.floor(s.maxCommands));
  if (maxCommands === plain.length) return plain;
  // The last start of the plain layout; splitting must beat it.
  let plainLast = 0;
  plain.forEach((size, j) => (plainLast = Math.max(plainLast, s.sendAtMs(j) + rampDelayMs(size, round))));
  // The least F (whole ms) by which all targets can have started with at most maxCommands commands.
  const fits = (f: number): boolean => fill(f, s.targets, s.sendAtMs, maxCommands, round) !== undefined;
  let lo = -1;
  let hi = Math.ceil(plainLast);
  if (!fits(hi)) return plain;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) hi = mid;
    else lo = mid;
  }
  // No gain of a whole round's share: keep the fewest calls.
  if (hi >= plainLast) return plain;
  return fill(hi, s.targets, s.sendAtMs, maxCommands, round) ?? plain;
}

function plainSizes(targets: number): number[] {
  const out: number[] = [];
  for (let left = targets; left > 0; left -= MAX_TARGETS_PER_COMMAND) out.push(Math.min(MAX_TARGETS_PER_COMMAND, left));
  return out;
}

/**
 * Greedy: each command in send order takes as many targets as it can start by `f`. Capacities do
 * not grow with j (later sends, less time), so this uses the fewest commands; undefined when more
 * than `maxCommands` would be needed.
 */
function fill(f: number, targets: number, sendAtMs: (j: number) => number, maxCommands: number, round: number): number[] | undefined {
  const out: number[] = [];
  let left = targets;
  for (let j = 0; left > 0; j++) {
    if (j >= maxCommands) return undefined;
    const cap = rampCapacity(f - sendAtMs(j), round);
    if (cap <= 0) return undefined;
    const size = Math.min(cap, left);
    out.push(size);
    left -= size;
  }
  return out;
}
