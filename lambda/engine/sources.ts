/**
 * The IMDS-option sources, orchestrated (docs/launch-templates.md): read the groups, the templates
 * and versions they and the instances launch from, and those versions' AMIs (each read once per
 * run, O(groups + templates), never per instance); then, in `fix` mode, apply the pure plan
 * (lambda/core/sources/plan.ts): a new version copied from the one in use with only
 * `MetadataOptions` changed, verified by reading it back; `$Default` moved only where a group follows
 * it, verified, and moved back if it does not read back right. Nothing is ever deleted. Every
 * decision is audited (`update-launch-template`, the template id in the record's `instanceId`).
 */
import type { AccountMetadataDefaults } from '../core/fleet/metadata-defaults';
import { findTemplate, resolveReference } from '../core/sources/attribute';
import type { SourceDecision, SourcePlan } from '../core/sources/plan';
import { type LaunchOrigin, type SourceInventory, type LaunchTemplateInfo, type LaunchTemplateVersionInfo, type ImageInfo, versionKey } from '../core/sources/types';
import type { AuditOutcome } from './ports';
import type { LaunchSourcesPort } from './source-ports';

/** Reads everything attribution and the plan need; never throws (what failed is in `errors`). */
export async function readSources(port: LaunchSourcesPort, origins: readonly (LaunchOrigin | undefined)[], accountDefaults?: AccountMetadataDefaults): Promise<SourceInventory> {
  const errors: string[] = [];
  const groupsRead = await port.listGroups();
  if (!groupsRead.ok) errors.push(groupsRead.error);
  const groups = groupsRead.ok ? groupsRead.value : [];
  const ids = new Set<string>();
  for (const g of groups) for (const r of g.references) if (r.templateId !== undefined) ids.add(r.templateId);
  for (const o of origins) if (o?.templateId !== undefined) ids.add(o.templateId);
  const templates = new Map<string, LaunchTemplateInfo>();
  if (ids.size > 0) {
    const t = await port.describeTemplates([...ids]);
    if (t.ok) for (const x of t.value) templates.set(x.id, x);
    else errors.push(t.error);
  }
  // Versions: what each group launches, each template's $Default and $Latest, and what each instance came from.
  const wanted = new Map<string, Set<number>>();
  const want = (id: string, v: number): void => void (wanted.get(id) ?? wanted.set(id, new Set()).get(id)!).add(v);
  for (const t of templates.values()) [t.defaultVersion, t.latestVersion].forEach((v) => want(t.id, v));
  for (const g of groups) {
    for (const ref of g.references) {
      const t = findTemplate({ templates }, ref);
      const r = t && resolveReference(t, ref.version);
      if (t && r) want(t.id, r.version);
    }
  }
  for (const o of origins) if (o?.templateId !== undefined && o.templateVersion !== undefined && templates.has(o.templateId)) want(o.templateId, o.templateVersion);
  const versions = new Map<string, LaunchTemplateVersionInfo>();
  for (const [id, vs] of wanted) {
    const r = await port.describeVersions(id, [...vs].sort((a, b) => a - b));
    if (r.ok) for (const v of r.value) versions.set(versionKey(v.templateId, v.version), v);
    else errors.push(r.error);
  }
  const imageIds = new Set<string>();
  for (const v of versions.values()) if (v.imageId !== undefined && v.imageId.startsWith('ami-')) imageIds.add(v.imageId);
  for (const o of origins) if (o?.imageId !== undefined) imageIds.add(o.imageId);
  const images = new Map<string, ImageInfo>();
  if (imageIds.size > 0) {
    const r = await port.describeImages([...imageIds]);
    if (r.ok) for (const i of r.value) images.set(i.imageId, i);
    else errors.push(r.error);
  }
  return { groups, templates, versions, images, ...(accountDefaults ? { accountDefaults } : {}), errors };
}

/** One audit record of the source fix. */
export interface SourceAudit {
  readonly templateId: string;
  readonly outcome: AuditOutcome;
  readonly reason?: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

export interface ApplySourcesOptions {
  readonly dryRun: boolean;
  /** Templates this run may change (the nightly cap). */
  readonly cap: number;
  readonly audit: (r: SourceAudit) => void;
  /** False when the invocation has no time left for one more template. */
  readonly hasTime: () => boolean;
  /** `VersionDescription` of the versions we create. @default 'timesync-guard: IMDS options' */
  readonly description?: string;
}

/** What one application did. */
export interface ApplySourcesResult {
  readonly fixed: readonly { readonly templateId: string; readonly version: number; readonly movedDefault: boolean }[];
  readonly failed: number;
  /** Decisions left for a later invocation (out of time); the next run re-plans them from fresh data. */
  readonly left: number;
}

function sameOptions(a: LaunchTemplateVersionInfo | undefined, b: SourceDecision & { kind: 'fix' }): boolean {
  const m = a?.metadataOptions;
  return m !== undefined && m.hopLimit === b.metadataOptions.hopLimit && m.httpTokens === b.metadataOptions.httpTokens && m.httpEndpoint === b.metadataOptions.httpEndpoint;
}

/** Applies (or, in a dry run, only audits: `planned`, then `skipped` / `dry-run`) the plan's decisions. */
export async function applySourcePlan(port: LaunchSourcesPort, plan: SourcePlan, o: ApplySourcesOptions): Promise<ApplySourcesResult> {
  const fixed: { templateId: string; version: number; movedDefault: boolean }[] = [];
  let failed = 0;
  let used = 0;
  let left = 0;
  for (const d of plan.decisions) {
    if (d.kind === 'report') {
      // What is left to its owner is an audit record too: the exact change travels with it.
      if (d.templateId !== undefined || d.nodeClass !== undefined) o.audit({ templateId: d.templateId ?? `nodeclass/${d.nodeClass}`, outcome: 'skipped', reason: d.reason, before: { version: d.version, groups: d.groups }, after: { change: d.change, snippet: d.snippet } });
      continue;
    }
    const before = { version: d.sourceVersion, groups: d.groups };
    const after = { metadataOptions: d.metadataOptions, moveDefault: d.moveDefault };
    if (used >= o.cap) {
      o.audit({ templateId: d.templateId, outcome: 'skipped', reason: 'cap-reached', before, after });
      continue;
    }
    used++;
    o.audit({ templateId: d.templateId, outcome: 'planned', before, after });
    // As every action of a dry run: planned, then skipped `dry-run`.
    if (o.dryRun) {
      o.audit({ templateId: d.templateId, outcome: 'skipped', reason: 'dry-run', before, after });
      continue;
    }
    if (!o.hasTime()) {
      left++;
      o.audit({ templateId: d.templateId, outcome: 'skipped', reason: 'out-of-time', before, after });
      continue;
    }
    const created = await port.createVersion({ templateId: d.templateId, sourceVersion: d.sourceVersion, metadataOptions: d.metadataOptions, description: o.description ?? 'timesync-guard: IMDS options' });
    if (created.outcome !== 'done') {
      failed++;
      o.audit({ templateId: d.templateId, outcome: 'failed', reason: `create-${created.outcome}`, before, after });
      continue;
    }
    const read = await port.describeVersions(d.templateId, [created.version]);
    if (!read.ok || !sameOptions(read.value.find((v) => v.version === created.version), d)) {
      // The new version is left as it is (never deleted); nothing launches it, since $Default was not moved.
      failed++;
      o.audit({ templateId: d.templateId, outcome: 'failed', reason: 'version-not-verified', before, after: { ...after, version: created.version } });
      continue;
    }
    o.audit({ templateId: d.templateId, outcome: 'applied', before, after: { ...after, version: created.version } });
    let movedDefault = false;
    if (d.moveDefault) {
      const templateBefore = await port.describeTemplates([d.templateId]);
      const previous = templateBefore.ok ? templateBefore.value[0]?.defaultVersion : undefined;
      const set = await port.setDefaultVersion(d.templateId, created.version);
      const check = set.outcome === 'done' ? await port.describeTemplates([d.templateId]) : undefined;
      if (set.outcome !== 'done' || !check?.ok || check.value[0]?.defaultVersion !== created.version) {
        failed++;
        if (set.outcome === 'done' && previous !== undefined) await port.setDefaultVersion(d.templateId, previous);
        o.audit({ templateId: d.templateId, outcome: set.outcome === 'done' ? 'rolled-back' : 'failed', reason: set.outcome === 'done' ? 'default-not-verified' : `default-${set.outcome}`, before: { defaultVersion: previous }, after: { defaultVersion: created.version } });
        continue;
      }
      movedDefault = true;
    }
    fixed.push({ templateId: d.templateId, version: created.version, movedDefault });
    o.audit({ templateId: d.templateId, outcome: 'verified', before, after: { ...after, version: created.version } });
  }
  return { fixed, failed, left };
}
