/** Windows Time: w32tm status + configuration + registry → clock reading. */
import { finding } from '../findings';
import { ntpServerPeers, parseW32timeValues, parseW32tmStatus } from '../parsers/w32tm';
import { type ParsedReport, headerList, section } from '../report';
import { classifySource } from '../time-source';
import type { Finding } from '../types';
import { FREE_RUNNING_SLACK_SECONDS } from './chrony';
import { type ClockReading, noDaemonReading, ns, unknownReading } from './reading';

/** HRESULT of "The service has not been started". */
const SERVICE_NOT_STARTED = '0x80070426';

export function evaluateW32time(p: ParsedReport): ClockReading {
  const st = section(p, 'w32tm-status');
  const reg = parseW32timeValues(section(p, 'w32time-reg')?.lines ?? []);
  const conf = parseW32timeValues(section(p, 'w32tm-config')?.lines ?? []);
  const ntpServer = reg.get('NtpServer') ?? conf.get('NtpServer');
  const type = reg.get('Type') ?? conf.get('Type');
  const domain = p.header['domain'] === 'true';
  const extra = {
    w32time: {
      ...(ntpServer !== undefined ? { configuredPeers: ntpServerPeers(ntpServer) } : {}),
      ...(type !== undefined ? { type } : {}),
      domainMember: p.header['domain'] === undefined ? null : domain,
    },
  };
  const running = headerList(p, 'daemons');
  const status = st ? parseW32tmStatus(st.lines) : null;
  if ((running !== undefined && running.length === 0) || status?.error === SERVICE_NOT_STARTED) {
    return noDaemonReading('the Windows Time service (W32Time) is not running', extra);
  }
  if (st === undefined) return unknownReading('w32time', [finding('unknown-format', 'the report holds no w32tm-status section')]);
  if (st.rc === 124) return unknownReading('w32time', [finding('probe-timed-out', 'w32tm /query /status did not answer in time')]);
  if (status === null) return { ...unknownReading('w32time', [finding('unknown-format', 'w32tm /query /status output could not be parsed')]), extra };
  if (status.error !== undefined) {
    return { ...unknownReading('w32time', [finding('daemon-not-responding', `w32tm /query /status failed with ${status.error}`)]), extra };
  }
  if (!status.english) {
    // Localized: labels are unknown, so nothing about synchronisation is guessed. Keep what is language-neutral.
    return {
      ...unknownReading('w32time', [
        finding('localized-output-unparsed', 'w32tm printed localized text; only language-neutral values were read, synchronisation is not judged'),
      ]),
      extra: {
        w32time: {
          ...extra.w32time,
          ...(status.referenceId !== undefined ? { referenceId: status.referenceId } : {}),
          ...(status.referenceIp !== undefined ? { referenceIp: status.referenceIp } : {}),
        },
      },
    };
  }
  const findings: Finding[] = [];
  const source = status.source ?? '';
  const detail = { ...extra.w32time, source, ...(status.referenceId ? { referenceId: status.referenceId } : {}) };
  if (/Local CMOS Clock/i.test(source) || status.referenceId === '4C4F434C') {
    findings.push(finding('local-cmos-clock', 'W32Time runs from "Local CMOS Clock": the clock follows no time source'));
    return { daemon: 'w32time', timeSource: 'none', synchronized: false, offsetSeconds: null, clockErrorBoundSeconds: null, findings, extra: { w32time: detail } };
  }
  if (status.leap === 3 || /Free-running System Clock/i.test(source) || status.stratum === 0) {
    findings.push(finding('not-synchronized', `W32Time is not synchronised (leap ${status.leap ?? '?'}, source "${source}")`));
    return { daemon: 'w32time', timeSource: 'none', synchronized: false, offsetSeconds: null, clockErrorBoundSeconds: null, findings, extra: { w32time: detail } };
  }
  let synchronized = true;
  if (status.sinceLastGoodSync !== undefined && status.pollIntervalSeconds !== undefined) {
    if (status.sinceLastGoodSync > 8 * status.pollIntervalSeconds + FREE_RUNNING_SLACK_SECONDS) {
      findings.push(
        finding('free-running', `last good sync ${Math.round(status.sinceLastGoodSync)} s ago, more than 8 × the ${status.pollIntervalSeconds} s poll interval`),
      );
      synchronized = false;
    }
  }
  const peer = source.replace(/,0x[0-9a-fA-F]+$/, '').trim();
  // The reference IP is what W32Time actually talks to; the Source line can be a DNS name.
  const address = status.referenceIp ?? peer;
  let timeSource = /VM IC Time Synchronization Provider/i.test(source) ? 'other' : classifySource(address);
  if (timeSource === 'other' && classifySource(peer) !== 'other') timeSource = classifySource(peer);
  if (domain && /^NT5DS$/i.test(type ?? '') && timeSource === 'other') {
    detail.source = `${source} (domain hierarchy, Type=NT5DS)`;
  }
  // w32tm's Phase Offset is the correction still to apply (true − local): positive = local behind.
  const offset = status.phaseOffset !== undefined ? -status.phaseOffset : null;
  const bound =
    offset !== null && status.rootDispersion !== undefined && status.rootDelay !== undefined
      ? Math.abs(offset) + status.rootDispersion + status.rootDelay / 2
      : null;
  if (offset === null) findings.push(finding('unknown-format', 'w32tm gave no Phase Offset (was /verbose used?)'));
  return {
    daemon: 'w32time',
    timeSource,
    synchronized,
    offsetSeconds: offset === null ? null : ns(offset),
    clockErrorBoundSeconds: bound === null ? null : ns(bound),
    findings,
    sourceAddress: address,
    extra: { w32time: detail },
  };
}
