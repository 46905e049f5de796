/** systemd: `timedatectl show`, `show-timesync` (properties) and `timesync-status` (text). */
import { parseTimespan } from './units';

/** `Key=value` lines into a map (the NTPMessage={ … } property is kept as one string). */
export function parseProperties(lines: readonly string[]): Map<string, string> {
  const kv = new Map<string, string>();
  for (const line of lines) {
    const m = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line.trim());
    if (m) kv.set(m[1]!, m[2]!);
  }
  return kv;
}

/** The NTPMessage={ Leap=0, Stratum=3, RootDelay=259us, … } property as a map. */
export function parseNtpMessage(value: string | undefined): Map<string, string> {
  const kv = new Map<string, string>();
  if (value === undefined) return kv;
  // Braces stripped by index: an unanchored `\s*\}\s*$` costs quadratic time on a long blank run.
  let inner = value.trim();
  if (inner.startsWith('{')) inner = inner.slice(1);
  if (inner.endsWith('}')) inner = inner.slice(0, -1);
  for (const part of inner.split(/,\s*/)) {
    const m = /^\s*([A-Za-z]+)=(.*)$/.exec(part);
    if (m) kv.set(m[1]!, m[2]!.trim());
  }
  return kv;
}

/** `timedatectl timesync-status`. */
export interface TimesyncStatus {
  readonly server?: string;
  readonly leap?: string;
  readonly stratum?: number;
  /** Seconds; timesyncd's sign: **positive = local clock BEHIND**. */
  readonly offset?: number;
  readonly delay?: number;
  readonly rootDistance?: number;
  readonly packetCount?: number;
}

/** Parses `timedatectl timesync-status`; null when no known label is present. */
export function parseTimesyncStatus(lines: readonly string[]): TimesyncStatus | null {
  const kv = new Map<string, string>();
  for (const line of lines) {
    const m = /^\s*([A-Za-z][A-Za-z ]*?):\s+(.*)$/.exec(line);
    if (m) kv.set(m[1]!, m[2]!.trim());
  }
  const out: { -readonly [K in keyof TimesyncStatus]: TimesyncStatus[K] } = {};
  const server = kv.get('Server');
  if (server !== undefined) out.server = server.split(/\s+/)[0]!;
  if (kv.has('Leap')) out.leap = kv.get('Leap')!;
  const st = Number(kv.get('Stratum'));
  if (kv.has('Stratum') && Number.isInteger(st)) out.stratum = st;
  const span = (k: string) => {
    const v = kv.get(k);
    if (v === undefined) return null;
    // "+1.234ms (ahead)": the span is what precedes the bracket (by index, not an unanchored pattern).
    const open = v.indexOf('(');
    return parseTimespan(open < 0 ? v : v.slice(0, open));
  };
  const off = span('Offset');
  if (off !== null) out.offset = off;
  const delay = span('Delay');
  if (delay !== null) out.delay = delay;
  const rd = span('Root distance');
  if (rd !== null) out.rootDistance = rd;
  const pc = Number(kv.get('Packet count'));
  if (kv.has('Packet count') && Number.isInteger(pc)) out.packetCount = pc;
  return Object.keys(out).length === 0 ? null : out;
}
