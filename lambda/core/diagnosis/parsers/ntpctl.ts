/** OpenNTPD: `ntpctl -s all`. */
import { parseTimespan } from './units';

export interface NtpctlStatus {
  readonly synced: boolean;
  readonly stratum?: number;
  /** The peer marked `*` (in use), if any. */
  readonly selected?: {
    readonly address: string;
    /** Seconds; OpenNTPD's sign: **positive = local clock BEHIND**. */
    readonly offset: number;
    readonly delay: number;
  };
}

/** The offset and delay words of a `*` (in use) peer row; null for any other line. */
function selectedRow(line: string): { offset: string; delay: string } | null {
  const w = line.trim().split(/\s+/);
  if (w.length !== 9 || w[0] !== '*' || !w.slice(1, 4).every((x) => /^\d{1,10}$/.test(x))) return null;
  if (!w.slice(6).every((x) => x.length > 2 && x.endsWith('ms'))) return null;
  return { offset: w[6]!, delay: w[7]! };
}

/** Parses `ntpctl -s all`; null when there is no status line ("… clock synced|unsynced …"). */
export function parseNtpctl(lines: readonly string[]): NtpctlStatus | null {
  let synced: boolean | null = null;
  let stratum: number | undefined;
  let lastAddress: string | undefined;
  let selected: NtpctlStatus['selected'];
  for (const line of lines) {
    const s = /clock (synced|unsynced)(?:, stratum (\d+))?/.exec(line);
    if (s) {
      synced = s[1] === 'synced';
      if (s[2] !== undefined) stratum = Number(s[2]);
      continue;
    }
    const addr = /^(\S+)(?:\s+from pool\s+\S+)?\s*$/.exec(line);
    if (addr && !/^(peer|sensor|wt)$/.test(addr[1]!)) {
      lastAddress = addr[1];
      continue;
    }
    // "* 1 10 2 30s 32s 0.123ms 0.456ms 0.012ms": read by word (a pattern of `\S+ms` groups
    // backtracks cubically on words made of "msms…").
    const row = selectedRow(line);
    if (row && lastAddress !== undefined) {
      const off = parseTimespan(row.offset);
      const delay = parseTimespan(row.delay);
      if (off !== null && delay !== null) selected = { address: lastAddress, offset: off, delay };
    }
  }
  if (synced === null) return null;
  return { synced, ...(stratum !== undefined ? { stratum } : {}), ...(selected ? { selected } : {}) };
}
