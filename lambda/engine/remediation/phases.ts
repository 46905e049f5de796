/**
 * The action phases plugged in beside the built-in IMDS and guest sides (see ./phase.ts). A new
 * remediation action adds its phase here; order is the order of their `planned` audit records.
 */
import type { ActionPhase } from './phase';

export const ACTION_PHASES: readonly ActionPhase[] = [];
