/**
 * Reads what the in-guest remediation scripts (lambda/guest/remediate-*.{sh,ps1}) report.
 * Both end their output with exactly one machine-readable line:
 *
 *   TSG-REMEDIATE v1 result=<result> daemon=<daemon> action=<token> reason=<token-or-empty>
 *
 * Pure: no I/O. Never throws: whatever SSM hands back (truncated, empty, garbled, stderr mixed in)
 * becomes an outcome, with `result: 'unknown'` and a reason when there is no usable line.
 */
import type { Daemon } from '../types';

/** Every result a script can report, in the order the docs list them. */
export const REMEDIATION_RESULTS = [
  'already-compliant',
  'changed',
  'would-change',
  'rolled-back',
  'failed',
  'skipped',
] as const;

export type RemediationResultValue = (typeof REMEDIATION_RESULTS)[number];

/** Why an output gave no usable result (the `reason` of an `unknown` outcome). */
export type UnreadableReason = 'no-result-line' | 'garbled-result-line' | 'unsupported-version';

export interface RemediationOutcome {
  /** What the script did; `unknown` when its output has no usable final line. */
  readonly result: RemediationResultValue | 'unknown';
  /** The daemon the script worked on (`none` when there was none, `unknown` when not reported). */
  readonly daemon: Daemon;
  /** Short token for what it did or would do (e.g. `add-source-drop-in`); empty when unknown. */
  readonly action: string;
  /** URL-safe reason token; empty when the script gave none. */
  readonly reason: string;
  /** The human-readable progress lines before the final line, for logs (never parsed further). */
  readonly progress: readonly string[];
}

const DAEMONS: readonly Daemon[] = ['chrony', 'ntpd', 'systemd-timesyncd', 'openntpd', 'w32time', 'none', 'unknown'];
const PREFIX = 'TSG-REMEDIATE';
/**
 * Only the output's tail is read: the scripts print ≤ 2,500 characters and the result line last,
 * and SSM returns 24,000 at most. A longer text is cut to its tail before any line is looked at.
 */
export const MAX_OUTPUT_CHARS = 24_000;
const LINE = /^TSG-REMEDIATE v1 result=([a-z-]+) daemon=([a-z0-9-]+) action=([A-Za-z0-9._~-]*) reason=([A-Za-z0-9._~-]*)$/;

/** True for results the scripts exit 0 with: nothing is left broken on the instance. */
export function isHealthyResult(result: RemediationOutcome['result']): boolean {
  return result === 'already-compliant' || result === 'changed' || result === 'would-change' || result === 'skipped';
}

/** The final line a script prints for an outcome (the inverse of {@link parseRemediationOutput}). */
export function formatRemediationLine(o: Pick<RemediationOutcome, 'result' | 'daemon' | 'action' | 'reason'>): string {
  return `${PREFIX} v1 result=${o.result} daemon=${o.daemon} action=${o.action} reason=${o.reason}`;
}

/**
 * Parses a remediation script's output. The last `TSG-REMEDIATE` line counts (earlier ones can
 * only be echoes); CRLF and trailing blanks are tolerated. Never throws.
 */
export function parseRemediationOutput(text: string): RemediationOutcome {
  // trimEnd, not `replace(/\s+$/)`: that pattern is quadratic on a long run of blanks mid-line.
  const lines = typeof text === 'string' ? text.slice(-MAX_OUTPUT_CHARS).split(/\r?\n/).map((l) => l.trimEnd()) : [];
  let at = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i]!.startsWith(PREFIX)) {
      at = i;
      break;
    }
  }
  const progress = (at === -1 ? lines : lines.slice(0, at)).filter((l) => l !== '');
  if (at === -1) return unknown('no-result-line', progress);
  const line = lines[at]!;
  if (!line.startsWith(`${PREFIX} v1 `)) return unknown('unsupported-version', progress);
  const m = LINE.exec(line);
  if (!m) return unknown('garbled-result-line', progress);
  const [, result, daemon, action, reason] = m as unknown as [string, string, string, string, string];
  if (!(REMEDIATION_RESULTS as readonly string[]).includes(result)) return unknown('garbled-result-line', progress);
  return {
    result: result as RemediationResultValue,
    daemon: (DAEMONS as readonly string[]).includes(daemon) ? (daemon as Daemon) : 'unknown',
    action,
    reason,
    progress,
  };
}

function unknown(reason: UnreadableReason, progress: readonly string[]): RemediationOutcome {
  return { result: 'unknown', daemon: 'unknown', action: '', reason, progress };
}
