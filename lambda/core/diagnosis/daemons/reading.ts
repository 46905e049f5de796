/** What one daemon evaluator extracts from a report, before thresholds and cross-daemon checks. */
import { finding } from '../findings';
import type { Daemon, Finding, TimeSource } from '../../types';

export interface ClockReading {
  readonly daemon: Daemon;
  readonly timeSource: TimeSource;
  readonly synchronized: boolean | null;
  /** Positive = instance clock ahead of true time. */
  readonly offsetSeconds: number | null;
  readonly clockErrorBoundSeconds: number | null;
  readonly findings: readonly Finding[];
  /** Address or name of the selected source, when there is one. */
  readonly sourceAddress?: string;
  /** Daemon-specific detail copied into the verdict. */
  readonly extra: Readonly<Record<string, unknown>>;
}

/** A reading that judges nothing. */
export function unknownReading(daemon: Daemon, findings: readonly Finding[]): ClockReading {
  return { daemon, timeSource: 'unknown', synchronized: null, offsetSeconds: null, clockErrorBoundSeconds: null, findings, extra: {} };
}

/** No time daemon runs: nothing keeps the clock, which is a finding of its own (`no-daemon`). */
export function noDaemonReading(message: string, extra: Readonly<Record<string, unknown>> = {}): ClockReading {
  return {
    daemon: 'none',
    timeSource: 'none',
    synchronized: false,
    offsetSeconds: null,
    clockErrorBoundSeconds: null,
    findings: [finding('no-daemon', message)],
    extra,
  };
}

/** Rounds to nanoseconds so JSON shows 0.000001299, not 0.0000012990000000001. */
export function ns(v: number): number {
  return Math.round(v * 1e9) / 1e9;
}
