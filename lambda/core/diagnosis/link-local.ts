/**
 * What the guest sees of its link-local services, read from the collector's `imds` and `ena`
 * sections: the IMDSv2 probe (token PUT + one GET), the ENA link-local drop counter and the PHC
 * error bound. Each is a cause of `ExpiredToken` the time daemon cannot show: throttled or
 * unreachable IMDS, packets dropped over the 1,024 packets/s allowance, and a clock skew read from
 * the IMDS `Date` header when no daemon reports an offset.
 *
 * Guest output is untrusted: a line outside the grammar below is ignored (never judged), numbers are
 * range-checked, nothing is quoted that the grammar did not accept.
 */
import { finding } from './findings';
import { isPlausible } from './plausible';
import { type ParsedReport, section } from './report';
import type { Finding } from '../types';

/** The IMDS `Date` header has 1 s resolution and is read a moment before the local clock: |skew| ≤ this never counts. */
export const IMDS_SKEW_FLOOR_SECONDS = 2;

/** A probe step's outcome as the collector prints it: an HTTP status, or why there was none. */
const STEP = '(\\d{3}|timeout|refused|error|skipped)';
const IMDS_RE = new RegExp(
  `^via=(curl|wget|dotnet|none|off)(?: put=${STEP} put_ms=(\\d{1,7}))?(?: get=${STEP} get_ms=(\\d{1,7}))?(?: local=(\\d{1,12}) date=([A-Za-z0-9 :,]{1,40}))?\\s*$`,
);
const ENA_RE = /^([A-Za-z0-9._:@-]{1,40}) driver=([A-Za-z0-9._-]{1,24}) linklocal_allowance_exceeded=(\d{1,15}|unsupported|unknown)(?: phc_error_bound=(\d{1,15}))?\s*$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// RFC 9110 IMF-fixdate, the only form IMDS sends: "Mon, 07 Dec 2026 14:26:02 GMT".
const DATE_RE = /^[A-Z][a-z]{2}, (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;

/** Epoch seconds of an IMF-fixdate; null when it is not one or names no real instant. */
export function parseHttpDate(text: string): number | null {
  const m = DATE_RE.exec(text.trim());
  if (!m) return null;
  const month = MONTHS.indexOf(m[2]!);
  const [d, y, h, mi, s] = [m[1], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  if (month < 0 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  const ms = Date.UTC(y, month, d, h, mi, s);
  return new Date(ms).getUTCDate() === d ? ms / 1000 : null;
}

export interface ImdsProbe {
  readonly via: string;
  readonly put?: string;
  readonly putMs?: number;
  readonly get?: string;
  readonly getMs?: number;
  /** local − IMDS Date, seconds (positive = the instance clock is ahead); absent without a readable Date. */
  readonly skewSeconds?: number;
}

export interface EnaInterface {
  readonly name: string;
  readonly driver: string;
  /** Packets dropped over the link-local allowance since boot; null when the driver has no counter or ethtool is missing. */
  readonly linklocalAllowanceExceeded: number | null;
  readonly counter: 'present' | 'unsupported' | 'unknown';
  /** The PHC error bound from sysfs, seconds. */
  readonly phcErrorBoundSeconds?: number;
}

/** The `imds` section's probe line; null when absent or not in the grammar. */
export function parseImdsProbe(lines: readonly string[]): ImdsProbe | null {
  for (const line of lines) {
    const m = IMDS_RE.exec(line);
    if (!m) continue;
    const date = m[7] === undefined ? null : parseHttpDate(m[7]);
    const skew = date === null ? undefined : Number(m[6]) - date;
    return {
      via: m[1]!,
      ...(m[2] !== undefined ? { put: m[2], putMs: Number(m[3]) } : {}),
      ...(m[4] !== undefined ? { get: m[4], getMs: Number(m[5]) } : {}),
      ...(skew !== undefined && isPlausible(skew, 'offset') ? { skewSeconds: skew } : {}),
    };
  }
  return null;
}

/** The `ena` section's interface lines (at most 8); lines outside the grammar are skipped. */
export function parseEnaInterfaces(lines: readonly string[]): EnaInterface[] {
  const out: EnaInterface[] = [];
  for (const line of lines) {
    const m = ENA_RE.exec(line);
    if (!m || out.length >= 8) continue;
    const raw = m[3]!;
    const count = /^\d+$/.test(raw) ? Number(raw) : null;
    const eb = m[4] === undefined ? undefined : Number(m[4]) / 1e9;
    out.push({
      name: m[1]!,
      driver: m[2]!,
      linklocalAllowanceExceeded: count,
      counter: count !== null ? 'present' : raw === 'unsupported' ? 'unsupported' : 'unknown',
      ...(eb !== undefined && isPlausible(eb, 'bound') ? { phcErrorBoundSeconds: eb } : {}),
    });
  }
  return out;
}

export interface LinkLocalJudgement {
  readonly findings: readonly Finding[];
  /** local − IMDS Date, when the probe read one. */
  readonly skewSeconds: number | null;
  readonly extra: Readonly<Record<string, unknown>>;
}

function stepFinding(step: 'PUT' | 'GET', st: string | undefined): Finding | null {
  if (st === undefined || st === 'skipped' || /^2\d\d$/.test(st)) return null;
  const what = step === 'PUT' ? 'the IMDSv2 token PUT' : 'the IMDS GET with a fresh token';
  if (st === '429') {
    return finding('imds-throttled', `${what} got HTTP 429: IMDS throttles this instance. Use SDK retries with backoff (AWS_MAX_ATTEMPTS / retry_mode=adaptive), cache credentials and metadata instead of asking IMDS per call`);
  }
  if (st === '403' || st === '405' || (step === 'GET' && st === '401')) {
    return finding('imds-token-refused', `${what} was refused (HTTP ${st}): a proxy or header rewrite in the path, or the metadata endpoint/tags settings refuse tokens. Check NO_PROXY for 169.254.169.254 and the instance metadata options`);
  }
  const why = st === 'timeout' ? 'got no answer within the probe timeout' : st === 'refused' ? 'could not connect (refused or no route)' : `failed (${st})`;
  return finding('imds-unreachable', `${what} ${why}: SDKs get no role credentials. Check the hop limit (containers need 2), NO_PROXY for 169.254.169.254, host firewall rules and HttpEndpoint`);
}

/**
 * Judges the `imds` and `ena` sections.
 * @param maxOffsetSeconds the offset threshold; the IMDS skew counts only above it and above {@link IMDS_SKEW_FLOOR_SECONDS}
 * @param maxBoundSeconds the clock-error-bound threshold the PHC error bound is held to
 */
export function judgeLinkLocal(p: ParsedReport, maxOffsetSeconds: number, maxBoundSeconds: number): LinkLocalJudgement {
  const findings: Finding[] = [];
  const extra: Record<string, unknown> = {};
  const probe = parseImdsProbe(section(p, 'imds')?.lines ?? []);
  let skew: number | null = null;
  if (probe !== null) {
    extra['imdsProbe'] = probe;
    const put = stepFinding('PUT', probe.put);
    const get = put === null ? stepFinding('GET', probe.get) : null;
    for (const f of [put, get]) if (f !== null) findings.push(f);
    if (probe.skewSeconds !== undefined) {
      skew = probe.skewSeconds;
      const limit = Math.max(maxOffsetSeconds, IMDS_SKEW_FLOOR_SECONDS);
      if (Math.abs(skew) > limit) {
        findings.push(
          finding('imds-date-skew', `the clock is ${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} the IMDS Date header (max ${limit} s; 1 s resolution): signed AWS requests fail beyond 300 s`),
        );
      }
    }
  }
  const ena = parseEnaInterfaces(section(p, 'ena')?.lines ?? []);
  if (ena.length > 0) {
    extra['enaInterfaces'] = ena;
    const uptime = p.header['uptime'];
    const since = uptime !== undefined && /^\d{1,12}$/.test(uptime) ? ` in ${uptime} s since boot` : ' since boot';
    const dropping = ena.filter((i) => (i.linklocalAllowanceExceeded ?? 0) > 0);
    if (dropping.length > 0) {
      const list = dropping.map((i) => `${i.name} ${i.linklocalAllowanceExceeded}`).join(', ');
      findings.push(
        finding('imds-packets-dropped', `the ENA driver dropped link-local packets over the 1,024 packets/s allowance (${list})${since}: IMDS, DNS and NTP answers are lost. Cache DNS and IMDS answers locally, spread the calls`),
      );
    }
    const phc = ena.map((i) => i.phcErrorBoundSeconds).filter((b): b is number => b !== undefined);
    const worst = phc.length > 0 ? Math.max(...phc) : null;
    if (worst !== null) {
      extra['phcErrorBoundSeconds'] = worst;
      if (worst > maxBoundSeconds) {
        findings.push(finding('phc-error-bound-over-threshold', `the PTP hardware clock's error bound (ENA phc_error_bound) is ${worst} s (max ${maxBoundSeconds} s)`));
      }
    }
  }
  const cb = p.header['clockbound'];
  if (cb === 'running' || cb === 'installed' || cb === 'none') extra['clockbound'] = cb;
  return { findings, skewSeconds: skew, extra };
}
