/**
 * The CloudTrail IMDSv1-credential evidence deps of the check and the remediation (docs/imdsv2.md),
 * their module and SDK clients loaded at the first query or store read (./on-demand/cloudtrail.ts).
 * None without a CloudTrail setting: then nothing changes.
 */
import type { CloudTrailSource } from '../core/imdsv2/credential-delivery';
import type { CredentialEvidenceDeps } from '../engine/credential-evidence';
import type { Clock } from './clock';
import { onFirstUse } from './lazy-adapters';
import { loadOnDemand } from './on-demand-loader';

/** The source the settings name, if any. */
export function cloudTrailSourceOf(s: { readonly cloudTrail?: string }): CloudTrailSource | undefined {
  const v = s.cloudTrail ?? 'off';
  if (v.startsWith('arn:')) return { kind: 'lake', eventDataStoreArn: v };
  if (v.startsWith('log-group:')) return { kind: 'logs', logGroupName: v.slice('log-group:'.length) };
  return undefined;
}

/** `{ credentials }` for the IMDSv2 ports, or nothing. */
export function lazyCredentialEvidence(
  settings: { readonly cloudTrail?: string },
  bucket: string,
  clock: Clock,
): { credentials: CredentialEvidenceDeps } | Record<string, never> {
  const source = cloudTrailSourceOf(settings);
  if (!source) return {};
  const ports = onFirstUse(async () => (await loadOnDemand('on-demand/cloudtrail')).credentialEvidencePorts(source, bucket, clock));
  return {
    credentials: {
      source,
      query: { start: async (q) => (await ports()).query.start(q), page: async (id, t) => (await ports()).query.page(id, t) },
      store: { read: async () => (await ports()).store.read(), write: async (text) => (await ports()).store.write(text) },
    },
  };
}
