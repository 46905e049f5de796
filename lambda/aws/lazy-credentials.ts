/**
 * The CloudTrail IMDSv1-credential evidence deps of the check and the remediation (docs/imdsv2.md),
 * their module and SDK clients loaded at the first query or store read (./on-demand/cloudtrail.ts).
 * None without a CloudTrail setting: then nothing changes.
 */
import type { CloudTrailSource } from '../core/imdsv2/credential-delivery';
import type { CredentialEvidenceDeps } from '../engine/credential-evidence';
import type { Clock } from './clock';
import { onFirstUse } from './lazy-adapters';

/** The source the settings name, if any. */
export function cloudTrailSourceOf(s: { readonly cloudTrailEventDataStoreArn?: string; readonly cloudTrailLogGroupName?: string }): CloudTrailSource | undefined {
  if (s.cloudTrailEventDataStoreArn) return { kind: 'lake', eventDataStoreArn: s.cloudTrailEventDataStoreArn };
  if (s.cloudTrailLogGroupName) return { kind: 'logs', logGroupName: s.cloudTrailLogGroupName };
  return undefined;
}

/** `{ credentials }` for the IMDSv2 ports, or nothing. */
export function lazyCredentialEvidence(
  settings: { readonly cloudTrailEventDataStoreArn?: string; readonly cloudTrailLogGroupName?: string },
  bucket: string,
  clock: Clock,
): { credentials: CredentialEvidenceDeps } | Record<string, never> {
  const source = cloudTrailSourceOf(settings);
  if (!source) return {};
  const ports = onFirstUse(async () => (await import('./on-demand/cloudtrail')).credentialEvidencePorts(source, bucket, clock));
  return {
    credentials: {
      source,
      query: { start: async (q) => (await ports()).query.start(q), page: async (id, t) => (await ports()).query.page(id, t) },
      store: { read: async () => (await ports()).store.read(), write: async (text) => (await ports()).store.write(text) },
    },
  };
}
