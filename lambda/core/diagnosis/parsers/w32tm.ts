/**
 * Windows Time: `w32tm /query /status /verbose`, `w32tm /query /configuration` and the W32Time
 * registry values.
 *
 * w32tm's labels are localized, its layout is not: `/query /status /verbose` prints the same
 * value lines in the same order in every language (Leap, Stratum, Precision, Root Delay, Root
 * Dispersion, ReferenceId, Last Successful Sync Time, Source, Poll Interval, then after a blank
 * line Phase Offset, ClockRate, State Machine, Time Source Flags, Server Role, Last Sync Error,
 * Time since Last Good Sync Time), and the values have language-neutral shapes (`0.0100528s`,
 * `0xA9FEA97B`, `10 (1024s)`, a leading integer). The parser reads by position and accepts the
 * result only when every position has the shape it must have; otherwise it reads nothing it
 * cannot vouch for (Checkmk's w32time_status parser reads by position the same way).
 */

export interface W32tmStatus {
  /** True when the English labels were recognised. */
  readonly english: boolean;
  /** True when the value lines were read (by position, any language). */
  readonly readable: boolean;
  /** True when the verbose block (phase offset, state machine, …) was present and read. */
  readonly verbose?: boolean;
  /** 0 no warning … 3 not synchronized. */
  readonly leap?: number;
  readonly stratum?: number;
  readonly rootDelay?: number;
  readonly rootDispersion?: number;
  /** `A9FEA97B`: upper-case hex without 0x. */
  readonly referenceId?: string;
  /** The IP in the ReferenceId line's brackets, or the reference id decoded as IPv4 (stratum ≥ 2). */
  readonly referenceIp?: string;
  /** The Source line's value (`169.254.169.123,0x9`, `Local CMOS Clock`, `dc01.corp`, …), in any language. */
  readonly source?: string;
  readonly pollIntervalSeconds?: number;
  /**
   * w32tm's phase offset in seconds: the correction still to apply to the local clock
   * (positive = local clock behind). See daemons/w32time.ts and docs/windows.md for the evidence.
   */
  readonly phaseOffset?: number;
  /** ClockRate: the length of one clock tick in seconds (0.0156250s on most hosts). Only checked for plausibility. */
  readonly clockRate?: number;
  /** 0 Unset, 1 Hold, 2 Sync, 3 Spike. */
  readonly stateMachine?: number;
  /** 0 success, 1 no data, 2 stale data, 3 time difference too large, 4 shutting down. */
  readonly lastSyncErrorCode?: number;
  readonly sinceLastGoodSync?: number;
  /** HRESULT printed instead of a status (e.g. 0x80070426 = service not started). */
  readonly error?: string;
}

const SECONDS = /^([+-]?\d+(?:[.,]\d+)?)\s?s\b/;

/** The longest number read from a value: w32tm prints ~20 characters; a longer run is no reading. */
const MAX_NUMBER_CHARS = 40;

function finite(text: string): number | undefined {
  if (text.length > MAX_NUMBER_CHARS) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function secs(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = SECONDS.exec(v.trim());
  return m ? finite(m[1]!.replace(',', '.')) : undefined;
}

function int(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(-?\d+)/.exec(v.trim());
  return m ? finite(m[1]!) : undefined;
}

function poll(v: string | undefined): number | undefined {
  const m = /^-?\d+\s*\((\d+)\s?s\)/.exec((v ?? '').trim());
  return m ? finite(m[1]!) : undefined;
}

const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;

/**
 * `0xA9FEA97B (source IP: 169.254.169.123)` → id and IP. Split by index: the former single pattern
 * (`\s*(?:\((.*)\))?\s*$`) backtracked quadratically on long blank runs.
 */
function refid(v: string | undefined): { id: string; ip?: string } | undefined {
  const t = (v ?? '').trim();
  const m = /^0x([0-9A-Fa-f]{8})/.exec(t);
  if (!m) return undefined;
  const rest = t.slice(10).trim();
  let inner = '';
  if (rest !== '') {
    if (!rest.startsWith('(') || !rest.endsWith(')')) return undefined;
    inner = rest.slice(1, -1);
  }
  // The address ends the bracket (`source IP:  169.254.169.123`, localized labels before it).
  const ip = ipAtEnd(inner.trimEnd());
  return { id: m[1]!.toUpperCase(), ...(ip !== undefined ? { ip } : {}) };
}

/** The IPv4 or IPv6 address that ends `text`, if any (bounded patterns on a bounded tail). */
function ipAtEnd(text: string): string | undefined {
  // An address is at most 39 characters: only the tail can hold it, so the scan is bounded.
  const tail = text.slice(-45);
  const m = /((?:\d{1,3}\.){3}\d{1,3}|[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7})$/.exec(tail);
  return m ? m[1] : undefined;
}

/** The English labels, one per position; they cross-check the positions on English hosts. */
const ENGLISH = [
  'Leap Indicator',
  'Stratum',
  'Precision',
  'Root Delay',
  'Root Dispersion',
  'ReferenceId',
  'Last Successful Sync Time',
  'Source',
  'Poll Interval',
  'Phase Offset',
  'ClockRate',
  'State Machine',
  'Time Source Flags',
  'Server Role',
  'Last Sync Error',
  'Time since Last Good Sync Time',
] as const;

/** Shape each position's value must have: the language-neutral check. */
const SHAPES: ReadonlyArray<(v: string) => boolean> = [
  (v) => /^[0-3]\s*\(/.test(v) || /^[0-3]$/.test(v),
  (v) => /^\d{1,3}\b/.test(v),
  (v) => /^-?\d{1,3}\b/.test(v),
  (v) => secs(v) !== undefined,
  (v) => secs(v) !== undefined,
  (v) => refid(v) !== undefined,
  () => true,
  (v) => v !== '',
  (v) => poll(v) !== undefined,
  (v) => secs(v) !== undefined,
  (v) => secs(v) !== undefined,
  (v) => /^[0-9]\b/.test(v),
  (v) => /^\d+\b/.test(v),
  (v) => /^\d+\b/.test(v),
  (v) => /^-?\d+\b/.test(v),
  (v) => secs(v) !== undefined,
];

interface LabelledValue {
  readonly label: string;
  value: string;
}

/** Index of the first ASCII or full-width colon; -1 when none. */
function firstColon(line: string): number {
  const a = line.indexOf(':');
  const b = line.indexOf('：');
  return a < 0 ? b : b < 0 ? a : Math.min(a, b);
}

/**
 * Splits into (label, value) at the first colon (ASCII or full-width). A line without a colon
 * continues the previous value: German and French texts wrap long "Last Sync Error" messages.
 */
function labelledValues(lines: readonly string[]): LabelledValue[] {
  const out: LabelledValue[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '') continue;
    // Split at the first colon by index; a label is 1 to 80 characters.
    const colon = firstColon(line);
    const label = colon > 0 ? line.slice(0, colon).trim() : '';
    if (label !== '' && label.length <= 80) out.push({ label, value: line.slice(colon + 1).trim() });
    else if (out.length > 0) out[out.length - 1]!.value += ` ${line}`;
  }
  return out;
}

function decodeIpv4(hex: string): string {
  return [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
}

function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * English output in another layout (older builds, a tool that printed a subset): read by label,
 * each value still checked against the shape of its position.
 */
function englishByLabel(values: readonly LabelledValue[]): W32tmStatus | null {
  const kv = new Map<string, string>();
  for (const v of values) {
    const i = (ENGLISH as readonly string[]).indexOf(v.label);
    if (i >= 0 && SHAPES[i]!(v.value) && !kv.has(v.label)) kv.set(v.label, v.value);
  }
  if (!kv.has('Leap Indicator') || !kv.has('Stratum') || !kv.has('Source') || !kv.has('ReferenceId')) return null;
  const ref = refid(kv.get('ReferenceId'))!;
  return compact({
    english: true,
    readable: true,
    verbose: kv.has('Phase Offset'),
    leap: int(kv.get('Leap Indicator')),
    stratum: int(kv.get('Stratum')),
    rootDelay: secs(kv.get('Root Delay')),
    rootDispersion: secs(kv.get('Root Dispersion')),
    referenceId: ref.id,
    referenceIp: ref.ip,
    source: kv.get('Source'),
    pollIntervalSeconds: poll(kv.get('Poll Interval')),
    phaseOffset: secs(kv.get('Phase Offset')),
    clockRate: secs(kv.get('ClockRate')),
    stateMachine: int(kv.get('State Machine')),
    lastSyncErrorCode: int(kv.get('Last Sync Error')),
    sinceLastGoodSync: secs(kv.get('Time since Last Good Sync Time')),
  });
}

/** Parses `w32tm /query /status [/verbose]`; null when the lines hold nothing w32tm-like. */
export function parseW32tmStatus(lines: readonly string[]): W32tmStatus | null {
  const values = labelledValues(lines);
  let error: string | undefined;
  for (const line of lines) {
    const hr = /\((0x8[0-9A-Fa-f]{7})\)/.exec(line);
    if (hr && !/[:：]\s*0x[0-9A-Fa-f]{8}/.test(line)) error = `0x${hr[1]!.slice(2).toUpperCase()}`;
  }
  const english = values.length >= 9 && ENGLISH.slice(0, 9).every((label, i) => values[i]!.label === label);
  // 9 lines: /status; 16: /status /verbose. Any other count is a layout this parser cannot vouch for.
  const count = values.length === 16 ? 16 : values.length === 9 ? 9 : 0;
  const readable = count > 0 && values.slice(0, count).every((v, i) => SHAPES[i]!(v.value));
  const ref = refid(values[5]?.value) ?? values.map((v) => refid(v.value)).find((r) => r !== undefined);
  if (!readable) {
    const byLabel = englishByLabel(values);
    if (byLabel !== null) return byLabel;
    if (ref === undefined && error === undefined) return null;
    return compact({ english, readable: false, referenceId: ref?.id, referenceIp: ref?.ip, error });
  }
  const at = (i: number): string | undefined => (i < count ? values[i]!.value : undefined);
  const stratum = int(at(1));
  let referenceIp = ref?.ip;
  // w32tm puts the IPv4 of the source in the brackets; a reference id is that IPv4 only from stratum 2 up.
  if (referenceIp === undefined && ref !== undefined && stratum !== undefined && stratum >= 2 && ref.id !== '00000000') {
    referenceIp = decodeIpv4(ref.id);
  }
  if (referenceIp !== undefined && !IPV4.test(referenceIp) && !referenceIp.includes(':')) referenceIp = undefined;
  return compact({
    english,
    readable: true,
    verbose: count === 16,
    leap: int(at(0)),
    stratum,
    rootDelay: secs(at(3)),
    rootDispersion: secs(at(4)),
    referenceId: ref?.id,
    referenceIp,
    source: at(7),
    pollIntervalSeconds: poll(at(8)),
    phaseOffset: secs(at(9)),
    clockRate: secs(at(10)),
    stateMachine: int(at(11)),
    lastSyncErrorCode: int(at(14)),
    sinceLastGoodSync: secs(at(15)),
  });
}

/** Registry-style `Name=value` or w32tm configuration `Name: value (Local)` lines: language-neutral names. */
export function parseW32timeValues(lines: readonly string[]): Map<string, string> {
  const kv = new Map<string, string>();
  for (const line of lines) {
    const m = /^\s*([A-Za-z][A-Za-z0-9]*)\s*[:=](.*)$/.exec(line);
    if (!m) continue;
    // The value without a trailing "(Local)" / "(Policy)" note, cut by index: the former lazy
    // pattern tried every blank of a long run against the rest of the line (quadratic).
    let value = m[2]!.trim();
    if (value.endsWith(')')) {
      const open = value.lastIndexOf('(');
      if (open >= 0 && !value.slice(open + 1, -1).includes(')')) value = value.slice(0, open).trim();
    }
    // An empty value is no value: a domain member's empty NtpServer must not hide the effective one.
    if (value !== '' && !kv.has(m[1]!)) kv.set(m[1]!, value);
  }
  return kv;
}

/** One `host,flags` entry of an NtpServer value. */
export interface NtpPeer {
  readonly host: string;
  /** The flags as a number; 0 when absent. 0x1 = SpecialInterval (poll every SpecialPollInterval). */
  readonly flags: number;
}

/** The peers of an NtpServer value (`169.254.169.123,0x9 time.aws.com,0x9`) with their flags. */
export function ntpServerEntries(value: string | undefined): NtpPeer[] {
  if (value === undefined) return [];
  return value
    .split(/\s+/)
    .filter((p) => p.trim() !== '')
    .map((p) => {
      const m = /^(.*?),(0x[0-9a-fA-F]+|\d+)$/.exec(p.trim());
      return m ? { host: m[1]!, flags: Number(m[2]) } : { host: p.trim(), flags: 0 };
    });
}

/** The peers of an NtpServer value without their flags. */
export function ntpServerPeers(value: string | undefined): string[] {
  return ntpServerEntries(value).map((p) => p.host);
}
