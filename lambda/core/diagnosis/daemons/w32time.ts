/**
 * Windows Time: w32tm status + configuration + registry → clock reading. The rules and their
 * limits are described in docs/windows.md.
 */
import { finding } from '../findings';
import { ntpServerEntries, parseW32timeValues, parseW32tmStatus, type W32tmStatus } from '../parsers/w32tm';
import { implausible } from '../plausible';
import { type ParsedReport, headerList, section } from '../report';
import { classifySource } from '../time-source';
import type { Finding } from '../../types';
import { FREE_RUNNING_SLACK_SECONDS } from './chrony';
import { type ClockReading, noDaemonReading, ns, unknownReading } from './reading';

/** HRESULT of "The service has not been started". */
const SERVICE_NOT_STARTED = '0x80070426';
/** Reference ids that are ASCII names, not addresses: "LOCL" (local CMOS clock), "VMTP" (Hyper-V VM IC provider). */
const REFID_LOCL = '4C4F434C';
const REFID_VMTP = '564D5450';

/**
 * The effective value of a W32Time setting: Group Policy wins over the service key, which wins
 * over what `/query /configuration` printed (the collector reads all three).
 */
function effective(reg: Map<string, string>, conf: Map<string, string>, name: string): string | undefined {
  return reg.get(`Policy${name}`) ?? reg.get(name) ?? conf.get(name);
}

/**
 * How often W32Time really polls the source it reports. With the 0x1 (SpecialInterval) flag on
 * that peer, the period is SpecialPollInterval; the `/status` "Poll Interval" is then only the
 * NTP packet's poll field (EC2 captures show `2 (4s)` and `6 (64s)` with `,0x9`).
 */
function pollingCadence(status: W32tmStatus, ntpServer: string | undefined, specialPoll: string | undefined): number | undefined {
  const sourceHost = (status.source ?? '').replace(/,(0x[0-9a-fA-F]+|\d+)$/, '').trim().toLowerCase();
  const peer = ntpServerEntries(ntpServer).find(
    (p) => p.host.toLowerCase() === sourceHost || (status.referenceIp !== undefined && p.host === status.referenceIp),
  );
  const flagged = peer !== undefined ? (peer.flags & 1) === 1 : /,0x[0-9a-fA-F]*[13579bBdDfF]$/.test(status.source ?? '');
  const special = specialPoll !== undefined && /^\d+$/.test(specialPoll) ? Number(specialPoll) : undefined;
  if (flagged && special !== undefined && special > 0) return special;
  return status.pollIntervalSeconds;
}

function stopped(p: ParsedReport, status: W32tmStatus | null): boolean {
  const running = headerList(p, 'daemons');
  return (running !== undefined && running.length === 0) || status?.error === SERVICE_NOT_STARTED;
}

export function evaluateW32time(p: ParsedReport): ClockReading {
  const st = section(p, 'w32tm-status');
  const reg = parseW32timeValues(section(p, 'w32time-reg')?.lines ?? []);
  const conf = parseW32timeValues(section(p, 'w32tm-config')?.lines ?? []);
  const ntpServer = effective(reg, conf, 'NtpServer');
  const type = effective(reg, conf, 'Type');
  const specialPoll = effective(reg, conf, 'SpecialPollInterval');
  const domain = p.header['domain'] === 'true';
  const policyManaged = [...reg.keys()].some((k) => k.startsWith('Policy'));
  const base = {
    ...(ntpServer !== undefined ? { configuredPeers: ntpServerEntries(ntpServer).map((e) => e.host) } : {}),
    ...(type !== undefined ? { type } : {}),
    ...(specialPoll !== undefined ? { specialPollIntervalSeconds: Number(specialPoll) } : {}),
    ...(policyManaged ? { policyManaged: true } : {}),
    domainMember: p.header['domain'] === undefined ? null : domain,
  };
  const status = st ? parseW32tmStatus(st.lines) : null;
  if (stopped(p, status)) return noDaemonReading('the Windows Time service (W32Time) is not running', { w32time: base });
  if (st === undefined) return unknownReading('w32time', [finding('unknown-format', 'the report holds no w32tm-status section')]);
  if (st.rc === 124) return unknownReading('w32time', [finding('probe-timed-out', 'w32tm /query /status did not answer in time')]);
  if (status === null) return { ...unknownReading('w32time', [finding('unknown-format', 'w32tm /query /status output could not be parsed')]), extra: { w32time: base } };
  if (status.error !== undefined) {
    return { ...unknownReading('w32time', [finding('daemon-not-responding', `w32tm /query /status failed with ${status.error}`)]), extra: { w32time: base } };
  }
  const neutral = {
    ...(status.referenceId !== undefined ? { referenceId: `0x${status.referenceId}` } : {}),
    ...(status.referenceIp !== undefined ? { referenceIp: status.referenceIp } : {}),
  };
  if (!status.readable) {
    const code = status.english ? 'unknown-format' : 'localized-output-unparsed';
    return {
      ...unknownReading('w32time', [finding(code, 'the w32tm status lines are not in the expected order and shapes; synchronisation is not judged')]),
      extra: { w32time: { ...base, ...neutral } },
    };
  }
  const lie = implausible([
    ['W32Time stratum', status.stratum, 'stratum'],
    ['W32Time phase offset', status.phaseOffset, 'offset'],
    ['W32Time root delay', status.rootDelay, 'span'],
    ['W32Time root dispersion', status.rootDispersion, 'span'],
    ['W32Time clock rate', status.clockRate, 'tick'],
    ['W32Time poll interval', status.pollIntervalSeconds, 'interval'],
    ['W32Time time since the last good sync', status.sinceLastGoodSync, 'interval'],
    ['W32Time SpecialPollInterval', specialPoll !== undefined && /^\d{1,40}$/.test(specialPoll) ? Number(specialPoll) : undefined, 'interval'],
  ]);
  if (lie !== null) return unknownReading('w32time', [finding('implausible-value', lie)]);
  const source = status.source ?? '';
  const detail = {
    ...base,
    ...neutral,
    source,
    ...(status.leap !== undefined ? { leap: status.leap } : {}),
    ...(status.stratum !== undefined ? { stratum: status.stratum } : {}),
    ...(status.stateMachine !== undefined ? { stateMachine: status.stateMachine } : {}),
    ...(status.lastSyncErrorCode !== undefined ? { lastSyncError: status.lastSyncErrorCode } : {}),
    ...(status.sinceLastGoodSync !== undefined ? { sinceLastGoodSyncSeconds: status.sinceLastGoodSync } : {}),
    // Reported, not judged: W32Time's root dispersion is ~7.8 s on healthy hosts (docs/windows.md).
    ...(status.rootDispersion !== undefined ? { rootDispersionSeconds: status.rootDispersion } : {}),
    ...(status.rootDelay !== undefined ? { rootDelaySeconds: status.rootDelay } : {}),
  };
  const notSynced = (f: Finding): ClockReading => ({
    daemon: 'w32time',
    timeSource: 'none',
    synchronized: false,
    offsetSeconds: null,
    clockErrorBoundSeconds: null,
    findings: [f],
    extra: { w32time: detail },
  });
  // The reference id is language-neutral; the English source name is a second witness.
  if (status.referenceId === REFID_LOCL || /^Local CMOS Clock$/i.test(source)) {
    return notSynced(finding('local-cmos-clock', 'W32Time runs from the local CMOS clock (reference LOCL): the clock follows no time source'));
  }
  if (status.leap === 3 || status.stratum === 0 || status.referenceId === '00000000' || status.stateMachine === 0 || /Free-running System Clock/i.test(source)) {
    const never = status.stateMachine === 0 || status.referenceId === '00000000';
    return notSynced(
      finding('not-synchronized', `W32Time is not synchronised${never ? ' (it never synchronised since the service started)' : ''}: leap ${status.leap ?? '?'}, stratum ${status.stratum ?? '?'}, source "${source}"`),
    );
  }
  const findings: Finding[] = [];
  let synchronized = true;
  const cadence = pollingCadence(status, ntpServer, specialPoll);
  if (status.sinceLastGoodSync !== undefined && cadence !== undefined && status.sinceLastGoodSync > 8 * cadence + FREE_RUNNING_SLACK_SECONDS) {
    const err = status.lastSyncErrorCode !== undefined && status.lastSyncErrorCode !== 0 ? `, last sync error ${status.lastSyncErrorCode}` : '';
    findings.push(finding('free-running', `last good sync ${Math.round(status.sinceLastGoodSync)} s ago, more than 8 × the ${cadence} s polling period${err}`));
    synchronized = false;
  }
  const peer = source.replace(/,(0x[0-9a-fA-F]+|\d+)$/, '').trim();
  let address = status.referenceIp ?? peer;
  let timeSource = classifySource(address);
  // IPv6 sources have a hashed reference id: the Source line names the peer.
  if (timeSource === 'other' && classifySource(peer) !== 'other' && classifySource(peer) !== 'unknown') timeSource = classifySource(peer);
  if (status.referenceId === REFID_VMTP) {
    address = 'VM IC Time Synchronization Provider (VMTP)';
    timeSource = 'other';
  }
  if (timeSource === 'unknown') timeSource = 'other';
  if (synchronized && timeSource === 'other') {
    const hierarchy = /^NT5DS$/i.test(type ?? '') || (domain && !/^NTP$/i.test(type ?? ''));
    findings.push(
      finding(
        'not-amazon-time-sync',
        hierarchy
          ? `domain member synchronised to ${peer || address} through the domain hierarchy (Type=${type ?? '?'}): it follows its domain controllers, whose time source decides; not the Amazon Time Sync Service`
          : `synchronised to ${peer || address}, not to the Amazon Time Sync Service`,
      ),
    );
  }
  // Sign: w32tm's Phase Offset is the correction still to apply (true − local), positive = local
  // clock behind; this verdict's convention is positive = ahead, hence the minus. Evidence
  // (docs/windows.md): Win32 timeprov.h TSI_PhaseOffset "the phase offset used to adjust the
  // clock"; MaxPosPhaseCorrection "the largest positive time correction … the service makes"
  // (a positive correction moves a clock that is behind forward). Moderate confidence.
  const offset = status.phaseOffset !== undefined ? -status.phaseOffset : null;
  if (offset === null) findings.push(finding('unknown-format', 'w32tm gave no Phase Offset (was /verbose used?)'));
  return {
    daemon: 'w32time',
    timeSource,
    synchronized,
    offsetSeconds: offset === null ? null : ns(offset),
    // No clock error bound on Windows: root dispersion is no error bound there (docs/windows.md).
    clockErrorBoundSeconds: null,
    findings,
    sourceAddress: address,
    extra: { w32time: detail },
  };
}
