/**
 * The account's instance metadata defaults as an action phase (./phase.ts): run-level work, so it
 * has no per-instance items and does all of it in `begin`, once per new run right after the plan is
 * audited — a fresh read, the pure decision, at most one ModifyInstanceMetadataDefaults (none in a
 * dry run) and its read-back (./account-defaults.ts). Its record rides on the run state to the final
 * summary.
 */
import { tokensGateFromReadiness } from '../../core/imdsv2/enforcement';
import { accountDefaultsStep } from './account-defaults';
import { ContinuationError } from './continuation';
import type { ActionPhase } from './phase';

export const ACCOUNT_DEFAULTS_PHASE: ActionPhase = {
  key: 'account-defaults',
  // Its audit events are the account-defaults events (`set-account-metadata-defaults`), not instance actions.
  actionsOf: () => [],
  planned: () => [],
  select: () => [],
  enabled: () => true,
  encode: () => [],
  decode(id) {
    throw new ContinuationError(`account-defaults carries no items (got ${id})`, { reason: 'malformed' });
  },
  run: async () => true,
  async begin({ deps, settings, plan, checked, state }) {
    if (!deps.metadataDefaults) return;
    // Tokens required by default only in enforce mode on a fleet whose readiness the check proved.
    const gate = deps.tokensGate ?? (checked?.imdsv2 ? tokensGateFromReadiness(settings.imdsv2, checked.imdsv2) : undefined);
    state.accountDefaults = await accountDefaultsStep(
      { defaults: deps.metadataDefaults, audit: (d) => deps.audit.accountDefaults?.({ ...d }) ?? Promise.resolve(), clock: deps.clock, ...(deps.logger ? { logger: deps.logger } : {}) },
      checked?.accountDefaults,
      { runId: state.runId, mode: settings.accountDefaults, dryRun: plan.dryRun, hopLimitTarget: settings.hopLimitTarget, ...(gate ? { gate } : {}) },
    );
  },
};
