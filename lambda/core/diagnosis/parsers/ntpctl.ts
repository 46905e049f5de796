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
    const row = /^\s*\*\s+\d+\s+\d+\s+\d+\s+\S+\s+\S+\s+(\S+ms)\s+(\S+ms)\s+\S+ms\s*$/.exec(line);
    if (row && lastAddress !== undefined) {
      const off = parseTimespan(row[1]!);
      const delay = parseTimespan(row[2]!);
      if (off !== null && delay !== null) selected = { address: lastAddress, offset: off, delay };
    }
  }
  if (synced === null) return null;
  return { synced, ...(stratum !== undefined ? { stratum } : {}), ...(selected ? { selected } : {}) };
}
