/**
 * The nightly account-defaults phase (`accountDefaults: 'set'`): fresh read → pure decision →
 * ModifyInstanceMetadataDefaults with exactly the change → read back until it shows → audit. Never
 * writes what a declarative policy manages (its exception message is reported instead), never acts on
 * defaults it could not read, honours dry run, never lowers the hop-limit default.
 *
 * Its own module with explicit ports, so it plugs into whichever remediation structure calls it.
 */
import {
  type AccountDefaultsReport,
  type AccountDefaultsRunRecord,
  type DefaultsSetResult,
  accountDefaultsSummary,
  type AccountMetadataDefaults,
  type AccountDefaultsMode,
  changeApplied,
  decideDefaultsChange,
  type DefaultsChange,
  type MetadataDefaultsReading,
  type TokensGate,
} from '../../core/fleet/metadata-defaults';
import type { Clock, MetadataDefaultsPort } from '../ports';

/** `planned`/`applied`/`verified`/`failed`/`skipped`, as for instance actions. */
export type DefaultsAuditOutcome = 'planned' | 'applied' | 'verified' | 'failed' | 'skipped';

/** What is known about one attempt, shared by its audit event and the run summary. */
interface DefaultsRecord {
  /** Why (skipped, failed, not needed): a short kebab-case token. */
  readonly reason?: string;
  readonly change?: DefaultsChange;
  readonly before?: AccountMetadataDefaults;
  readonly after?: AccountMetadataDefaults;
  /** The declarative policy's exception message, when one manages the defaults. */
  readonly managedExceptionMessage?: string;
  readonly error?: string;
}

/** `detail` of a `TimeSync Guard Account Defaults Action` event. */
export interface AccountDefaultsAuditDetail extends DefaultsRecord {
  readonly runId: string;
  /** Always `set-account-metadata-defaults`. */
  readonly action: 'set-account-metadata-defaults';
  readonly outcome: DefaultsAuditOutcome;
  readonly dryRun: boolean;
  /** ISO-8601 time. */
  readonly at: string;
}

/** What this phase talks to. */
export interface AccountDefaultsPorts {
  readonly defaults: MetadataDefaultsPort;
  readonly audit: (detail: AccountDefaultsAuditDetail) => Promise<void>;
  readonly clock: Clock;
  readonly logger?: { info(message: string, ...extra: Record<string, unknown>[]): void; warn(message: string, ...extra: Record<string, unknown>[]): void };
}

export interface AccountDefaultsInput {
  readonly runId: string;
  readonly mode: AccountDefaultsMode;
  readonly dryRun: boolean;
  readonly hopLimitTarget: number;
  /** Checked instances that run containers, from this run's check. */
  readonly containerHosts: number;
  /** The IMDSv2 gate; absent = tokens are never set. */
  readonly gate?: TokensGate;
}

export interface AccountDefaultsOptions {
  /** Read-backs after the change before it counts as not applied. @default 3 */
  readonly verifyAttempts?: number;
  /** Wait between read-backs. @default 2000 */
  readonly verifyPollMs?: number;
}

/** The phase's result: one line of the run summary and the SNS message. */
export interface AccountDefaultsOutcome extends DefaultsRecord {
  readonly mode: AccountDefaultsMode;
  readonly result: DefaultsSetResult;
}

const defaultsOf = (r: MetadataDefaultsReading): AccountMetadataDefaults | undefined => (r.status === 'read' ? r.defaults : undefined);

/** Runs the phase once. Never throws for an AWS error: each one is an outcome, audited. */
export async function runAccountDefaultsPhase(ports: AccountDefaultsPorts, input: AccountDefaultsInput, options: AccountDefaultsOptions = {}): Promise<AccountDefaultsOutcome> {
  const { clock, logger } = ports;
  const mode = input.mode;
  if (mode !== 'set') return { mode, result: 'report-only' };
  const audit = (outcome: DefaultsAuditOutcome, extra: Partial<AccountDefaultsAuditDetail> = {}): Promise<void> =>
    ports.audit({ runId: input.runId, action: 'set-account-metadata-defaults', outcome, ...extra, dryRun: input.dryRun, at: new Date(clock.now()).toISOString() });

  // Fresh at the point of action: a policy attached since the check still wins.
  const reading = await ports.defaults.read();
  const decision = decideDefaultsChange(reading, { mode, hopLimitTarget: input.hopLimitTarget, containerHosts: input.containerHosts, ...(input.gate ? { gate: input.gate } : {}) });
  switch (decision.kind) {
    case 'none':
      return { mode, result: 'not-needed', reason: decision.reason, ...(defaultsOf(reading) ? { before: defaultsOf(reading) } : {}) };
    case 'unknown':
      await audit('skipped', { reason: decision.reason, error: decision.error });
      logger?.warn('account-defaults-unknown', { runId: input.runId, error: decision.error });
      return { mode, result: 'unknown', reason: decision.reason, error: decision.error };
    case 'managed-by-policy': {
      const msg = decision.message !== undefined ? { managedExceptionMessage: decision.message } : {};
      await audit('skipped', { reason: decision.reason, before: defaultsOf(reading)!, ...msg });
      logger?.info('account-defaults-managed-by-policy', { runId: input.runId, ...msg });
      return { mode, result: 'managed-by-policy', reason: decision.reason, before: defaultsOf(reading)!, ...msg };
    }
    case 'change':
      break;
  }
  const { change, before } = decision;
  await audit('planned', { change, before });
  if (input.dryRun) return { mode, result: 'dry-run', change, before };

  const res = await ports.defaults.modify(change);
  if (res.outcome !== 'requested') {
    await audit('failed', { reason: res.outcome === 'throttled' ? 'throttled' : 'modify-failed', change, before, error: res.error });
    return { mode, result: res.outcome === 'throttled' ? 'throttled' : 'failed', change, before, error: res.error };
  }
  await audit('applied', { change, before });

  const attempts = Math.max(1, options.verifyAttempts ?? 3);
  let after: MetadataDefaultsReading = { status: 'unknown', error: 'not read back' };
  for (let k = 0; k < attempts; k++) {
    if (k > 0) await clock.sleep(options.verifyPollMs ?? 2_000);
    after = await ports.defaults.read();
    if (changeApplied(change, after)) {
      await audit('verified', { change, before, after: defaultsOf(after)! });
      return { mode, result: 'verified', change, before, after: defaultsOf(after)! };
    }
  }
  const seen = defaultsOf(after);
  await audit('failed', { reason: 'not-applied', change, before, ...(seen ? { after: seen } : { error: (after as { error: string }).error }) });
  return { mode, result: 'not-applied', change, before, ...(seen ? { after: seen } : {}) };
}

/**
 * The remediation run's account-defaults step, from its check's report: runs the phase (which reads
 * fresh and decides) and returns the small record the run summary, the SNS message and the
 * continuation carry. Undefined when the check did not read the defaults.
 */
export async function accountDefaultsStep(
  ports: AccountDefaultsPorts,
  report: AccountDefaultsReport | undefined,
  input: Omit<AccountDefaultsInput, 'containerHosts'>,
  options: AccountDefaultsOptions = {},
): Promise<AccountDefaultsRunRecord | undefined> {
  if (!report) return undefined;
  const o = await runAccountDefaultsPhase(ports, { ...input, containerHosts: report.containerHosts }, options);
  const set: AccountDefaultsRunRecord['set'] = {
    result: o.result,
    ...(o.reason !== undefined ? { reason: o.reason } : {}),
    ...(o.change !== undefined ? { change: o.change } : {}),
    ...(o.managedExceptionMessage !== undefined ? { managedExceptionMessage: o.managedExceptionMessage } : {}),
    ...(o.error !== undefined ? { error: o.error } : {}),
  };
  return { report: accountDefaultsSummary(report), set };
}

/** Reads a record back from a continuation (anything malformed is dropped, never guessed at). */
export function accountDefaultsRecordFrom(v: unknown): AccountDefaultsRunRecord | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const r = v as { report?: unknown; set?: { result?: unknown } };
  if (!r.report || typeof r.report !== 'object' || !r.set || typeof r.set.result !== 'string') return undefined;
  return r as AccountDefaultsRunRecord;
}
