/**
 * One IAM decision by `@cloud-copilot/iam-simulate` (AWS's evaluation logic, with its iam-data
 * condition-key types): the identity policies of a role as synthesized, no SCPs or RCPs, and an
 * optional resource policy. Shared by the single-account and the organization IAM tests.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

/** One request as IAM sees it. */
export interface SimulatedRequest {
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly accountId: string;
  readonly context?: Record<string, string | string[]>;
}

/** The decision for `request`; throws when the simulator refuses the input (a test bug, never a verdict). */
export async function simulate(request: SimulatedRequest, identityPolicies: { name: string; policy: unknown }[], resourcePolicy?: unknown): Promise<Decision> {
  const result = await runSimulation(
    {
      request: { principal: request.principal, action: request.action, resource: { resource: request.resource, accountId: request.accountId }, contextVariables: request.context ?? {} },
      identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy !== undefined ? { resourcePolicy } : {}),
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`simulation rejected: ${JSON.stringify(result.errors)}`);
  if (result.resultType !== 'single') throw new Error(`unexpected ${result.resultType}`);
  return result.overallResult as Decision;
}
