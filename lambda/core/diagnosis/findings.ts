/**
 * The stable finding codes of the in-guest diagnosis. Codes never change once released: alarms,
 * metrics, Logs Insights queries and users' runbooks key on them.
 */
import type { Finding } from '../types';

/** What each finding does to the verdict status: `at-risk` is a judged problem; `unknown` means we could not judge. */
export type FindingEffect = 'at-risk' | 'unknown';

interface CodeInfo {
  readonly meaning: string;
  readonly effect: FindingEffect;
}

const CODES = {
  'not-amazon-time-sync': {
    meaning: 'The clock is synchronised, but not to the Amazon Time Sync Service (169.254.169.123, fd00:ec2::123 or the PTP hardware clock).',
    effect: 'at-risk',
  },
  'not-synchronized': { meaning: 'The time daemon reports no synchronisation (no reference, or leap status "Not synchronised").', effect: 'at-risk' },
  'offset-over-threshold': { meaning: 'The clock offset from true time is larger than the configured maximum.', effect: 'at-risk' },
  'clock-error-bound-over-threshold': {
    meaning: 'The clock error bound (|offset| + root dispersion + root delay / 2) is larger than the configured maximum.',
    effect: 'at-risk',
  },
  'source-lost': {
    meaning: 'No selected (*) source although the daemon still shows its last reference: every source is unreachable or rejected.',
    effect: 'at-risk',
  },
  'free-running': {
    meaning: "The last clock update is older than 8 update intervals (ClockBound's rule): the clock runs on its own.",
    effect: 'at-risk',
  },
  'multiple-daemons': { meaning: 'More than one time daemon runs; they fight over the clock.', effect: 'at-risk' },
  'no-daemon': { meaning: 'No time daemon runs: nothing keeps the clock synchronised.', effect: 'at-risk' },
  'daemon-not-responding': {
    meaning: 'The time daemon runs but did not answer its query tool (chronyc "506 Cannot talk to daemon" while chronyd runs, ntpq refused or timed out).',
    effect: 'unknown',
  },
  'probe-timed-out': { meaning: 'A probe in the collector hit its timeout; its data is missing.', effect: 'unknown' },
  'proxy-without-no-proxy': {
    meaning: 'A system-wide HTTP(S)_PROXY is set and NO_PROXY does not cover 169.254.169.254: SDKs send IMDS requests to the proxy.',
    effect: 'at-risk',
  },
  'local-cmos-clock': { meaning: 'Windows Time runs from "Local CMOS Clock": not synchronised to any source.', effect: 'at-risk' },
  'report-truncated': { meaning: 'The collector report has no end marker: it was cut in transit and cannot be judged whole.', effect: 'unknown' },
  'report-unreadable': { meaning: 'The text is not a timesync-guard collector report (empty, garbled or another program\'s output).', effect: 'unknown' },
  'unknown-format': { meaning: 'The report or a tool output in it has a format this version cannot parse (newer report version, unexpected columns).', effect: 'unknown' },
  'localized-output-unparsed': {
    meaning: 'w32tm printed localized text whose language-neutral parts were not enough to judge; nothing is guessed.',
    effect: 'unknown',
  },
  'unknown-daemon-state': { meaning: 'The report shows no usable output from any time daemon: synchronisation cannot be judged.', effect: 'unknown' },
} as const satisfies Record<string, CodeInfo>;

/** Every stable finding code. */
export type FindingCode = keyof typeof CODES;

/** Code → one-line meaning, for the README, the CLI and the check engine. */
export const FINDING_CODES: Readonly<Record<FindingCode, string>> = Object.fromEntries(
  Object.entries(CODES).map(([k, v]) => [k, v.meaning]),
) as Record<FindingCode, string>;

/** Code → what it does to the status (`at-risk` or `unknown`). */
export const FINDING_EFFECTS: Readonly<Record<FindingCode, FindingEffect>> = Object.fromEntries(
  Object.entries(CODES).map(([k, v]) => [k, v.effect]),
) as Record<FindingCode, FindingEffect>;

/** Builds a finding with a stable code. */
export function finding(code: FindingCode, message: string): Finding {
  return { code, message };
}

/** True when `code` is one of ours. */
export function isFindingCode(code: string): code is FindingCode {
  return Object.prototype.hasOwnProperty.call(CODES, code);
}
