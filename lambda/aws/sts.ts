/**
 * The hub's way into a member account: STS AssumeRole of the spoke role. A failure is classified
 * (role missing or not trusting us, an SCP denying it, throttling) so the hub reports it as data
 * for that account instead of failing the run.
 */
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Clock } from './clock';
import { isThrottlingError, withRetry } from './retry';

/** Why an account could not be entered. */
export type AssumeFailure = 'access-denied' | 'throttled' | 'region-disabled' | 'error';

export type AssumeResult = { readonly ok: true; readonly credentials: AwsCredentialIdentity } | { readonly ok: false; readonly reason: AssumeFailure; readonly detail: string };

/** The spoke role's ARN in an account (the StackSet gives it the same name everywhere). */
export function spokeRoleArn(partition: string, accountId: string, roleName: string): string {
  return `arn:${partition}:iam::${accountId}:role/${roleName}`;
}

/** Classifies an AssumeRole error; AccessDenied covers a missing role, a trust policy that excludes us and an SCP. */
export function classifyAssumeError(err: unknown): AssumeFailure {
  const name = (err as { name?: string })?.name ?? '';
  if (isThrottlingError(err)) return 'throttled';
  if (name === 'AccessDenied' || name === 'AccessDeniedException') return 'access-denied';
  if (name === 'RegionDisabledException') return 'region-disabled';
  return 'error';
}

/** Assumes the role; never throws. Throttling is retried (bounded) before it is reported. */
export async function assumeSpokeRole(
  sts: Pick<STSClient, 'send'>,
  roleArn: string,
  sessionName: string,
  clock: Clock,
  durationSeconds = 3600,
): Promise<AssumeResult> {
  try {
    const out = await withRetry(
      () => sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName.slice(0, 64), DurationSeconds: durationSeconds })),
      clock,
      { operation: 'AssumeRole', maxAttempts: 4 },
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) return { ok: false, reason: 'error', detail: 'AssumeRole returned no credentials' };
    return {
      ok: true,
      credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}), ...(c.Expiration ? { expiration: c.Expiration } : {}) },
    };
  } catch (err) {
    const e = err as { name?: string; message?: string };
    return { ok: false, reason: classifyAssumeError(err), detail: `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}` };
  }
}
