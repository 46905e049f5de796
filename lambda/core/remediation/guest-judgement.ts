/**
 * Judging one instance's remediation-document run (pure): what the invocation and the script's
 * final line mean for the audit record and for MaxErrors. The engine's guest phase sends, this
 * decides; nothing here calls anything but the injected output parser.
 */

/** What the in-guest script reported, as the engine needs it (a subset of the parsed result line). */
export interface GuestOutcome {
  readonly result: 'already-compliant' | 'changed' | 'would-change' | 'rolled-back' | 'failed' | 'skipped' | 'unknown';
  readonly daemon?: string;
  readonly action?: string;
  readonly reason?: string;
}

/** The invocation facts the judgement reads (the engine's InvocationResult fits). */
export interface GuestInvocation {
  readonly state: string;
  readonly status?: string;
  readonly detail?: string;
  readonly output?: string;
}

/** How one guest action is recorded, and whether it counts toward MaxErrors. */
export interface GuestJudgement {
  readonly outcome: 'verified' | 'skipped' | 'rolled-back' | 'failed';
  readonly reason?: string;
  readonly after?: unknown;
  /** Counts toward MaxErrors (a skip, a denial or success never does). */
  readonly countsAsError: boolean;
}

/**
 * Judges one instance's result. `parseOutput` must not throw; if it does, the output counts as
 * unparseable (never as success).
 */
export function judgeGuestResult(r: GuestInvocation | undefined, parseOutput: (text: string) => GuestOutcome): GuestJudgement {
  if (!r) return { outcome: 'failed', reason: 'no-result', countsAsError: true };
  if (r.state === 'denied') {
    // IAM refused this one instance (the opt-out Deny, e.g. a tag set after our fresh read): its
    // owner's word, not a failure of the fix, so it does not count toward MaxErrors.
    return { outcome: 'skipped', reason: 'access-denied', after: { status: r.status, detail: r.detail }, countsAsError: false };
  }
  if (r.output !== undefined && r.output !== '' && (r.state === 'success' || r.state === 'failed')) {
    let g: GuestOutcome;
    try {
      g = parseOutput(r.output);
    } catch {
      g = { result: 'unknown', reason: 'unparseable-output' };
    }
    const after = { result: g.result, daemon: g.daemon, action: g.action };
    switch (g.result) {
      case 'changed':
        return { outcome: 'verified', after, countsAsError: false };
      case 'already-compliant':
        return { outcome: 'skipped', reason: 'already-compliant', after, countsAsError: false };
      case 'skipped':
        return { outcome: 'skipped', reason: g.reason || 'guest-skipped', after, countsAsError: false };
      case 'rolled-back':
        return { outcome: 'rolled-back', reason: g.reason || 'verification-failed', after, countsAsError: true };
      case 'would-change':
        // We sent DryRun=false; a dry-run answer means the document is not ours or is misconfigured.
        return { outcome: 'failed', reason: 'unexpected-dry-run-result', after, countsAsError: true };
      case 'failed':
        return { outcome: 'failed', reason: g.reason || 'guest-failed', after, countsAsError: true };
      default:
        return { outcome: 'failed', reason: g.reason ? `unknown-result:${g.reason}` : 'unknown-result', after: { invocation: r.state }, countsAsError: true };
    }
  }
  return { outcome: 'failed', reason: `invocation-${r.state}`, after: { status: r.status, detail: r.detail }, countsAsError: true };
}

/** MaxErrors as a count: `N` or `P%` of the instances planned for the guest step (rounded down, like SSM). */
export function maxErrorsCount(maxErrors: string, planned: number): number {
  const m = /^(\d+)(%?)$/.exec(maxErrors.trim());
  if (!m) return 0;
  const n = Number(m[1]);
  return m[2] === '%' ? Math.floor((planned * n) / 100) : n;
}

/** The guest step stops once failures pass MaxErrors (strictly more than the allowed count, as SSM). */
export function guestStepStops(failures: number, maxErrors: string, planned: number): boolean {
  return failures > maxErrorsCount(maxErrors, planned);
}
