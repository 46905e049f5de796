/**
 * What the plan wants of one instance's guest: the stack's remediation document, for its time-sync
 * step and its NO_PROXY step, judged only from a guest the check read whole (the guest phase's
 * `wants`, lambda/engine/remediation/guest-phase.ts).
 */
import { ADVISORY_CODES, codesWhere, type FindingCode } from '../diagnosis/findings';
import type { InstanceEvaluation } from '../types';
import type { BlockedAction, InstanceWants, WantedAction } from './wants';

/**
 * Finding codes that say the guest is not (reliably) synchronised to Amazon Time Sync, so the
 * in-guest remediation is worth running even when the time source reads as Amazon: the finding
 * table's rows whose fix is `enable-amazon-time-sync`.
 */
export const GUEST_FIX_FINDINGS: ReadonlySet<FindingCode> = codesWhere((c) => c.fix === 'enable-amazon-time-sync');

/** Finding codes the guest's NO_PROXY step fixes: the table's rows whose fix is `add-imds-no-proxy`. */
const NO_PROXY_FIX_FINDINGS: ReadonlySet<FindingCode> = codesWhere((c) => c.fix === 'add-imds-no-proxy');

const AMAZON_SOURCES = new Set(['amazon-ipv4', 'amazon-ipv6', 'amazon-phc']);

/** Findings that say the report itself could not be read whole: nothing in it may be acted on (the table's `vetoesFixes`). */
const UNREAD_REPORT_FINDINGS: ReadonlySet<FindingCode> = codesWhere((c) => c.vetoesFixes === true);

/**
 * Whether a Linux guest judged `ok` has only advisory leap-smear findings, which the time-sync fix
 * removes when the `fixMixedSources` setting asks for it.
 */
export function guestHasMixedSources(e: InstanceEvaluation): boolean {
  const v = e.verdict;
  return e.checkState === 'checked' && e.platform === 'linux' && v?.status === 'ok' && (v.findings ?? []).some((f) => ADVISORY_CODES.has(f.code));
}

/**
 * Whether the guest needs the time-sync fix, judged only from a completed check whose verdict is
 * `at-risk`: an `unknown` verdict (cut or unreadable report, daemon not answering, probe timed out)
 * is never fixed blind — the next check looks again.
 */
export function guestNeedsFix(e: InstanceEvaluation): boolean {
  const v = e.verdict;
  if (e.checkState !== 'checked' || !v || v.status !== 'at-risk') return false;
  if ((v.findings ?? []).some((f) => UNREAD_REPORT_FINDINGS.has(f.code))) return false;
  if (!AMAZON_SOURCES.has(v.timeSource)) return true;
  if (v.synchronized === false) return true;
  return (v.findings ?? []).some((f) => GUEST_FIX_FINDINGS.has(f.code)) || e.findings.some((f) => GUEST_FIX_FINDINGS.has(f.code));
}

/**
 * Whether the guest's NO_PROXY step is worth running: the check read the guest whole (a verdict that
 * is not `unknown`, no unread report) and found a code whose table row's fix is `add-imds-no-proxy`
 * (`proxy-without-no-proxy`). The document also runs
 * the time-sync step, which re-detects before it acts; an unknown verdict is never acted on.
 */
export function guestNeedsNoProxy(e: InstanceEvaluation): boolean {
  const v = e.verdict;
  if (e.checkState !== 'checked' || !v || v.status === 'unknown') return false;
  const codes = [...(v.findings ?? []), ...e.findings].map((f) => f.code);
  return !codes.some((c) => UNREAD_REPORT_FINDINGS.has(c)) && codes.some((c) => NO_PROXY_FIX_FINDINGS.has(c));
}

/**
 * The guest document as one want: time sync (with `fixTimeSync`, where {@link guestNeedsFix}, or
 * mixed sources with `fixMixedSources`; an unchecked guest is blocked `not-checked`), then NO_PROXY
 * (with `fixNoProxy`, where {@link guestNeedsNoProxy}); either one runs the document (`guest`).
 */
export const guestDocumentWants: InstanceWants = (e, settings) => {
  const wanted: WantedAction[] = [];
  const blocked: BlockedAction[] = [];
  if (settings.fixTimeSync) {
    if (guestNeedsFix(e) || (settings.fixMixedSources && guestHasMixedSources(e))) {
      wanted.push({ action: 'enable-amazon-time-sync', before: { timeSource: e.verdict?.timeSource, synchronized: e.verdict?.synchronized } });
    } else if (e.checkState !== 'checked' && e.checkState !== 'opted-out') {
      blocked.push({ action: 'enable-amazon-time-sync', reason: 'not-checked' });
    }
  }
  if (settings.fixNoProxy && guestNeedsNoProxy(e)) wanted.push({ action: 'add-imds-no-proxy', before: { systemProxy: true, noProxyCoversImds: false } });
  return { wanted, ...(blocked.length > 0 ? { blocked } : {}), ...(wanted.length > 0 ? { fields: { guest: true } } : {}) };
};
