/** systemd-timesyncd: `timedatectl show`, `show-timesync`, `timesync-status` → clock reading. */
import { finding } from '../findings';
import { parseNtpMessage, parseProperties, parseTimesyncStatus } from '../parsers/timedatectl';
import { parseDecimal, parseTimespan } from '../parsers/units';
import { implausible } from '../plausible';
import { type ParsedReport, section } from '../report';
import { classifySource } from '../time-source';
import { type ClockReading, ns, unknownReading } from './reading';

export function evaluateTimesyncd(p: ParsedReport): ClockReading {
  const show = section(p, 'timedatectl');
  const sync = section(p, 'timesync');
  const status = section(p, 'timesync-status');
  const props = parseProperties(show?.lines ?? []);
  const tprops = parseProperties(sync?.lines ?? []);
  const st = status ? parseTimesyncStatus(status.lines) : null;
  if (!props.has('NTPSynchronized') && st === null && !tprops.has('ServerAddress')) {
    return unknownReading('systemd-timesyncd', [finding('unknown-format', 'systemd-timesyncd runs but timedatectl gave nothing readable')]);
  }
  const msg = parseNtpMessage(tprops.get('NTPMessage'));
  const lie = implausible([
    ['timesyncd stratum', st?.stratum, 'stratum'],
    ['timesyncd NTPMessage stratum', parseDecimal(msg.get('Stratum')), 'stratum'],
    ['timesyncd offset', st?.offset, 'offset'],
    ['timesyncd delay', st?.delay, 'span'],
    ['timesyncd root distance', st?.rootDistance, 'span'],
    ['timesyncd root delay', parseTimespan(msg.get('RootDelay') ?? ''), 'span'],
    ['timesyncd root dispersion', parseTimespan(msg.get('RootDispersion') ?? ''), 'span'],
  ]);
  if (lie !== null) return unknownReading('systemd-timesyncd', [finding('implausible-value', lie)]);
  const address = tprops.get('ServerAddress') || st?.server || '';
  // For timesyncd (unlike chrony) NTPSynchronized is its own verdict: it sets the kernel flag when it syncs.
  const kernelSync = props.get('NTPSynchronized');
  const leapUnsync = msg.get('Leap') === '3' || /not synchronized|unsynchronized/i.test(st?.leap ?? '');
  const synchronized = kernelSync === 'yes' && !leapUnsync && address !== '';
  const extra = { timesyncd: { ntpSynchronized: kernelSync ?? null, server: tprops.get('ServerName') ?? st?.server ?? null } };
  if (!synchronized) {
    return {
      daemon: 'systemd-timesyncd',
      timeSource: 'none',
      synchronized: false,
      offsetSeconds: null,
      clockErrorBoundSeconds: null,
      findings: [finding('not-synchronized', `systemd-timesyncd is not synchronised (NTPSynchronized=${kernelSync ?? '?'}, server ${address || 'none'})`)],
      extra,
    };
  }
  // timesync-status: positive offset = local behind. Ours: positive = ahead.
  const offset = st?.offset !== undefined ? -st.offset : null;
  const rootDelay = parseTimespan(msg.get('RootDelay') ?? '');
  const rootDisp = parseTimespan(msg.get('RootDispersion') ?? '');
  const distance = st?.rootDistance ?? (rootDelay !== null && rootDisp !== null ? rootDelay / 2 + rootDisp : null);
  const bound = offset !== null && distance !== null ? Math.abs(offset) + distance + (st?.delay ?? 0) / 2 : null;
  return {
    daemon: 'systemd-timesyncd',
    timeSource: classifySource(address),
    synchronized: true,
    offsetSeconds: offset === null ? null : ns(offset),
    clockErrorBoundSeconds: bound === null ? null : ns(bound),
    findings: offset === null ? [finding('unknown-format', 'timesync-status gave no offset')] : [],
    sourceAddress: address,
    extra,
  };
}
