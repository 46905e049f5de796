/**
 * chronyc output parsers: the CSV forms (`chronyc -n -c tracking|sources|sourcestats`) that the
 * collector prints, and the text forms (current and chrony < 3) that people paste by hand.
 * Pure: lines in, typed values out; `null` when the lines are not that output.
 */
import { MAX_NUMBER_CHARS } from './units';

/** `chronyc tracking`, with chrony's own sign conventions kept (see field docs). */
export interface ChronyTracking {
  /** Reference ID as 8 hex digits, upper case (`A9FEA97B`); `00000000` = unsynchronised; `7F7F0101` = local. */
  readonly refId: string;
  /** Reference address or refclock name (`PHC0`); empty when none. */
  readonly address: string;
  readonly stratum: number;
  /** Epoch seconds of the last clock update; null when unknown (old text form without a year we trust). */
  readonly refTime: number | null;
  /** chrony's "System time": **positive = system clock SLOW (behind)**. Seconds. */
  readonly systemTimeSlow: number;
  readonly rootDelay: number;
  readonly rootDispersion: number;
  /** Seconds between the last two clock updates. */
  readonly updateInterval: number;
  /** `Normal` | `Insert second` | `Delete second` | `Not synchronised` | `Invalid` (as printed). */
  readonly leap: string;
  /** Frequency error of the system clock in ppm (sign as printed); null when not read. Only checked for plausibility. */
  readonly frequencyPpm?: number | null;
  /** Estimated error bound on the frequency, ppm; null when not read. Only checked for plausibility. */
  readonly skewPpm?: number | null;
}

export type SourceMode = '^' | '=' | '#';
export type SourceState = '*' | '+' | '-' | 'x' | '~' | '?';

/** One row of `chronyc sources`. */
export interface ChronySource {
  readonly mode: SourceMode;
  readonly state: SourceState;
  readonly address: string;
  readonly stratum: number;
  readonly poll: number;
  /** Reach register value (the printed digits are octal). */
  readonly reach: number;
  /** Seconds since the last sample; null = never. */
  readonly lastRx: number | null;
  /** Adjusted offset of the last sample: **positive = local clock AHEAD of the source**. Seconds. */
  readonly adjustedOffset: number;
  readonly measuredOffset: number;
  readonly errorBound: number;
}

const NEVER = 4294967295;

/**
 * A decimal field, or null. Each part of the pattern has one way to match (no `\d+\.?\d*`, whose
 * two digit runs made a long digit string cost quadratic time), and the field is capped first.
 */
function num(s: string | undefined): number | null {
  if (s === undefined || s.length > MAX_NUMBER_CHARS) return null;
  const t = s.trim();
  if (t === '' || !/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i.test(t)) return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

const LEAPS = ['Normal', 'Insert second', 'Delete second', 'Not synchronised', 'Invalid'];

/** Parses `chronyc -c tracking` (one CSV line of 14 fields). Null when no line matches. */
export function parseTrackingCsv(lines: readonly string[]): ChronyTracking | null {
  for (const line of lines) {
    const f = line.trim().split(',');
    if (f.length !== 14) continue;
    if (!/^[0-9A-Fa-f]{8}$/.test(f[0]!)) continue;
    const nums = [2, 3, 4, 10, 11, 12].map((i) => num(f[i]));
    if (nums.some((v) => v === null)) continue;
    const leap = f[13]!.trim();
    if (!LEAPS.includes(leap)) continue;
    const [stratum, refTime, sys, rootDelay, rootDispersion, interval] = nums as number[];
    return {
      refId: f[0]!.toUpperCase(),
      address: f[1]!.trim(),
      stratum: stratum!,
      refTime: refTime! > 0 ? refTime! : null,
      systemTimeSlow: sys!,
      rootDelay: rootDelay!,
      rootDispersion: rootDispersion!,
      updateInterval: interval!,
      leap,
      frequencyPpm: num(f[7]),
      skewPpm: num(f[9]),
    };
  }
  return null;
}

const MODES = new Set(['^', '=', '#']);
const STATES = new Set(['*', '+', '-', 'x', '~', '?']);

/** Parses `chronyc -c sources` (10-field CSV rows). Null when the lines hold no row and are not empty output. */
export function parseSourcesCsv(lines: readonly string[]): ChronySource[] | null {
  const out: ChronySource[] = [];
  let other = 0;
  for (const line of lines) {
    const t = line.trim();
    if (t === '') continue;
    const f = t.split(',');
    if (f.length !== 10 || !MODES.has(f[0]!) || !STATES.has(f[1]!) || !/^[0-7]{1,3}$/.test(f[5]!)) {
      other++;
      continue;
    }
    const n = [3, 4, 6, 7, 8, 9].map((i) => num(f[i]));
    if (n.some((v) => v === null)) {
      other++;
      continue;
    }
    const [stratum, poll, lastRx, adj, meas, err] = n as number[];
    out.push({
      mode: f[0] as SourceMode,
      state: f[1] as SourceState,
      address: f[2]!,
      stratum: stratum!,
      poll: poll!,
      reach: parseInt(f[5]!, 8),
      lastRx: lastRx === NEVER ? null : lastRx!,
      adjustedOffset: adj!,
      measuredOffset: meas!,
      errorBound: err!,
    });
  }
  if (out.length === 0 && other > 0) return null;
  return out;
}

const UNIT: Record<string, number> = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1 };

function withUnit(v: string, u: string): number | null {
  const n = num(v);
  // toPrecision: "-30us" must read as -0.00003, not -0.000029999999999999997.
  return n === null ? null : Number((n * UNIT[u]!).toPrecision(12));
}

function lastRxText(s: string): number | null {
  if (s === '-') return null;
  const m = /^(\d{1,12})([smhdy]?)$/.exec(s);
  if (!m) return null;
  const mult: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, y: 31536000 };
  return Number(m[1]) * mult[m[2]!]!;
}

const SOURCE_ROW =
  /^([\^=#])([*+\-x~?])\s+(\S+)\s+(\d{1,3})\s+(-?\d{1,3})\s+([0-7]{1,3})\s+(\S+)\s+([+-]?[\d.]+)(ns|us|ms|s)\s*\[\s*([+-]?[\d.]+)(ns|us|ms|s)\s*\]\s*\+\/-\s*([\d.]+)(ns|us|ms|s)\s*$/;

/** Parses the text form of `chronyc sources` (current and chrony < 3, with or without `-v` legend). */
export function parseSourcesText(lines: readonly string[]): ChronySource[] | null {
  const out: ChronySource[] = [];
  let sawHeader = false;
  for (const line of lines) {
    if (/^MS Name\/IP address/.test(line)) sawHeader = true;
    const m = SOURCE_ROW.exec(line.trimEnd());
    if (!m) continue;
    // "1.2.3ms" fits the row's shape but is no number: the row is not read.
    const adjustedOffset = withUnit(m[8]!, m[9]!);
    const measuredOffset = withUnit(m[10]!, m[11]!);
    const errorBound = withUnit(m[12]!, m[13]!);
    if (adjustedOffset === null || measuredOffset === null || errorBound === null) continue;
    out.push({
      mode: m[1] as SourceMode,
      state: m[2] as SourceState,
      // Text form truncates long names with '>': keep what is there.
      address: m[3]!,
      stratum: Number(m[4]),
      poll: Number(m[5]),
      reach: parseInt(m[6]!, 8),
      lastRx: lastRxText(m[7]!),
      adjustedOffset,
      measuredOffset,
      errorBound,
    });
  }
  if (out.length === 0 && !sawHeader) return null;
  return out;
}

function ipv4ToHex(ip: string): string | null {
  const p = ip.split('.');
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return null;
  return p.map((x) => Number(x).toString(16).padStart(2, '0')).join('').toUpperCase();
}

/** `A9FEA97B (169.254.169.123)` → id and the text in brackets; null for any other shape. By index, not by a backtracking pattern. */
function referenceParts(ref: string): { id: string; address: string } | null {
  const open = ref.indexOf('(');
  const head = (open < 0 ? ref : ref.slice(0, open)).trim();
  if (head === '' || /\s/.test(head)) return null;
  if (open < 0) return { id: head, address: '' };
  if (!ref.endsWith(')')) return null;
  return { id: head, address: ref.slice(open + 1, -1) };
}

/** Parses the text form of `chronyc tracking` (current, and chrony < 3 with a dotted Reference ID). */
export function parseTrackingText(lines: readonly string[]): ChronyTracking | null {
  const kv = new Map<string, string>();
  for (const line of lines) {
    // Label up to the first ": " (one greedy class, then the colon: linear), value after it.
    const m = /^([A-Za-z][A-Za-z ()]*):\s(.*)$/.exec(line);
    if (m) kv.set(m[1]!.trim(), m[2]!.trim());
  }
  const ref = kv.get('Reference ID');
  const leap = kv.get('Leap status');
  const sys = kv.get('System time');
  if (ref === undefined || leap === undefined || sys === undefined || !LEAPS.includes(leap)) return null;
  const rm = referenceParts(ref);
  if (!rm) return null;
  let refId = rm.id;
  let address = rm.address;
  if (/^[0-9A-Fa-f]{8}$/.test(refId)) {
    refId = refId.toUpperCase();
  } else {
    // chrony < 3 printed the reference as a dotted quad.
    const hex = ipv4ToHex(refId);
    if (hex === null) return null;
    if (address === '') address = refId;
    refId = hex;
  }
  if (refId === '00000000') address = '';
  const sm = /^([\d.]+) seconds (slow|fast) of NTP time$/.exec(sys);
  if (!sm) return null;
  const slow = num(sm[1]);
  if (slow === null) return null;
  const systemTimeSlow = slow * (sm[2] === 'slow' ? 1 : -1);
  const secs = (k: string): number | null => {
    const v = kv.get(k);
    if (v === undefined) return null;
    const m = /^([+-]?[\d.]+) seconds$/.exec(v);
    return m ? num(m[1]) : null;
  };
  const rootDelay = secs('Root delay');
  const rootDispersion = secs('Root dispersion');
  const interval = secs('Update interval');
  const stratum = num(kv.get('Stratum'));
  if (rootDelay === null || rootDispersion === null || stratum === null) return null;
  const rt = kv.get('Ref time (UTC)');
  let refTime: number | null = null;
  if (rt !== undefined && !/^Thu Jan 01 00:00:00 1970$/.test(rt)) {
    const t = Date.parse(`${rt} UTC`);
    refTime = Number.isFinite(t) ? t / 1000 : null;
  }
  return {
    refId,
    address,
    stratum,
    refTime,
    systemTimeSlow,
    rootDelay,
    rootDispersion,
    updateInterval: interval ?? 0,
    leap,
  };
}

/** What chronyc printed instead of data when it could not reach chronyd. */
export function chronycFailure(lines: readonly string[]): 'cannot-talk' | 'no-connection' | null {
  for (const l of lines) {
    if (/^506 Cannot talk to daemon/.test(l.trim())) return 'cannot-talk';
    if (/Could not open connection to daemon/.test(l)) return 'no-connection';
  }
  return null;
}
