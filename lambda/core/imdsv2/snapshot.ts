/**
 * The readiness snapshot: what the daily refresh stores so that the hourly check reads one object
 * instead of `GetMetricData` for the whole fleet. Pure: serialise, parse (anything unreadable is
 * "no snapshot", so a refresh follows, never a guess), freshness, and the join with the current
 * inventory (HttpTokens is re-read every run, so `already-required` is always current).
 */
import { assessReadiness, type Imdsv2Readiness, type Imdsv2State, type ReadinessInput, type ReadinessWindow, readinessWindow } from './readiness';

/** A snapshot older than this is refreshed: metrics are fetched at most once a day. */
export const SNAPSHOT_MAX_AGE_MS = 24 * 3_600_000;

export const SNAPSHOT_VERSION = 1;

export interface ReadinessSnapshot {
  readonly version: typeof SNAPSHOT_VERSION;
  /** ISO time the metrics were read. */
  readonly takenAt: string;
  readonly lookbackDays: number;
  /** By instance id: the daily sums as read (so the join can judge again with current tokens/launch). */
  readonly daily: Readonly<Record<string, Readonly<Record<string, number>> | null>>;
  /** Window of the read. */
  readonly window: ReadinessWindow;
}

/** Builds a snapshot from one refresh. */
export function buildSnapshot(
  window: ReadinessWindow,
  lookbackDays: number,
  daily: ReadonlyMap<string, Readonly<Record<string, number>> | undefined>,
): ReadinessSnapshot {
  const out: Record<string, Readonly<Record<string, number>> | null> = {};
  for (const [id, d] of daily) out[id] = d ?? null;
  return { version: SNAPSHOT_VERSION, takenAt: new Date(window.end).toISOString(), lookbackDays, daily: out, window };
}

/** Parses a stored snapshot; undefined for anything that is not one (then the caller refreshes). */
export function parseSnapshot(text: string | undefined): ReadinessSnapshot | undefined {
  if (!text) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object') return undefined;
  const s = v as Partial<ReadinessSnapshot>;
  if (s.version !== SNAPSHOT_VERSION || typeof s.takenAt !== 'string' || !Number.isFinite(Date.parse(s.takenAt))) return undefined;
  if (typeof s.lookbackDays !== 'number' || !s.daily || typeof s.daily !== 'object') return undefined;
  const w = s.window as Partial<ReadinessWindow> | undefined;
  if (!w || typeof w.start !== 'number' || typeof w.end !== 'number' || !Array.isArray(w.days) || !w.days.every((d) => typeof d === 'string')) return undefined;
  for (const d of Object.values(s.daily)) {
    if (d === null) continue;
    if (typeof d !== 'object' || !Object.values(d).every((x) => typeof x === 'number')) return undefined;
  }
  return s as ReadinessSnapshot;
}

/** True when the snapshot can serve this run: younger than a day, same lookback, not from the future. */
export function snapshotIsFresh(s: ReadinessSnapshot | undefined, now: number, lookbackDays: number): s is ReadinessSnapshot {
  if (!s || s.lookbackDays !== lookbackDays) return false;
  const age = now - Date.parse(s.takenAt);
  return age >= -5 * 60_000 && age < SNAPSHOT_MAX_AGE_MS;
}

/**
 * Why a stored snapshot's window is not the one the settings give for its time, or undefined when
 * it is. The window is recomputed from `takenAt` and the lookback setting, never taken from the
 * object: a snapshot with `days: []` (or any other days) would otherwise make every instance with
 * datapoints on no required day — or with IMDSv1 calls outside the claimed days — `ready`.
 */
export function snapshotWindowMismatch(s: ReadinessSnapshot, lookbackDays: number): string | undefined {
  const taken = Date.parse(s.takenAt);
  const expected = readinessWindow(taken, lookbackDays);
  if (s.lookbackDays !== lookbackDays) return `lookback ${s.lookbackDays} days, settings ${lookbackDays}`;
  if (s.window.start !== expected.start || s.window.end !== taken) return 'window start/end not those of its time and lookback';
  if (s.window.days.length !== expected.days.length || s.window.days.some((d, k) => d !== expected.days[k])) {
    return `window days ${s.window.days.length === 0 ? '[]' : `${s.window.days[0]}…(${s.window.days.length})`}, expected ${expected.days[0]}…(${expected.days.length})`;
  }
  return undefined;
}

/** The instance facts that change between refreshes and are re-read every run. */
export type CurrentFacts = Omit<ReadinessInput, 'daily'>;

/**
 * Readiness of the current fleet from a snapshot: each instance judged on the stored sums with its
 * CURRENT tokens, launch time and agent, in the window the settings give for the snapshot's time
 * (a snapshot whose window differs is refused: no instance is `ready` from it); an instance the
 * snapshot does not know (launched since) is `not-enough-history` unless its tokens are already required.
 */
export function readinessFromSnapshot(s: ReadinessSnapshot, instances: readonly CurrentFacts[], lookbackDays: number): Imdsv2Readiness[] {
  const refused = snapshotWindowMismatch(s, lookbackDays) !== undefined;
  const window = readinessWindow(Date.parse(s.takenAt), lookbackDays);
  return instances.map((i) => {
    if (i.httpTokens === 'required') return { instanceId: i.instanceId, state: 'already-required' as Imdsv2State };
    if (refused) return { instanceId: i.instanceId, state: 'not-enough-history' as Imdsv2State, reason: 'snapshot-refused' };
    if (!Object.prototype.hasOwnProperty.call(s.daily, i.instanceId)) {
      return { instanceId: i.instanceId, state: 'not-enough-history' as Imdsv2State, reason: 'not-in-snapshot' };
    }
    return assessReadiness({ ...i, daily: s.daily[i.instanceId] ?? undefined }, window);
  });
}
