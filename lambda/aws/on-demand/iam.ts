/** Loaded on demand (../../handlers/coverage-hook.ts): the IAM client and the profile check. */
import { IAMClient } from '@aws-sdk/client-iam';
import type { Clock } from '../clock';
import { createClient } from '../client-factory';
import { iamProfilePermissions } from '../coverage-iam';

export function profileCheck(clock: Clock): ReturnType<typeof iamProfilePermissions> {
  return iamProfilePermissions(createClient(IAMClient, 'iam'), clock);
}
