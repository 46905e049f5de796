/**
 * Which remediation document a guest runs: one per platform (lib/constructs/guest-documents.ts),
 * each sent with its own pin. A wave is split into one SendCommand per platform and endpoint.
 */
import type { RemediationEndpoint } from '../../contracts/remediation-document';
import type { Settings } from '../../core/settings';
import type { Platform } from '../../core/types';

/** The document of a platform and its SHA-256 pin. */
export function guestDocument(settings: Pick<Settings, 'remediationDocument' | 'remediationDocumentHash' | 'windowsRemediationDocument' | 'windowsRemediationDocumentHash'>, platform: Platform): { documentName: string; documentHash: string | undefined } {
  return platform === 'windows'
    ? { documentName: settings.windowsRemediationDocument, documentHash: settings.windowsRemediationDocumentHash }
    : { documentName: settings.remediationDocument, documentHash: settings.remediationDocumentHash };
}

/** The SendCommand groups of a wave: one per (platform, endpoint) that has instances. */
export function guestGroups<T extends { platform: Platform; ipv6: boolean }>(wave: readonly T[]): { platform: Platform; endpoint: RemediationEndpoint; items: T[] }[] {
  const out: { platform: Platform; endpoint: RemediationEndpoint; items: T[] }[] = [];
  for (const platform of ['linux', 'windows'] as const) {
    for (const endpoint of ['auto', 'ipv6'] as const) {
      const items = wave.filter((g) => g.platform === platform && g.ipv6 === (endpoint === 'ipv6'));
      if (items.length > 0) out.push({ platform, endpoint, items });
    }
  }
  return out;
}
