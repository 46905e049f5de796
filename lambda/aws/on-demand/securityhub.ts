/** Loaded on first use (../lazy-adapters.ts): Security Hub, called only when a finding changed. */
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { Clock, SecurityHubPort } from '../../engine/ports';
import { createClient } from '../client-factory';
import { createSecurityHubPort } from '../securityhub';

export function securityHubPort(clock: Clock): SecurityHubPort {
  return createSecurityHubPort({ securityHub: createClient(SecurityHubClient, 'securityhub'), clock });
}
