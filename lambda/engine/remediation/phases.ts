/**
 * The action phases plugged in beside the built-in IMDS and guest sides (see ./phase.ts). A new
 * remediation action adds its phase here; order is the order of their `planned` audit records.
 */
import { ACCOUNT_DEFAULTS_PHASE } from './account-defaults-phase';
import { IMDSV2_PHASE } from './imdsv2-phase';
import { LAUNCH_TEMPLATE_PHASE } from './launch-template-phase';
import type { ActionPhase } from './phase';

export const ACTION_PHASES: readonly ActionPhase[] = [IMDSV2_PHASE as unknown as ActionPhase, LAUNCH_TEMPLATE_PHASE as unknown as ActionPhase];

/**
 * Phases every run has, whatever `actionPhases` the caller plugs in (tests replace those): the
 * account defaults, run-level (`begin`), before the plugged-in ones.
 */
export const RUN_PHASES: readonly ActionPhase[] = [ACCOUNT_DEFAULTS_PHASE];
