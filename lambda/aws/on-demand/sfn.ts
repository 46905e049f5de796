/** Loaded on first use (../lazy-adapters.ts): the urgent path's Step Functions calls. */
import type { UrgentExecutions } from '../../engine/urgent';
import type { Clock } from '../clock';
import { createRemediationExecutions } from '../remediation-executions';

export function remediationExecutions(stateMachineArn: string, clock: Clock): UrgentExecutions {
  return createRemediationExecutions({ stateMachineArn, clock });
}
