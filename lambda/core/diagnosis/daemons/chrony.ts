/** chrony: tracking + sources → clock reading, with the traps of time-sync.md §2 handled. */
import { finding } from '../findings';
import { chronycFailure, parseSourcesCsv, parseSourcesText, parseTrackingCsv, parseTrackingText, type ChronySource } from '../parsers/chrony';
import { implausible } from '../plausible';
import { type ParsedReport, section } from '../report';
import { classifySource } from '../time-source';
import type { Finding } from '../../types';
import { type ClockReading, noDaemonReading, ns, unknownReading } from './reading';

/**
 * Seconds of slack on top of ClockBound's 8 × update interval: the guest's `now` is whole seconds
 * (`date +%s`) and is read a moment before chronyc runs.
 */
export const FREE_RUNNING_SLACK_SECONDS = 2;

const TIMEOUT_RCS = new Set([124, 137, 143]);

/**
 * @param daemonRuns whether chronyd was seen running (or process detection was unavailable)
 * @param now the guest's own epoch seconds, for the free-running rule
 */
export function evaluateChrony(p: ParsedReport, daemonRuns: boolean, now: number | null): ClockReading {
  const tr = section(p, 'chrony-tracking');
  const so = section(p, 'chrony-sources');
  if (tr === undefined) {
    return unknownReading('chrony', [finding('unknown-format', 'chronyd runs but the report holds no chrony-tracking section')]);
  }
  if (tr.rc !== null && TIMEOUT_RCS.has(tr.rc)) {
    return unknownReading('chrony', [finding('probe-timed-out', `chronyc tracking did not answer in time (rc ${tr.rc})`), finding('daemon-not-responding', 'chronyd did not answer chronyc tracking')]);
  }
  const failure = chronycFailure(tr.lines);
  if (failure !== null) {
    const msg = failure === 'cannot-talk' ? '506 Cannot talk to daemon' : 'Could not open connection to daemon';
    if (!daemonRuns) {
      return noDaemonReading(`chronyd is not running (chronyc: ${msg})`);
    }
    return unknownReading('chrony', [finding('daemon-not-responding', `chronyd runs but chronyc says: ${msg}`)]);
  }
  const tracking = parseTrackingCsv(tr.lines) ?? parseTrackingText(tr.lines);
  if (tracking === null) {
    return unknownReading('chrony', [finding('unknown-format', 'chronyc tracking output could not be parsed')]);
  }
  let sources: ChronySource[] | null = null;
  if (so !== undefined && chronycFailure(so.lines) === null) sources = parseSourcesCsv(so.lines) ?? parseSourcesText(so.lines);

  const selectedRow = sources?.find((s) => s.state === '*');
  const lie = implausible([
    ['chrony stratum', tracking.stratum, 'stratum'],
    ['chrony system time', tracking.systemTimeSlow, 'offset'],
    ['chrony root delay', tracking.rootDelay, 'span'],
    ['chrony root dispersion', tracking.rootDispersion, 'span'],
    ['chrony update interval', tracking.updateInterval, 'interval'],
    ['chrony reference time', tracking.refTime, 'epoch'],
    ['chrony frequency', tracking.frequencyPpm, 'ppm'],
    ['chrony skew', tracking.skewPpm, 'span'],
    // Only the selected source's numbers enter the verdict: an unselected falseticker may be years off.
    ['chrony selected source offset', selectedRow?.adjustedOffset, 'offset'],
    ['chrony selected source measured offset', selectedRow?.measuredOffset, 'offset'],
    ['chrony selected source error bound', selectedRow?.errorBound, 'span'],
    ['chrony selected source stratum', selectedRow?.stratum, 'stratum'],
  ]);
  if (lie !== null) return unknownReading('chrony', [finding('implausible-value', lie)]);

  const findings: Finding[] = [];
  const neverSynced = tracking.refId === '00000000' || tracking.leap === 'Not synchronised' || tracking.leap === 'Invalid';
  const localRef = tracking.refId === '7F7F0101';
  const selected = selectedRow;
  const extra: Record<string, unknown> = {
    chrony: {
      refId: tracking.refId,
      stratum: tracking.stratum,
      leap: tracking.leap,
      ...(tracking.refTime !== null ? { refTime: tracking.refTime } : {}),
      rootDelay: tracking.rootDelay,
      rootDispersion: tracking.rootDispersion,
      updateInterval: tracking.updateInterval,
      ...(sources !== null ? { sources: sources.length, reachable: sources.filter((s) => s.reach > 0).length } : {}),
    },
  };

  if (neverSynced) {
    findings.push(finding('not-synchronized', `chrony is not synchronised (leap status "${tracking.leap}", reference ${tracking.refId})`));
    return { daemon: 'chrony', timeSource: 'none', synchronized: false, offsetSeconds: null, clockErrorBoundSeconds: null, findings, extra };
  }
  if (localRef) {
    findings.push(finding('not-synchronized', 'chrony serves its own clock (local reference 7F7F0101): it follows no source'));
    return { daemon: 'chrony', timeSource: 'none', synchronized: false, offsetSeconds: null, clockErrorBoundSeconds: null, findings, extra };
  }

  // chronyd -x (no clock control) keeps "System time" near 0 while the selected source's samples
  // show the real offset: trust whichever is larger in magnitude.
  const trackingOffset = -tracking.systemTimeSlow;
  const sampleOffset = selected?.adjustedOffset;
  const offset = sampleOffset !== undefined && Math.abs(sampleOffset) > Math.abs(trackingOffset) ? sampleOffset : trackingOffset;
  const bound = Math.abs(offset) + tracking.rootDispersion + tracking.rootDelay / 2;

  let synchronized: boolean | null = true;
  if (sources === null) {
    findings.push(finding('unknown-format', 'chronyc sources is missing or unreadable: the selected source cannot be verified'));
    synchronized = null;
  } else if (selected === undefined) {
    findings.push(
      finding('source-lost', `no selected (*) source among ${sources.length}; chrony still shows its last reference ${tracking.address || tracking.refId}`),
    );
    synchronized = false;
  }
  if (now !== null && tracking.refTime !== null) {
    // ref time is on chrony's corrected (NTP) time scale; with -x or a big offset the raw guest clock is not.
    const age = now + tracking.systemTimeSlow - tracking.refTime;
    if (age > 8 * tracking.updateInterval + FREE_RUNNING_SLACK_SECONDS) {
      findings.push(finding('free-running', `last clock update ${Math.round(age)} s ago, more than 8 × the ${tracking.updateInterval} s update interval`));
      synchronized = false;
    }
  }
  const address = selected?.address ?? tracking.address;
  let timeSource = selected !== undefined ? classifySource(selected.address, selected.mode === '#', tracking.refId) : 'none';
  if (sources === null) timeSource = classifySource(tracking.address, tracking.refId === '50484330', tracking.refId);
  return {
    daemon: 'chrony',
    timeSource,
    synchronized,
    offsetSeconds: ns(offset),
    clockErrorBoundSeconds: ns(bound),
    findings,
    ...(address ? { sourceAddress: address } : {}),
    extra,
  };
}
