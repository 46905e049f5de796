/**
 * The account's instance metadata defaults (EC2 `GetInstanceMetadataDefaults`, per region): what new
 * launches get when neither the launch request nor the AMI says otherwise. They affect NEW launches
 * only: a running instance keeps its own options whatever the defaults become.
 *
 * Pure: the reading (or why it could not be read) comes in, account-level findings and the decision
 * of the opt-in `accountDefaults: 'set'` come out. No SDK, no I/O. Account-level findings are not
 * per-instance records: they go to the run summary, two fleet metrics, the dashboard and the SNS summary.
 */
import { ACCOUNT_FINDING_TABLE, type AccountFindingCode } from '../diagnosis/findings';
import type { AccountDefaultsMode } from '../settings/schema';
import type { InstanceEvaluation } from '../types';

/** Who owns the defaults: the account itself, or an AWS Organizations EC2 declarative policy. */
export type DefaultsManager = 'account' | 'declarative-policy';

/** The account-level defaults as EC2 reports them (fields absent = no preference). */
export interface AccountMetadataDefaults {
  readonly httpTokens?: 'optional' | 'required';
  /** Absent: no account default, so a launch gets the AMI's or EC2's own (1). */
  readonly hopLimit?: number;
  readonly httpEndpoint?: 'enabled' | 'disabled';
  readonly instanceMetadataTags?: 'enabled' | 'disabled';
  readonly httpTokensEnforced?: 'enabled' | 'disabled';
  /** Absent in the answer: treated as `account` (what every account was before declarative policies). */
  readonly managedBy: DefaultsManager;
  /** The policy's custom exception message, when a declarative policy manages the defaults. */
  readonly managedExceptionMessage?: string;
}

/** A read of the defaults: the values, or why there are none. What could not be read is never acted on. */
export type MetadataDefaultsReading =
  | { readonly status: 'read'; readonly defaults: AccountMetadataDefaults }
  | { readonly status: 'unknown'; readonly error: string };

/** Account-level code → one-line meaning (documented in docs/account-defaults.md), from the finding table's account rows. */
export const ACCOUNT_FINDING_CODES: Readonly<Record<AccountFindingCode, string>> = Object.fromEntries(
  Object.entries(ACCOUNT_FINDING_TABLE).map(([code, row]) => [code, row.meaning]),
) as Record<AccountFindingCode, string>;
export type { AccountFindingCode };

/** The account-level fleet metrics: the vocabulary lives in ../types.ts (the finding table names them too). */
export { ACCOUNT_DEFAULTS_METRICS } from '../types';

export interface AccountFinding {
  readonly code: AccountFindingCode;
  readonly message: string;
}

/** What a check run says about the account defaults (run summary, metrics, dashboard). */
export interface AccountDefaultsReport {
  readonly status: 'ok' | 'at-risk' | 'unknown';
  /** Undefined when unknown. */
  readonly managedBy?: DefaultsManager;
  readonly managedExceptionMessage?: string;
  readonly defaults?: AccountMetadataDefaults;
  /** Hop limit a new launch gets from the defaults (1 when unset). Undefined when unknown. */
  readonly newLaunchHopLimit?: number;
  /** Checked instances whose guest reported containers. */
  readonly containerHosts: number;
  readonly findings: readonly AccountFinding[];
  /** Why the defaults are unknown. */
  readonly detail?: string;
}

/** EC2's own hop limit when nothing sets one. */
export const EC2_DEFAULT_HOP_LIMIT = 1;

/** Instances whose guest was checked and reported containers. */
export function countContainerHosts(evaluations: Iterable<Pick<InstanceEvaluation, 'verdict'>>): number {
  let n = 0;
  for (const e of evaluations) if (e.verdict?.containers === true) n++;
  return n;
}

/**
 * Judges the defaults against the fleet: hop limit 1 for new launches is a finding only when this
 * fleet runs containers (any checked instance reports them); optional tokens always are.
 */
export function evaluateMetadataDefaults(reading: MetadataDefaultsReading, containerHosts: number, hopLimitTarget: number): AccountDefaultsReport {
  if (reading.status !== 'read') {
    return {
      status: 'unknown',
      containerHosts,
      findings: [{ code: 'account-defaults-unknown', message: ACCOUNT_FINDING_CODES['account-defaults-unknown'] }],
      detail: reading.error,
    };
  }
  const d = reading.defaults;
  const newLaunchHopLimit = d.hopLimit ?? EC2_DEFAULT_HOP_LIMIT;
  const findings: AccountFinding[] = [];
  if (containerHosts > 0 && newLaunchHopLimit < hopLimitTarget) {
    findings.push({
      code: 'account-default-hop-limit-too-low',
      message: `${d.hopLimit === undefined ? 'No account default hop limit (a launch gets 1)' : `Account default hop limit ${d.hopLimit}`}, target ${hopLimitTarget}, and ${containerHosts} checked instance(s) run containers.`,
    });
  }
  if (d.httpTokens !== 'required') {
    findings.push({
      code: 'account-default-tokens-optional',
      message: d.httpTokens === 'optional' ? 'Account default HttpTokens is optional: new launches allow IMDSv1.' : 'No account default HttpTokens: the AMI decides, and most allow IMDSv1.',
    });
  }
  return {
    status: findings.length > 0 ? 'at-risk' : 'ok',
    managedBy: d.managedBy,
    ...(d.managedExceptionMessage !== undefined ? { managedExceptionMessage: d.managedExceptionMessage } : {}),
    defaults: d,
    newLaunchHopLimit,
    containerHosts,
    findings,
  };
}

/** The two account-level metric values of a report (`findings` absent when unknown: no false zero). */
export function accountDefaultsMetricValues(report: AccountDefaultsReport): { findings?: number; unknown: number } {
  return report.status === 'unknown' ? { unknown: 1 } : { findings: report.findings.length, unknown: 0 };
}

/** The run summary's view of a report: small and flat, no per-instance data (absent values dropped). */
export function accountDefaultsSummary(report: AccountDefaultsReport): Record<string, unknown> {
  const out: Record<string, unknown> = {
    status: report.status,
    managedBy: report.managedBy,
    managedExceptionMessage: report.managedExceptionMessage,
    newLaunchHopLimit: report.newLaunchHopLimit,
    httpTokens: report.defaults ? (report.defaults.httpTokens ?? 'no-preference') : undefined,
    containerHosts: report.containerHosts,
    findings: report.findings.map((f) => f.code),
    detail: report.detail,
  };
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  return out;
}

// ---------------------------------------------------------------------------------------------
// The opt-in writer (`accountDefaults: 'set'`), as a pure decision

export type { AccountDefaultsMode } from '../settings/schema';

/**
 * What the IMDSv2 gate (h/v2gate's `imdsv2` setting and readiness) tells this module. Absent, or
 * anything but both fields true, means tokens are never set.
 */
export interface TokensGate {
  /** The `imdsv2` setting is `enforce`. */
  readonly enforcementOn?: boolean;
  /** Every instance of the fleet is ready for tokens required (no IMDSv1 use over a full window). */
  readonly fleetReadyForTokensRequired?: boolean;
}

/** The only change this product ever requests: a higher hop limit, and/or tokens required. */
export interface DefaultsChange {
  readonly hopLimit?: number;
  readonly httpTokens?: 'required';
}

export type DefaultsDecision =
  /** Nothing to do; `reason` says why (report-mode, already-compliant, no-container-hosts…). */
  | { readonly kind: 'none'; readonly reason: string }
  /** Not read: never acted on. */
  | { readonly kind: 'unknown'; readonly reason: 'defaults-unknown'; readonly error: string }
  /** A declarative policy owns them: never written; its message is reported. */
  | { readonly kind: 'managed-by-policy'; readonly reason: 'managed-by-declarative-policy'; readonly message?: string }
  | { readonly kind: 'change'; readonly change: DefaultsChange; readonly before: AccountMetadataDefaults };

export interface DefaultsDecisionInput {
  readonly mode: AccountDefaultsMode;
  readonly hopLimitTarget: number;
  /** Checked instances that run containers (from the check of this run). */
  readonly containerHosts: number;
  readonly gate?: TokensGate;
}

/**
 * Decides what `set` mode writes, from a FRESH reading: the hop-limit default goes to the target only
 * when it is lower (never lowered) and the fleet runs containers (changes only what is wrong);
 * `HttpTokens=required` only when enforcement is on and the fleet is ready. Never writes what a
 * declarative policy manages, nor anything it could not read.
 */
export function decideDefaultsChange(reading: MetadataDefaultsReading, input: DefaultsDecisionInput): DefaultsDecision {
  if (input.mode !== 'set') return { kind: 'none', reason: 'report-mode' };
  if (reading.status !== 'read') return { kind: 'unknown', reason: 'defaults-unknown', error: reading.error };
  const d = reading.defaults;
  if (d.managedBy === 'declarative-policy') {
    return { kind: 'managed-by-policy', reason: 'managed-by-declarative-policy', ...(d.managedExceptionMessage !== undefined ? { message: d.managedExceptionMessage } : {}) };
  }
  const current = d.hopLimit ?? EC2_DEFAULT_HOP_LIMIT;
  const hop = input.containerHosts > 0 && current < input.hopLimitTarget ? input.hopLimitTarget : undefined;
  const tokens = input.gate?.enforcementOn === true && input.gate.fleetReadyForTokensRequired === true && d.httpTokens !== 'required';
  if (hop === undefined && !tokens) {
    const reason = current >= input.hopLimitTarget || input.containerHosts > 0 ? 'already-compliant' : 'no-container-hosts';
    return { kind: 'none', reason };
  }
  return { kind: 'change', change: { ...(hop !== undefined ? { hopLimit: hop } : {}), ...(tokens ? { httpTokens: 'required' } : {}) }, before: d };
}

/** Does a read-back show the change in place? (A higher hop limit than asked also holds: never lowered.) */
export function changeApplied(change: DefaultsChange, after: MetadataDefaultsReading): boolean {
  if (after.status !== 'read') return false;
  const d = after.defaults;
  if (change.hopLimit !== undefined && (d.hopLimit ?? EC2_DEFAULT_HOP_LIMIT) < change.hopLimit) return false;
  if (change.httpTokens !== undefined && d.httpTokens !== change.httpTokens) return false;
  return true;
}

/** How the set step of a remediation run ended. */
export type DefaultsSetResult = 'report-only' | 'not-needed' | 'unknown' | 'managed-by-policy' | 'dry-run' | 'verified' | 'not-applied' | 'failed' | 'throttled';

/** What a remediation run carries about the account defaults (summary, SNS message, continuation). */
export interface AccountDefaultsRunRecord {
  /** {@link accountDefaultsSummary} of the run's check. */
  readonly report: Record<string, unknown>;
  /** The set step; `result` `report-only` in report mode. */
  readonly set: {
    readonly result: DefaultsSetResult;
    readonly reason?: string;
    readonly change?: DefaultsChange;
    readonly managedExceptionMessage?: string;
    readonly error?: string;
  };
}
