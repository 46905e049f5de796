/**
 * Windows Time: `w32tm /query /status /verbose`, `w32tm /query /configuration` and the W32Time
 * registry values. w32tm text is localized: labels are matched in English only; the
 * language-neutral parts (hex reference IDs, IP addresses, `,0x9` flags, numbers with `s`,
 * HRESULTs, registry values) are extracted whatever the language.
 */

export interface W32tmStatus {
  /** True when the English labels were recognised. */
  readonly english: boolean;
  /** 0 no warning … 3 not synchronised. */
  readonly leap?: number;
  readonly stratum?: number;
  readonly rootDelay?: number;
  readonly rootDispersion?: number;
  /** `0xA9FEA97B` upper-case hex without 0x. */
  readonly referenceId?: string;
  /** The IP in the ReferenceId line's parentheses. */
  readonly referenceIp?: string;
  /** The Source line's value (`169.254.169.123,0x9`, `Local CMOS Clock`, `dc01.corp`, …), English only. */
  readonly source?: string;
  readonly pollIntervalSeconds?: number;
  /** Verbose only; w32tm's phase offset in seconds (sign convention: see README.md, "Sign conventions and traps handled"). */
  readonly phaseOffset?: number;
  readonly lastSyncErrorCode?: number;
  readonly sinceLastGoodSync?: number;
  /** HRESULT printed instead of a status (e.g. 0x80070426 = service not started). */
  readonly error?: string;
}

const SECONDS = /^([+-]?\d+(?:[.,]\d+)?)s\b/;

function secs(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = SECONDS.exec(v.trim());
  return m ? Number(m[1]!.replace(',', '.')) : undefined;
}

function int(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(-?\d+)/.exec(v.trim());
  return m ? Number(m[1]) : undefined;
}

/** Parses `w32tm /query /status [/verbose]`; null when the lines hold nothing w32tm-like. */
export function parseW32tmStatus(lines: readonly string[]): W32tmStatus | null {
  const kv = new Map<string, string>();
  let error: string | undefined;
  let referenceId: string | undefined;
  let referenceIp: string | undefined;
  for (const line of lines) {
    const hr = /\((0x8[0-9A-Fa-f]{7})\)/.exec(line);
    if (hr && !/:\s*0x/.test(line)) error = hr[1]!.toUpperCase().replace('0X', '0x');
    const m = /^\s*([^:]{2,60}?)\s*:\s*(.*)$/.exec(line);
    if (m) kv.set(m[1]!, m[2]!.trim());
    // The reference ID line is recognisable in any language: "<label>: 0x<8 hex> (<text>: <ip>)" or "(<name>)".
    const r = /:\s*0x([0-9A-Fa-f]{8})\s*(?:\(([^)]*)\))?\s*$/.exec(line);
    if (r && referenceId === undefined) {
      referenceId = r[1]!.toUpperCase();
      const ip = /((?:\d{1,3}\.){3}\d{1,3}|[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7})\s*$/.exec(r[2] ?? '');
      if (ip) referenceIp = ip[1];
    }
  }
  const english = kv.has('Leap Indicator') && kv.has('Stratum') && kv.has('Source');
  if (!english && referenceId === undefined && error === undefined) return null;
  const base = {
    english,
    ...(referenceId !== undefined ? { referenceId } : {}),
    ...(referenceIp !== undefined ? { referenceIp } : {}),
    ...(error !== undefined ? { error } : {}),
  };
  if (!english) return base;
  const poll = /\((\d+)s\)/.exec(kv.get('Poll Interval') ?? '');
  const out: W32tmStatus = {
    ...base,
    leap: int(kv.get('Leap Indicator')),
    stratum: int(kv.get('Stratum')),
    rootDelay: secs(kv.get('Root Delay')),
    rootDispersion: secs(kv.get('Root Dispersion')),
    source: kv.get('Source'),
    pollIntervalSeconds: poll ? Number(poll[1]) : undefined,
    phaseOffset: secs(kv.get('Phase Offset')),
    lastSyncErrorCode: int(kv.get('Last Sync Error')),
    sinceLastGoodSync: secs(kv.get('Time since Last Good Sync Time')),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as unknown as W32tmStatus;
}

/** Registry-style `Name=value` or w32tm configuration `Name: value (Local)` lines: language-neutral names. */
export function parseW32timeValues(lines: readonly string[]): Map<string, string> {
  const kv = new Map<string, string>();
  for (const line of lines) {
    const m = /^\s*([A-Za-z][A-Za-z0-9]*)\s*[:=]\s*(.*?)\s*(?:\([^()]*\))?\s*$/.exec(line);
    if (m && !kv.has(m[1]!)) kv.set(m[1]!, m[2]!);
  }
  return kv;
}

/** The peers of an NtpServer value (`169.254.169.123,0x9 time.aws.com,0x9`) without their flags. */
export function ntpServerPeers(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(/\s+/)
    .map((p) => p.replace(/,0x[0-9a-fA-F]+$/, '').trim())
    .filter((p) => p !== '');
}
