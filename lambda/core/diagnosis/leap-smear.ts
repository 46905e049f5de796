/**
 * The configured sources and leap settings (the collector's `timeconf` section, from the files the
 * running daemon reads): Amazon Time Sync smears leap seconds (169.254.169.123, fd00:ec2::123,
 * time.aws.com), public pools do not, so a configuration holding both drifts by up to a second
 * around a leap second; and a leap file (`leapsectz`, `leapfile`, `leapseclist`) beside a smeared
 * source applies the leap second on top of the smear. Both are advisory (they never change the
 * verdict's status): the harm appears only around a leap second.
 *
 * The PTP hardware clock (`refclock PHC`) does not smear and is AWS's own recommended companion of
 * 169.254.169.123; refclocks and loopback (ntpd's 127.127.x.x drivers) are not sources here.
 */
import { finding } from './findings';
import { type ParsedReport, section } from './report';
import { normalizeIpv6 } from './time-source';
import type { Finding } from '../types';

const LINE_RE = /^(chrony|ntpd|timesyncd) ([A-Za-z]{1,16})(?: (.{0,200}))?$/;
const AMAZON_HOSTS = new Set(['169.254.169.123', 'time.aws.com', normalizeIpv6('fd00:ec2::123')]);

/** True when a configured host is one of the smeared Amazon Time Sync endpoints. */
export function isAmazonSmearedHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/\.$/, '');
  return AMAZON_HOSTS.has(h) || (h.includes(':') && AMAZON_HOSTS.has(normalizeIpv6(h)));
}

export interface TimeConfig {
  readonly amazon: readonly string[];
  readonly other: readonly string[];
  readonly leap: readonly string[];
}

/** Sources and leap directives of the `timeconf` section; lines outside the grammar are skipped. */
export function parseTimeConfig(lines: readonly string[]): TimeConfig {
  const amazon = new Set<string>();
  const other = new Set<string>();
  const leap = new Set<string>();
  let timesyncd: string[] | null = null;
  let fallback: string[] = [];
  for (const line of lines) {
    const m = LINE_RE.exec(line.trim());
    if (!m) continue;
    const [, daemon, directive, rest = ''] = m as unknown as [string, string, string, string?];
    const words = rest.split(/\s+/).filter((w) => w !== '').slice(0, 16);
    const key = directive.toLowerCase();
    if (daemon === 'timesyncd') {
      // systemd reads drop-ins after the main file: the last NTP= wins (empty resets), FallbackNTP= only without one.
      if (key === 'ntp') timesyncd = words;
      else if (key === 'fallbackntp') fallback = words;
      continue;
    }
    if (key === 'leapsectz' || key === 'leapfile' || key === 'leapseclist') leap.add(`${daemon} ${key}`);
    else if ((key === 'server' || key === 'pool' || key === 'peer') && words[0] !== undefined && !/^127\./.test(words[0])) {
      (isAmazonSmearedHost(words[0]) ? amazon : other).add(words[0].slice(0, 80));
    }
  }
  const ts = timesyncd !== null && timesyncd.length > 0 ? timesyncd : fallback;
  for (const h of ts) (isAmazonSmearedHost(h) ? amazon : other).add(h.slice(0, 80));
  return { amazon: [...amazon], other: [...other], leap: [...leap] };
}

const list = (xs: readonly string[]) => (xs.length > 4 ? `${xs.slice(0, 4).join(', ')} and ${xs.length - 4} more` : xs.join(', '));

/**
 * The two advisory findings.
 * @param selectedAmazon the daemon follows an Amazon NTP endpoint now (a smeared source even if the files were not read)
 */
export function leapSmearFindings(p: ParsedReport, selectedAmazon: boolean): { findings: Finding[]; extra: Record<string, unknown> } {
  const s = section(p, 'timeconf');
  if (s === undefined) return { findings: [], extra: {} };
  const c = parseTimeConfig(s.lines);
  const findings: Finding[] = [];
  if (c.amazon.length > 0 && c.other.length > 0) {
    findings.push(
      finding('mixed-smeared-sources', `the configuration mixes leap-smeared Amazon Time Sync (${list(c.amazon)}) with sources that do not smear (${list(c.other)}): up to 1 s apart around a leap second`),
    );
  }
  if (c.leap.length > 0 && (c.amazon.length > 0 || selectedAmazon)) {
    findings.push(finding('leap-file-with-smeared-source', `${list(c.leap)} is set while the source is leap-smeared Amazon Time Sync: the leap second would be applied on top of the smear`));
  }
  return { findings, extra: { timeConfig: c } };
}
