/**
 * Before IMDSv2 is enforced account-wide (`HttpTokensEnforced` in the account's metadata defaults,
 * which refuses every launch that would allow IMDSv1): the launch template versions that would stop
 * launching. Checked: every version an Auto Scaling group launches today and every template's
 * default version (what a bare `RunInstances` with the template gets). Pure.
 */
import { findTemplate, resolveLaunchOptions, resolveReference } from './attribute';
import { type SourceInventory, versionKey } from './types';

/** One template version that enforcement would break (or that could not be judged). */
export interface EnforcementBlocker {
  readonly templateId: string;
  readonly templateName: string;
  readonly version: number;
  /** `tokens-optional`: its launches would allow IMDSv1 and be refused; `not-read`: the version or its AMI could not be read. */
  readonly reason: 'tokens-optional' | 'not-read';
  /** Groups that launch this version (empty: only a bare launch of the default version). */
  readonly groups: readonly string[];
}

/** Every blocker, sorted by template then version. */
export function enforcementBlockers(inv: SourceInventory): EnforcementBlocker[] {
  const used = new Map<string, { templateId: string; version: number; groups: Set<string> }>();
  const use = (templateId: string, version: number, group?: string): void => {
    const k = versionKey(templateId, version);
    const u = used.get(k) ?? { templateId, version, groups: new Set<string>() };
    if (group !== undefined) u.groups.add(group);
    used.set(k, u);
  };
  for (const t of inv.templates.values()) use(t.id, t.defaultVersion);
  for (const g of inv.groups) {
    for (const ref of g.references) {
      const t = findTemplate(inv, ref);
      const r = t && resolveReference(t, ref.version);
      if (t && r) use(t.id, r.version, g.name);
    }
  }
  // Judged against the account defaults as they are now: a version that states no HttpTokens passes
  // once the default is `required` (set it first: docs/launch-templates.md).
  const defaults = inv.accountDefaults;
  const out: EnforcementBlocker[] = [];
  for (const u of used.values()) {
    const t = inv.templates.get(u.templateId)!;
    const v = inv.versions.get(versionKey(u.templateId, u.version));
    const image = v?.imageId !== undefined ? inv.images.get(v.imageId) : undefined;
    const statesTokens = v?.metadataOptions?.httpTokens !== undefined;
    const base = { templateId: t.id, templateName: t.name, version: u.version, groups: [...u.groups].sort() };
    if (!v || (!statesTokens && v.imageId !== undefined && !image && !v.imageId.startsWith('resolve:'))) {
      out.push({ ...base, reason: 'not-read' });
      continue;
    }
    // An AMI named through an SSM parameter is judged as not v2.0: the conservative reading.
    if (resolveLaunchOptions(v.metadataOptions, image, defaults).httpTokens === 'optional') out.push({ ...base, reason: 'tokens-optional' });
  }
  return out.sort((a, b) => (a.templateId !== b.templateId ? (a.templateId < b.templateId ? -1 : 1) : a.version - b.version));
}
