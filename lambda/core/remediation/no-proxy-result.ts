/**
 * Reads what the guest's NO_PROXY step (remediate-*.{sh,ps1} with FixNoProxy=true) reports: its own
 * line before the final `TSG-REMEDIATE` one. Pure: no I/O, never throws.
 */
import { MAX_OUTPUT_CHARS, REMEDIATION_RESULTS } from './guest-result';

/** What the guest's NO_PROXY step adds (IMDS over IPv4, the ECS task-credentials endpoint, IMDS over IPv6). */
export const NO_PROXY_ADDRESSES = ['169.254.169.254', '169.254.170.2', 'fd00:ec2::254'] as const;

/** The guest NO_PROXY step's line: `TSG-NO-PROXY v1 result=<r> files=<a,b> reason=<token>`. */
const NO_PROXY_LINE = /^TSG-NO-PROXY v1 result=([a-z-]+) files=([A-Za-z0-9._~/,:-]*) reason=([A-Za-z0-9._~-]*)$/;

/** The NO_PROXY step's outcome as the audit records it (action `add-imds-no-proxy`). */
export interface NoProxyAudit {
  readonly outcome: 'verified' | 'skipped' | 'rolled-back' | 'failed';
  readonly reason?: string;
  readonly after: { readonly result: string; readonly files: readonly string[]; readonly note?: string };
}

/**
 * Reads the NO_PROXY step's line from a remediation script's output: undefined when the step did not
 * run (fixNoProxy off, or a script that stopped before it). Pure, never throws.
 */
export function noProxyAudit(output: string): NoProxyAudit | undefined {
  const lines = typeof output === 'string' ? output.slice(-MAX_OUTPUT_CHARS).split(/\r?\n/).map((l) => l.trimEnd()) : [];
  const line = [...lines].reverse().find((l) => l.startsWith('TSG-NO-PROXY '));
  if (line === undefined) return undefined;
  const m = NO_PROXY_LINE.exec(line);
  if (!m || !(REMEDIATION_RESULTS as readonly string[]).includes(m[1]!)) {
    return { outcome: 'failed', reason: 'unknown-result', after: { result: 'unknown', files: [] } };
  }
  const [, result, files, reason] = m as unknown as [string, string, string, string];
  const after = { result, files: files.split(',').filter((f) => f !== '') };
  switch (result) {
    case 'changed':
      return { outcome: 'verified', after: { ...after, note: reason } };
    case 'already-compliant':
    case 'skipped':
      return { outcome: 'skipped', reason: reason || result, after };
    case 'rolled-back':
      return { outcome: 'rolled-back', reason: reason || 'verification-failed', after };
    case 'would-change':
      // The engine never sends DryRun=true: a dry-run answer means the document is not ours.
      return { outcome: 'failed', reason: 'unexpected-dry-run-result', after };
    default:
      return { outcome: 'failed', reason: reason || 'guest-failed', after };
  }
}
