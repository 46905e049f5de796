/**
 * The in-guest verdict: collector report text in, {@link Verdict} out. Pure and total: it never
 * throws; whatever it cannot read becomes status `unknown` with a finding, never `ok`.
 *
 * Sign convention of every offset here: **positive = the instance clock is AHEAD of true time**.
 */
import { FINDING_EFFECTS, finding, type FindingCode } from './findings';
import { evaluateChrony } from './daemons/chrony';
import { evaluateNtpd } from './daemons/ntpd';
import { evaluateOpenntpd } from './daemons/openntpd';
import { evaluateTimesyncd } from './daemons/timesyncd';
import { evaluateW32time } from './daemons/w32time';
import { leapSmearFindings } from './leap-smear';
import { judgeLinkLocal } from './link-local';
import { implausible } from './plausible';
import { proxyFindings, redactSecrets } from './proxy';
import { type ClockReading, noDaemonReading, unknownReading } from './daemons/reading';
import { openEnvelope, type ReportCodec } from './envelope';
import { headerList, parseReport, type ParsedReport, REPORT_VERSION, ReportFormatError, ReportTruncatedError } from './report';
import { DEFAULTS } from '../settings';
import type { Daemon, Finding, Thresholds, Verdict, VerdictStatus } from '../types';

export { ReportFormatError } from './report';
export type { ParsedReport } from './report';
export type { ReportCodec } from './envelope';

/** The thresholds diagnose applies when the caller passes none. */
export const DEFAULT_THRESHOLDS: Thresholds = {
  maxOffsetSeconds: DEFAULTS.maxOffsetSeconds,
  maxClockErrorBoundSeconds: DEFAULTS.maxClockErrorBoundSeconds,
};

/**
 * Parses a report and throws {@link ReportFormatError} when it is not a report at all (empty,
 * no magic line, an envelope that does not open) or has a version this code does not know. What the
 * CLI uses to exit non-zero.
 * @param codec opens a compressed envelope (lambda/core/diagnosis/envelope.ts); without one an envelope is refused
 */
export function parseReportStrict(report: string, codec?: ReportCodec): ParsedReport {
  const opened = openEnvelope(report, codec);
  // A cut envelope is an incomplete report, as a plain report without its end marker: nothing in it is read.
  if (opened.kind === 'truncated') return { version: REPORT_VERSION, platform: null, header: {}, sections: [], cuts: [], complete: false, strayLines: 0 };
  if (opened.kind === 'invalid') throw new ReportFormatError(opened.message);
  return checkVersion(parseReport(opened.text));
}

function checkVersion(parsed: ParsedReport): ParsedReport {
  if (parsed.version > REPORT_VERSION || parsed.version < 1) {
    throw new ReportFormatError(`report version v${parsed.version} is not supported (this build reads v1..v${REPORT_VERSION})`);
  }
  return parsed;
}

const TRUNCATED_MESSAGE = 'the report has no TSG-END line: it was cut before its end, so nothing in it is judged';

/**
 * A cut report says nothing about the guest: whatever it holds (a header cut after `daemons=`, half
 * a sources table) is not judged, so no finding but `report-truncated` and no reading. Only the
 * magic line's version and platform, which were read whole, are kept.
 */
function truncatedVerdict(p: ParsedReport): Verdict {
  return unreadable('report-truncated', TRUNCATED_MESSAGE, { platform: p.platform, reportVersion: p.version });
}

/** Maps a collector's daemon name to the verdict's. */
const DAEMON_NAMES: Record<string, Daemon> = {
  chronyd: 'chrony',
  chrony: 'chrony',
  ntpd: 'ntpd',
  ntpsec: 'ntpd',
  'systemd-timesyncd': 'systemd-timesyncd',
  timesyncd: 'systemd-timesyncd',
  openntpd: 'openntpd',
  w32time: 'w32time',
};

function statusOf(findings: readonly Finding[], reading: ClockReading): VerdictStatus {
  const effects = findings.map((f) => FINDING_EFFECTS[f.code as FindingCode] ?? 'unknown');
  if (effects.includes('at-risk')) return 'at-risk';
  if (effects.includes('unknown')) return 'unknown';
  const amazon = reading.timeSource === 'amazon-ipv4' || reading.timeSource === 'amazon-ipv6' || reading.timeSource === 'amazon-phc';
  // W32Time has no clock error bound (docs/windows.md): its offset and sync state decide alone.
  const bound = reading.clockErrorBoundSeconds !== null || reading.daemon === 'w32time';
  if (reading.synchronized === true && amazon && reading.offsetSeconds !== null && bound) return 'ok';
  return 'unknown';
}

function unreadable(code: FindingCode, message: string, extra: Record<string, unknown> = {}): Verdict {
  return {
    platform: null,
    daemon: 'unknown',
    timeSource: 'unknown',
    synchronized: null,
    offsetSeconds: null,
    clockErrorBoundSeconds: null,
    containers: null,
    status: 'unknown',
    findings: [finding(code, message)],
    ...extra,
  };
}

function validThresholds(t: Thresholds | undefined): Thresholds {
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
  return {
    maxOffsetSeconds: ok(t?.maxOffsetSeconds) ? t.maxOffsetSeconds : DEFAULT_THRESHOLDS.maxOffsetSeconds,
    maxClockErrorBoundSeconds: ok(t?.maxClockErrorBoundSeconds) ? t.maxClockErrorBoundSeconds : DEFAULT_THRESHOLDS.maxClockErrorBoundSeconds,
  };
}

/** Epoch seconds from the header `now=`; null when absent or absurd. */
function guestNow(p: ParsedReport): number | null {
  const raw = p.header['now'];
  if (raw === undefined || !/^\d{1,12}(\.\d+)?$/.test(raw)) return null;
  return Number(raw);
}

/**
 * Judges a collector report. Never throws: unreadable input gives status `unknown` with a
 * `report-unreadable` / `unknown-format` finding.
 * @param report the collector's stdout (CRLF, a BOM and a few leading banner lines are tolerated):
 *   a plain report or its compressed envelope
 * @param thresholds limits for offset and clock error bound; defaults from settings.ts DEFAULTS
 * @param codec opens a compressed envelope; without one an envelope gives `report-unreadable`
 */
export function diagnose(report: string, thresholds?: Thresholds, codec?: ReportCodec): Verdict {
  try {
    // An envelope is opened (or refused) first; what it carried is then read as any plain report.
    const opened = openEnvelope(report, codec);
    if (opened.kind === 'truncated') return unreadable('report-truncated', `${TRUNCATED_MESSAGE} (${opened.message})`);
    if (opened.kind === 'invalid') return unreadable('report-unreadable', opened.message);
    return diagnoseUnsafe(opened.text, validThresholds(thresholds));
  } catch (e) {
    if (e instanceof ReportTruncatedError) return unreadable('report-truncated', `${TRUNCATED_MESSAGE} (${e.message})`);
    if (e instanceof ReportFormatError) {
      return unreadable(/version/.test(e.message) ? 'unknown-format' : 'report-unreadable', e.message);
    }
    // A bug must not turn into a crash of the fleet check, nor into "ok".
    return unreadable('report-unreadable', `internal error while reading the report: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function diagnoseUnsafe(text: string, t: Thresholds): Verdict {
  const parsed = parseReport(text);
  if (!parsed.complete) return truncatedVerdict(parsed);
  const p = checkVersion(parsed);
  const findings: Finding[] = [];

  const running = headerList(p, 'daemons');
  const runningDaemons = running === undefined ? undefined : [...new Set(running.map((d) => DAEMON_NAMES[d] ?? 'unknown'))];
  const now = guestNow(p);

  let reading: ClockReading;
  if (p.platform === 'linux') {
    reading = evaluateLinux(p, runningDaemons, now);
  } else if (p.platform === 'windows') {
    reading = evaluateW32time(p);
  } else {
    reading = unknownReading('unknown', [finding('unknown-format', 'the report names no known platform (linux or windows)')]);
  }
  // A number no daemon reports means the report is not trusted: nothing in it is judged (no other
  // finding, no offset, no bound), so it can neither read as ok nor feed a metric.
  const lie =
    reading.findings.find((f) => f.code === 'implausible-value')?.message ??
    implausible([
      ['the offset', reading.offsetSeconds, 'offset'],
      ['the clock error bound', reading.clockErrorBoundSeconds, 'bound'],
    ]);
  if (lie !== null) return unreadable('implausible-value', lie, { platform: p.platform, reportVersion: p.version });
  findings.push(...reading.findings);

  if (runningDaemons !== undefined && runningDaemons.length > 1) {
    findings.push(finding('multiple-daemons', `several time daemons run at once: ${running!.join(', ')}`));
  }
  if (reading.offsetSeconds !== null && Math.abs(reading.offsetSeconds) > t.maxOffsetSeconds) {
    findings.push(
      finding('offset-over-threshold', `the clock is ${Math.abs(reading.offsetSeconds)} s ${reading.offsetSeconds > 0 ? 'ahead' : 'behind'} (max ${t.maxOffsetSeconds} s)`),
    );
  }
  if (reading.clockErrorBoundSeconds !== null && reading.clockErrorBoundSeconds > t.maxClockErrorBoundSeconds) {
    findings.push(finding('clock-error-bound-over-threshold', `clock error bound ${reading.clockErrorBoundSeconds} s (max ${t.maxClockErrorBoundSeconds} s)`));
  }
  if (reading.synchronized === true && reading.timeSource === 'other' && !findings.some((f) => f.code === 'not-amazon-time-sync')) {
    findings.push(finding('not-amazon-time-sync', `synchronised to ${reading.sourceAddress ?? 'another source'}, not to the Amazon Time Sync Service`));
  }

  // What the guest sees of IMDS and its link-local allowance, and how its daemon is configured.
  const link = judgeLinkLocal(p, t.maxOffsetSeconds, t.maxClockErrorBoundSeconds);
  const smear = leapSmearFindings(p, reading.timeSource === 'amazon-ipv4' || reading.timeSource === 'amazon-ipv6');
  findings.push(...link.findings, ...smear.findings);
  // No daemon reports an offset: the IMDS Date header is the estimate (imds-date-skew judges it).
  const estimated = reading.offsetSeconds === null && link.skewSeconds !== null;
  const offsetSeconds = estimated ? link.skewSeconds : reading.offsetSeconds;

  const containersList = headerList(p, 'containers');
  const containers = containersList === undefined ? null : containersList.length > 0;
  const proxy = proxyFindings(p);
  findings.push(...proxy.findings);

  const status = statusOf(findings, reading);
  // Guest text quoted in the verdict never carries a credential, whatever the guest printed.
  const quoted = findings.map((f) => ({ ...f, message: redactSecrets(f.message) }));
  return {
    platform: p.platform,
    daemon: reading.daemon,
    timeSource: reading.timeSource,
    synchronized: reading.synchronized,
    offsetSeconds,
    clockErrorBoundSeconds: reading.clockErrorBoundSeconds,
    containers,
    status,
    findings: quoted,
    reportVersion: p.version,
    ...(p.header['os'] !== undefined ? { os: redactSecrets(p.header['os']) } : {}),
    ...(running !== undefined ? { daemonsRunning: running } : {}),
    ...(proxy.proxy !== null ? { systemProxy: proxy.proxy } : {}),
    ...(containersList !== undefined && containersList.length > 0 ? { containerRuntimes: containersList } : {}),
    ...(reading.sourceAddress !== undefined ? { sourceAddress: redactSecrets(reading.sourceAddress) } : {}),
    ...(p.cuts.length > 0 ? { reportCuts: p.cuts } : {}),
    ...(now !== null ? { guestTime: now } : {}),
    ...(estimated ? { offsetSource: 'imds-date' } : {}),
    ...link.extra,
    ...smear.extra,
    ...reading.extra,
  };
}

function evaluateLinux(p: ParsedReport, running: readonly Daemon[] | undefined, now: number | null): ClockReading {
  const has = (name: string) => p.sections.some((s) => s.name === name);
  const none = running !== undefined && running.length === 0;
  // Order of preference when several run (multiple-daemons is flagged anyway): the one most likely steering the clock.
  if (running?.includes('chrony') || (has('chrony-tracking') && (running === undefined || none))) {
    return evaluateChrony(p, running?.includes('chrony') ?? running === undefined, now);
  }
  if (running?.includes('ntpd') || (running === undefined && has('ntpq'))) return evaluateNtpd(p);
  if (running?.includes('systemd-timesyncd') || (running === undefined && has('timesync-status'))) return evaluateTimesyncd(p);
  if (running?.includes('openntpd') || (running === undefined && has('ntpctl'))) return evaluateOpenntpd(p);
  if (none) {
    return noDaemonReading('no time daemon (chronyd, ntpd, systemd-timesyncd, openntpd) runs');
  }
  // The collector says why it probed nothing (e.g. mktemp failed): pass its words on.
  const why = p.sections.find((s) => s.name === 'collector-error')?.lines[0]?.trim().slice(0, 200);
  const message = why ? `the collector probed nothing: ${why}` : 'the report holds no usable output from any time daemon';
  return unknownReading('unknown', [finding('unknown-daemon-state', message)]);
}
