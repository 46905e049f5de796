/**
 * Whether an instance profile's role may do what SSM Agent needs: iam:GetInstanceProfile, then
 * iam:SimulatePrincipalPolicy of its role for the agent's actions (lambda/core/fleet/coverage.ts).
 *
 * Why iam:SimulatePrincipalPolicy and not the policy listings: GetInstanceProfile + Simulate is two
 * calls per profile, and the simulation evaluates every policy on the role (managed, inline,
 * permissions boundary), so a custom policy granting the SSM actions is judged right. The listings
 * (ListAttachedRolePolicies + ListRolePolicies) cost as many calls and can only recognise
 * AmazonSSMManagedInstanceCore by name: any other grant would need GetPolicyVersion / GetRolePolicy
 * and a policy evaluator of our own. Neither sees SCPs, so a role judged allowed can still be
 * denied by an SCP (then the cause stays `ssm-cause-unknown`, never a wrong one).
 */
import { GetInstanceProfileCommand, type IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { judgeSimulation, type ProfilePermissions, SSM_AGENT_ACTIONS } from '../core/fleet/coverage';
import type { Clock } from '../engine/ports';
import { withRetry } from './retry';

/** The profile name of an instance profile ARN (`arn:aws:iam::1:instance-profile/path/name` → `name`). */
export function profileNameOf(arn: string): string | undefined {
  const m = /^arn:[\w-]+:iam::\d{12}:instance-profile\/(?:.*\/)?([\w+=,.@-]{1,128})$/.exec(arn);
  return m?.[1];
}

/** The profile check over an IAM client. Throws on an IAM error (an `unknown` fact in the engine). */
export function iamProfilePermissions(iam: Pick<IAMClient, 'send'>, clock: Clock): (arn: string) => Promise<ProfilePermissions> {
  const retry = <T>(operation: string, fn: () => Promise<T>): Promise<T> => withRetry(fn, clock, { operation, maxAttempts: 4 });
  return async (arn) => {
    const name = profileNameOf(arn);
    if (!name) return { state: 'unknown', error: `not an instance profile ARN: ${arn.slice(0, 200)}` };
    const out = await retry('GetInstanceProfile', () => iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name })));
    const role = out?.InstanceProfile?.Roles?.[0]?.Arn;
    // A profile with no role gives the agent no credentials at all.
    if (out?.InstanceProfile && !role) return { state: 'denied', missing: [...SSM_AGENT_ACTIONS] };
    if (!role) return { state: 'unknown', error: 'GetInstanceProfile returned no profile' };
    const sim = await retry('SimulatePrincipalPolicy', () => iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: role, ActionNames: [...SSM_AGENT_ACTIONS] })));
    return judgeSimulation((sim?.EvaluationResults ?? []).map((r) => ({ action: r.EvalActionName, decision: r.EvalDecision })));
  };
}
