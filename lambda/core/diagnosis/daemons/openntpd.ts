/** OpenNTPD: `ntpctl -s all` → clock reading. */
import { finding } from '../findings';
import { parseNtpctl } from '../parsers/ntpctl';
import { implausible } from '../plausible';
import { type ParsedReport, section } from '../report';
import { classifySource } from '../time-source';
import { type ClockReading, ns, unknownReading } from './reading';

export function evaluateOpenntpd(p: ParsedReport): ClockReading {
  const s = section(p, 'ntpctl');
  if (s === undefined) return unknownReading('openntpd', [finding('unknown-format', 'OpenNTPD runs but the report holds no ntpctl section')]);
  const st = parseNtpctl(s.lines);
  if (st === null) return unknownReading('openntpd', [finding('daemon-not-responding', 'ntpctl gave no status')]);
  const lie = implausible([
    ['OpenNTPD stratum', st.stratum, 'stratum'],
    ['OpenNTPD peer offset', st.selected?.offset, 'offset'],
    ['OpenNTPD peer delay', st.selected?.delay, 'span'],
  ]);
  if (lie !== null) return unknownReading('openntpd', [finding('implausible-value', lie)]);
  if (!st.synced || st.selected === undefined) {
    return {
      daemon: 'openntpd',
      timeSource: 'none',
      synchronized: false,
      offsetSeconds: null,
      clockErrorBoundSeconds: null,
      findings: [finding('not-synchronized', 'OpenNTPD reports "clock unsynced" or no peer in use')],
      extra: {},
    };
  }
  // OpenNTPD: positive offset = local behind. Ours: positive = ahead. No root dispersion is shown: delay/2 stands in.
  const offset = -st.selected.offset;
  return {
    daemon: 'openntpd',
    timeSource: classifySource(st.selected.address),
    synchronized: true,
    offsetSeconds: ns(offset),
    clockErrorBoundSeconds: ns(Math.abs(offset) + st.selected.delay / 2),
    findings: [],
    sourceAddress: st.selected.address,
    extra: {},
  };
}
