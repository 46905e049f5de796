/** ntpd / ntpsec: `ntpq -pn` (+ optional `ntpq -c rv`) → clock reading. */
import { finding } from '../findings';
import { ntpqFailure, parseNtpqPeers, parseNtpqRv } from '../parsers/ntpq';
import { implausible } from '../plausible';
import { type ParsedReport, section } from '../report';
import { classifySource } from '../time-source';
import type { Finding } from '../../types';
import { type ClockReading, ns, unknownReading } from './reading';

export function evaluateNtpd(p: ParsedReport): ClockReading {
  const s = section(p, 'ntpq');
  if (s === undefined) return unknownReading('ntpd', [finding('unknown-format', 'ntpd runs but the report holds no ntpq section')]);
  if (s.rc === 124 || s.rc === 137) return unknownReading('ntpd', [finding('probe-timed-out', 'ntpq -pn did not answer in time')]);
  if (ntpqFailure(s.lines)) return unknownReading('ntpd', [finding('daemon-not-responding', `ntpd did not answer ntpq: ${s.lines.join(' ').slice(0, 120)}`)]);
  const peers = parseNtpqPeers(s.lines);
  if (peers === null) return unknownReading('ntpd', [finding('unknown-format', 'ntpq -pn output could not be parsed')]);
  const rvSection = section(p, 'ntpq-rv');
  const rv = rvSection ? parseNtpqRv(rvSection.lines) : null;
  const selected = peers.find((x) => x.tally === '*' || x.tally === 'o');
  const ms = (v: number | undefined) => (v === undefined ? undefined : v / 1000);
  const lie = implausible([
    ['ntpd stratum', rv?.stratum, 'stratum'],
    ['ntpd root delay', ms(rv?.rootDelayMs), 'span'],
    ['ntpd root dispersion', ms(rv?.rootDispMs), 'span'],
    ['ntpd system offset', ms(rv?.offsetMs), 'offset'],
    // Only the selected peer's numbers enter the verdict.
    ['ntpd selected peer stratum', selected?.stratum, 'stratum'],
    ['ntpd selected peer offset', ms(selected?.offsetMs), 'offset'],
    ['ntpd selected peer delay', ms(selected?.delayMs), 'span'],
    ['ntpd selected peer jitter', ms(selected?.jitterMs), 'span'],
  ]);
  if (lie !== null) return unknownReading('ntpd', [finding('implausible-value', lie)]);
  const findings: Finding[] = [];
  const extra = { ntpd: { peers: peers.length, reachable: peers.filter((x) => x.reach > 0).length, ...(rv ?? {}) } };
  if (selected === undefined || rv?.leap === '11') {
    const anyReach = peers.some((x) => x.reach > 0);
    findings.push(
      anyReach && rv?.leap !== '11'
        ? finding('source-lost', `ntpd has no selected (*) peer among ${peers.length}`)
        : finding('not-synchronized', `ntpd is not synchronised (${peers.length} peers, none selected)`),
    );
    return { daemon: 'ntpd', timeSource: 'none', synchronized: false, offsetSeconds: null, clockErrorBoundSeconds: null, findings, extra };
  }
  // ntpq: positive offset = local clock behind. Ours: positive = ahead.
  const offsetMs = rv?.offsetMs !== undefined && Math.abs(rv.offsetMs) > Math.abs(selected.offsetMs) ? rv.offsetMs : selected.offsetMs;
  const offset = -offsetMs / 1000;
  const bound =
    rv?.rootDispMs !== undefined && rv.rootDelayMs !== undefined
      ? Math.abs(offset) + (rv.rootDispMs + rv.rootDelayMs / 2) / 1000
      : Math.abs(offset) + selected.delayMs / 2000 + selected.jitterMs / 1000;
  return {
    daemon: 'ntpd',
    timeSource: selected.tally === 'o' ? 'other' : classifySource(selected.remote),
    synchronized: true,
    offsetSeconds: ns(offset),
    clockErrorBoundSeconds: ns(bound),
    findings,
    sourceAddress: selected.remote,
    extra,
  };
}
