/** ntpd / ntpsec: `ntpq -pn` peer table and `ntpq -c "rv 0 …"` system variables. */
import { parseDecimal } from './units';

/** One `ntpq -pn` row. */
export interface NtpPeer {
  /** Tally code: `*` sys.peer (selected), `o` pps.peer, `+` candidate, `#` backup, `-` outlier, `x` falseticker, `.` excess, ` ` rejected. */
  readonly tally: string;
  /** Remote address as printed (ntpq truncates to 15 characters). */
  readonly remote: string;
  readonly refid: string;
  readonly stratum: number;
  readonly reach: number;
  /** Milliseconds, as printed. */
  readonly delayMs: number;
  /** Milliseconds; ntpq's sign: **positive = local clock BEHIND the peer**. */
  readonly offsetMs: number;
  readonly jitterMs: number;
}

/** Parses `ntpq -pn`; null when there is neither a header nor a row. */
export function parseNtpqPeers(lines: readonly string[]): NtpPeer[] | null {
  const out: NtpPeer[] = [];
  let header = false;
  for (const line of lines) {
    if (/^\s*remote\s+refid\s+st\s+t\s+when\s+poll\s+reach\s+delay\s+offset\s+jitter/.test(line)) {
      header = true;
      continue;
    }
    const m = /^([ *o+#\-x.])(\S+)\s+(\S+)\s+(\d{1,3})\s+([ulbmsp-])\s+(\S+)\s+(\S+)\s+([0-7]{1,3})\s+(\S+)\s+(\S+)\s+(\S+)\s*$/.exec(line);
    if (!m) continue;
    const delay = parseDecimal(m[9]);
    const offset = parseDecimal(m[10]);
    const jitter = parseDecimal(m[11]);
    if (delay === null || offset === null || jitter === null) continue;
    out.push({
      tally: m[1]!,
      remote: m[2]!,
      refid: m[3]!,
      stratum: Number(m[4]),
      reach: parseInt(m[8]!, 8),
      delayMs: delay,
      offsetMs: offset,
      jitterMs: jitter,
    });
  }
  if (out.length === 0 && !header) return null;
  return out;
}

/** ntpd system variables (`ntpq -c "rv 0 leap,stratum,rootdelay,rootdisp,refid,offset"`). */
export interface NtpSystem {
  /** `00`..`10` = synchronised (leap warning bits), `11` = unsynchronised. */
  readonly leap?: string;
  readonly stratum?: number;
  readonly rootDelayMs?: number;
  readonly rootDispMs?: number;
  readonly refid?: string;
  /** Milliseconds; **positive = local clock behind**. */
  readonly offsetMs?: number;
}

/** Parses `name=value` pairs separated by commas across lines; null when none is known. */
export function parseNtpqRv(lines: readonly string[]): NtpSystem | null {
  const kv = new Map<string, string>();
  for (const part of lines.join(',').split(',')) {
    // name=value or name="value", read by index (a pattern with a back-reference and trailing
    // blanks backtracks quadratically on long blank runs).
    const t = part.trim();
    const eq = t.indexOf('=');
    if (eq < 1 || !/^[a-z_]+$/.test(t.slice(0, eq))) continue;
    let v = t.slice(eq + 1);
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    if (v.includes('"')) continue;
    kv.set(t.slice(0, eq), v);
  }
  const sys: { -readonly [K in keyof NtpSystem]: NtpSystem[K] } = {};
  if (kv.has('leap')) sys.leap = kv.get('leap')!;
  const n = (k: string) => parseDecimal(kv.get(k)) ?? undefined;
  if (n('stratum') !== undefined) sys.stratum = n('stratum');
  if (n('rootdelay') !== undefined) sys.rootDelayMs = n('rootdelay');
  if (n('rootdisp') !== undefined) sys.rootDispMs = n('rootdisp');
  if (kv.has('refid')) sys.refid = kv.get('refid')!;
  if (n('offset') !== undefined) sys.offsetMs = n('offset');
  return Object.keys(sys).length === 0 ? null : sys;
}

/** ntpq's ways of saying the daemon is not there or not answering. */
export function ntpqFailure(lines: readonly string[]): boolean {
  return lines.some((l) => /Connection refused|timed out, nothing received|Request timed out|No association ID|read: /i.test(l));
}
