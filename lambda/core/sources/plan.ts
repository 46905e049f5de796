/**
 * The fix at the source (docs/launch-templates.md): per launch template an Auto Scaling group
 * launches from, whether its next launches will be compliant, and if not what to do: a new version
 * copied from the version in use with only `MetadataOptions` changed (then `$Default` moved only when
 * a group follows `$Default`), or — for what we must not or cannot change (a template CloudFormation
 * manages, an EKS managed node group, a Karpenter EC2NodeClass, a group pinned to a version) — a
 * finding carrying the exact change to make where it is owned. Pure; never throws.
 */
import { isOptedOut, type TagLike } from '../remediation/plan';
import { findTemplate, resolveLaunchOptions, resolveReference } from './attribute';
import { iacSnippet, type IacTarget } from './snippets';
import {
  CLOUDFORMATION_STACK_TAG,
  type AutoScalingGroupInfo,
  type LaunchOrigin,
  type LaunchTemplateInfo,
  type MetadataOptionsSpec,
  type SourceInventory,
  versionKey,
} from './types';

/** What the fleet wants from each launch source (decided by the caller from the instances' evaluations). */
export interface SourceWants {
  /** The hop limit container hosts need (`hopLimitTarget`). */
  readonly hopLimitTarget: number;
  /** The instance is a container host in the hop-limit scope (its template must launch hop ≥ target). */
  readonly containerHost: (instanceId: string) => boolean;
  /** The IMDSv2 gate allows `HttpTokens=required` for this instance (enforcement on, instance ready). */
  readonly tokensAllowed: (instanceId: string) => boolean;
  /** The opt-out tag key (the nightly run's): on the group or the template, nothing is changed. */
  readonly optOutTagKey: string;
}

/** The change a template (or node class) needs; only what is wrong, never lowering anything. */
export interface OptionsChange {
  readonly hopLimit?: { readonly from: number; readonly to: number };
  readonly httpTokens?: { readonly from: 'optional'; readonly to: 'required' };
}

/** Why a source is reported instead of fixed. */
export type SourceReportReason =
  | 'cloudformation-managed'
  | 'eks-nodegroup'
  | 'karpenter'
  | 'pinned-version'
  | 'versions-diverge'
  | 'opted-out'
  | 'report-mode'
  | 'not-read'
  | 'launch-configuration';

/** One decision about one launch template (or Karpenter node class). */
export type SourceDecision =
  | {
      readonly kind: 'fix';
      readonly templateId: string;
      readonly templateName: string;
      /** The version copied (`SourceVersion`): the version the groups launch today. */
      readonly sourceVersion: number;
      /** The new version's complete `MetadataOptions`: the source's, with only the changed fields replaced. */
      readonly metadataOptions: MetadataOptionsSpec;
      readonly change: OptionsChange;
      /** Move `$Default` to the new version: some group follows `$Default`. */
      readonly moveDefault: boolean;
      readonly groups: readonly string[];
      /** Groups pinned to an older number: the exact change left to their owner. */
      readonly pinnedGroups: readonly string[];
    }
  | {
      readonly kind: 'report';
      readonly reason: SourceReportReason;
      readonly templateId?: string;
      readonly templateName?: string;
      readonly version?: number;
      readonly nodeClass?: string;
      readonly change: OptionsChange;
      readonly groups: readonly string[];
      /** The exact change to make in IaC (CDK / CloudFormation / Karpenter YAML), or the API change. */
      readonly snippet?: string;
      readonly detail?: string;
    };

/** The whole picture for one run. */
export interface SourcePlan {
  readonly decisions: readonly SourceDecision[];
  /** Templates whose next launch (through a group) will not be compliant (fleet metric). */
  readonly templatesLaunchingNonCompliant: number;
  /** Groups whose next launch will not be compliant (fleet metric). */
  readonly groupsLaunchingNonCompliant: number;
  /** Groups that launch from templates or node classes we could not read: nothing judged or changed. */
  readonly groupsNotRead: number;
}

function hasTag(tags: readonly TagLike[], key: string): string | undefined {
  const t = tags.find((x) => x.Key === key && typeof x.Value === 'string');
  return t?.Value;
}

/** The change a source needs, given what it launches and what its instances need (never lowering). */
export function changeFor(launch: { hopLimit: number; httpTokens: 'optional' | 'required' }, needsHop: boolean, allowTokens: boolean, hopLimitTarget: number): OptionsChange {
  return {
    ...(needsHop && launch.hopLimit < hopLimitTarget ? { hopLimit: { from: launch.hopLimit, to: hopLimitTarget } } : {}),
    ...(allowTokens && launch.httpTokens === 'optional' ? { httpTokens: { from: 'optional' as const, to: 'required' as const } } : {}),
  };
}

function isEmpty(c: OptionsChange): boolean {
  return c.hopLimit === undefined && c.httpTokens === undefined;
}

/** The new version's `MetadataOptions`: the source's, only the changed fields replaced (the rest kept as stated). */
export function newMetadataOptions(source: MetadataOptionsSpec | undefined, change: OptionsChange): MetadataOptionsSpec {
  return {
    ...(source ?? {}),
    ...(change.hopLimit ? { hopLimit: Math.max(change.hopLimit.to, source?.hopLimit ?? 0) } : {}),
    ...(change.httpTokens ? { httpTokens: 'required' as const } : {}),
  };
}

interface Use {
  readonly group: AutoScalingGroupInfo;
  readonly follows: 'default' | 'latest' | 'pinned';
  readonly version: number;
}

/**
 * Plans the source fix. `mode` `report` plans the same and changes nothing (every would-be fix is a
 * `report-mode` decision with the API change as its snippet); `instances` are every instance of the
 * run with its origin (Karpenter node classes are judged from them: they have no group).
 */
export function planSources(
  inv: SourceInventory,
  wants: SourceWants,
  instances: readonly { readonly instanceId: string; readonly origin?: LaunchOrigin }[],
  mode: 'report' | 'fix',
): SourcePlan {
  const decisions: SourceDecision[] = [];
  const usesByTemplate = new Map<string, { template: LaunchTemplateInfo; uses: Use[] }>();
  const badGroups = new Set<string>();
  const notRead = new Set<string>();
  for (const g of inv.groups) {
    if (g.launchConfiguration !== undefined && g.references.length === 0) {
      decisions.push({ kind: 'report', reason: 'launch-configuration', change: {}, groups: [g.name], detail: `launch configuration ${g.launchConfiguration}: migrate the group to a launch template` });
      continue;
    }
    for (const ref of g.references) {
      const template = findTemplate(inv, ref);
      const resolved = template && resolveReference(template, ref.version);
      if (!template || !resolved || !inv.versions.has(versionKey(template.id, resolved.version))) {
        notRead.add(g.name);
        continue;
      }
      const entry = usesByTemplate.get(template.id) ?? { template, uses: [] };
      entry.uses.push({ group: g, follows: resolved.follows, version: resolved.version });
      usesByTemplate.set(template.id, entry);
    }
  }
  for (const name of notRead) decisions.push({ kind: 'report', reason: 'not-read', change: {}, groups: [name], detail: 'a launch template or version this group launches could not be read: nothing judged or changed' });

  let templatesBad = 0;
  for (const { template, uses } of [...usesByTemplate.values()].sort((a, b) => (a.template.id < b.template.id ? -1 : 1))) {
    // Per version in use: what its launches get, and what the instances of its groups need.
    const byVersion = new Map<number, Use[]>();
    for (const u of uses) byVersion.set(u.version, [...(byVersion.get(u.version) ?? []), u]);
    const wrong: { version: number; uses: Use[]; change: OptionsChange; spec: MetadataOptionsSpec | undefined }[] = [];
    for (const [version, vUses] of byVersion) {
      const v = inv.versions.get(versionKey(template.id, version))!;
      const image = v.imageId !== undefined ? inv.images.get(v.imageId) : undefined;
      const launch = resolveLaunchOptions(v.metadataOptions, image, inv.accountDefaults);
      const ids = vUses.flatMap((u) => u.group.instanceIds);
      const needsHop = ids.some((id) => wants.containerHost(id));
      const allowTokens = ids.length > 0 && ids.every((id) => wants.tokensAllowed(id));
      const change = changeFor(launch, needsHop, allowTokens, wants.hopLimitTarget);
      if (!isEmpty(change)) wrong.push({ version, uses: vUses, change, spec: v.metadataOptions });
    }
    if (wrong.length === 0) continue;
    templatesBad++;
    for (const w of wrong) for (const u of w.uses) badGroups.add(u.group.name);
    const groupNames = (us: readonly Use[]): string[] => [...new Set(us.map((u) => u.group.name))].sort();
    const report = (reason: SourceReportReason, w: (typeof wrong)[number], target: IacTarget | undefined, detail?: string): void => {
      decisions.push({
        kind: 'report',
        reason,
        templateId: template.id,
        templateName: template.name,
        version: w.version,
        change: w.change,
        groups: groupNames(w.uses),
        ...(target ? { snippet: iacSnippet(target, w.change, newMetadataOptions(w.spec, w.change)) } : {}),
        ...(detail ? { detail } : {}),
      });
    };
    const stack = hasTag(template.tags, CLOUDFORMATION_STACK_TAG);
    const eks = uses.map((u) => hasTag(u.group.tags, 'eks:nodegroup-name')).find((x) => x !== undefined);
    for (const w of wrong) {
      if (stack !== undefined) {
        report('cloudformation-managed', w, { kind: 'cloudformation', templateName: template.name, stack }, `stack ${stack} owns this template: change it there`);
        continue;
      }
      if (eks !== undefined) {
        report('eks-nodegroup', w, { kind: 'eks-nodegroup', templateName: template.name, nodegroup: eks }, `EKS managed node group ${eks}: change its launch template in IaC and update the node group`);
        continue;
      }
      if (isOptedOut(template.tags, wants.optOutTagKey) || w.uses.some((u) => isOptedOut(u.group.tags, wants.optOutTagKey))) {
        report('opted-out', w, undefined);
        continue;
      }
      const floating = w.uses.filter((u) => u.follows !== 'pinned');
      const pinned = w.uses.filter((u) => u.follows === 'pinned');
      // A pinned number is its owner's choice: we say exactly what to change, and change nothing.
      if (floating.length === 0) {
        report('pinned-version', w, { kind: 'pinned', templateName: template.name, templateId: template.id, version: w.version, groups: groupNames(pinned) }, `groups pinned to version ${w.version}`);
        continue;
      }
      // A new version becomes $Latest: copying any other version than the latest would change what the
      // groups that follow $Latest launch.
      if (uses.some((u) => u.follows === 'latest') && w.version !== template.latestVersion) {
        report('versions-diverge', w, { kind: 'api', templateName: template.name, templateId: template.id, version: w.version, moveDefault: true }, `groups follow $Default (${template.defaultVersion}) and $Latest (${template.latestVersion}): a new version would change what the $Latest groups launch`);
        continue;
      }
      const moveDefault = floating.some((u) => u.follows === 'default');
      if (mode === 'report') {
        report('report-mode', w, { kind: 'api', templateName: template.name, templateId: template.id, version: w.version, moveDefault });
        continue;
      }
      decisions.push({
        kind: 'fix',
        templateId: template.id,
        templateName: template.name,
        sourceVersion: w.version,
        metadataOptions: newMetadataOptions(w.spec, w.change),
        change: w.change,
        moveDefault,
        groups: groupNames(floating),
        pinnedGroups: groupNames(pinned),
      });
      if (pinned.length > 0) report('pinned-version', { ...w, uses: pinned }, { kind: 'pinned', templateName: template.name, templateId: template.id, version: w.version, groups: groupNames(pinned) }, 'these groups stay on their pinned version');
    }
  }

  // Karpenter: no group, no template of ours; the node class is judged from its instances.
  const classes = new Map<string, { pool?: string; ids: string[]; launch: { hopLimit: number; httpTokens: 'optional' | 'required' } }>();
  for (const i of instances) {
    const o = i.origin;
    if (o?.karpenterNodeClass === undefined) continue;
    const v = o.templateId !== undefined && o.templateVersion !== undefined ? inv.versions.get(versionKey(o.templateId, o.templateVersion)) : undefined;
    const image = o.imageId !== undefined ? inv.images.get(o.imageId) : undefined;
    const launch = resolveLaunchOptions(v?.metadataOptions, image, inv.accountDefaults);
    const c = classes.get(o.karpenterNodeClass) ?? { ...(o.karpenterNodePool !== undefined ? { pool: o.karpenterNodePool } : {}), ids: [] as string[], launch };
    c.ids.push(i.instanceId);
    // The lowest hop limit seen is what the class launches at worst.
    if (launch.hopLimit < c.launch.hopLimit || launch.httpTokens === 'optional') c.launch = { hopLimit: Math.min(launch.hopLimit, c.launch.hopLimit), httpTokens: launch.httpTokens === 'optional' ? 'optional' : c.launch.httpTokens };
    classes.set(o.karpenterNodeClass, c);
  }
  for (const [name, c] of [...classes].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const change = changeFor(c.launch, c.ids.some((id) => wants.containerHost(id)), c.ids.every((id) => wants.tokensAllowed(id)), wants.hopLimitTarget);
    if (isEmpty(change)) continue;
    templatesBad++;
    decisions.push({
      kind: 'report',
      reason: 'karpenter',
      nodeClass: name,
      change,
      groups: [],
      snippet: iacSnippet({ kind: 'karpenter', nodeClass: name }, change, { ...(change.hopLimit ? { hopLimit: change.hopLimit.to } : {}), httpTokens: change.httpTokens ? 'required' : c.launch.httpTokens }),
      detail: `EC2NodeClass ${name}${c.pool !== undefined ? ` (NodePool ${c.pool})` : ''}: Karpenter regenerates its launch templates from the node class`,
    });
  }
  return { decisions, templatesLaunchingNonCompliant: templatesBad, groupsLaunchingNonCompliant: badGroups.size, groupsNotRead: notRead.size };
}
