/**
 * The remediation's action phases (see ./phase.ts). A new remediation action adds its phase here;
 * order is the order of their `planned` audit records.
 */
import { ACCOUNT_DEFAULTS_PHASE } from './account-defaults-phase';
import { GUEST_PHASE } from './guest-phase';
import { IMDS_PHASE } from './imds-phase';
import { IMDSV2_PHASE } from './imdsv2-phase';
import { LAUNCH_TEMPLATE_PHASE } from './launch-template-phase';
import type { ActionPhase } from './phase';

export const ACTION_PHASES: readonly ActionPhase[] = [IMDSV2_PHASE as unknown as ActionPhase, LAUNCH_TEMPLATE_PHASE as unknown as ActionPhase];

/**
 * Phases every run has, whatever `actionPhases` the caller plugs in (tests replace those): the
 * account defaults, run-level (`begin`), the metadata-options rows and the guest document, before
 * the plugged-in ones (so the `planned` records are the IMDS rows', then the guest's, as they always
 * have been).
 */
export const RUN_PHASES: readonly ActionPhase[] = [ACCOUNT_DEFAULTS_PHASE, IMDS_PHASE as unknown as ActionPhase, GUEST_PHASE as unknown as ActionPhase];
