/**
 * Attribution: for one instance, the layer that decided its IMDS options (docs/launch-templates.md).
 * Launch parameters (the launch template version the instance was launched from) win over the AMI's
 * `ImdsSupport: v2.0` (tokens required, hop limit 2), which wins over the account default (itself
 * possibly set by a declarative policy), which wins over EC2's own default (tokens optional, hop
 * limit 1). An instance whose options differ from what its sources give was `modified` after launch.
 * Pure: tags and API data in, a verdict out; nothing read is trusted, nothing throws.
 */
import type { ImdsOptions } from '../types';
import type { TagLike } from '../remediation/plan';
import { EC2_DEFAULT_HOP_LIMIT, type AccountMetadataDefaults } from '../fleet/metadata-defaults';
import {
  type DecidingLayer,
  type ImageInfo,
  type ImdsSource,
  type LaunchOrigin,
  type LaunchTemplateVersionInfo,
  type MetadataOptionsSpec,
  ORIGIN_TAGS,
  type SourceInventory,
  type TemplateReference,
  type LaunchTemplateInfo,
  versionKey,
} from './types';

/** EC2's own options for a launch nothing else sets (the lowest layer). */
export const EC2_DEFAULT_OPTIONS = { hopLimit: EC2_DEFAULT_HOP_LIMIT, httpTokens: 'optional' } as const;

/** Tag values are untrusted: bounded, printable, else ignored. */
const TAG_VALUE = /^[\p{L}\p{N} _.:/=+\-@$]{1,256}$/u;
const TEMPLATE_ID = /^lt-[0-9a-f]{8,32}$/;
const IMAGE_ID = /^ami-[0-9a-f]{8,32}$/;

function tagValue(tags: readonly TagLike[] | undefined, key: string): string | undefined {
  for (const t of tags ?? []) if (t.Key === key && typeof t.Value === 'string' && TAG_VALUE.test(t.Value)) return t.Value;
  return undefined;
}

/** A version number as EC2 writes it (1 – 2^53), or undefined. */
export function parseVersionNumber(text: string | undefined): number | undefined {
  if (text === undefined || !/^[1-9]\d{0,15}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Where an instance came from, from its tags and ImageId; malformed values are dropped, never guessed. */
export function launchOriginOf(tags: readonly TagLike[] | undefined, imageId?: string): LaunchOrigin {
  const id = tagValue(tags, ORIGIN_TAGS.templateId);
  const version = parseVersionNumber(tagValue(tags, ORIGIN_TAGS.templateVersion));
  const pick = (k: keyof typeof ORIGIN_TAGS): Record<string, string> => {
    const v = tagValue(tags, ORIGIN_TAGS[k]);
    return v !== undefined ? { [k]: v } : {};
  };
  return {
    ...(id !== undefined && TEMPLATE_ID.test(id) ? { templateId: id } : {}),
    ...(version !== undefined ? { templateVersion: version } : {}),
    ...pick('autoScalingGroup'),
    ...pick('eksNodegroup'),
    ...pick('eksCluster'),
    ...pick('karpenterNodePool'),
    ...pick('karpenterNodeClass'),
    ...(imageId !== undefined && IMAGE_ID.test(imageId) ? { imageId } : {}),
  };
}

/** The options a launch gets, each with the layer that set it. */
export interface ResolvedLaunchOptions {
  readonly hopLimit: number;
  readonly httpTokens: 'optional' | 'required';
  readonly fields: { readonly hopLimit: DecidingLayer; readonly httpTokens: DecidingLayer };
}

/**
 * What a launch gets from its sources: the template version's `MetadataOptions` (undefined: no
 * template), then the AMI, then the account default, then EC2's default.
 */
export function resolveLaunchOptions(spec: MetadataOptionsSpec | undefined, image: ImageInfo | undefined, defaults: AccountMetadataDefaults | undefined): ResolvedLaunchOptions {
  const v2Ami = image?.imdsSupport === 'v2.0';
  let hopLimit: number;
  let hopLayer: DecidingLayer;
  if (spec?.hopLimit !== undefined) [hopLimit, hopLayer] = [spec.hopLimit, 'launch-template'];
  else if (v2Ami) [hopLimit, hopLayer] = [2, 'ami'];
  else if (defaults?.hopLimit !== undefined && defaults.hopLimit > 0) [hopLimit, hopLayer] = [defaults.hopLimit, 'account-default'];
  else [hopLimit, hopLayer] = [EC2_DEFAULT_OPTIONS.hopLimit, 'ec2-default'];
  let httpTokens: 'optional' | 'required';
  let tokensLayer: DecidingLayer;
  if (spec?.httpTokens !== undefined) [httpTokens, tokensLayer] = [spec.httpTokens, 'launch-template'];
  else if (v2Ami) [httpTokens, tokensLayer] = ['required', 'ami'];
  else if (defaults?.httpTokens !== undefined) [httpTokens, tokensLayer] = [defaults.httpTokens, 'account-default'];
  else [httpTokens, tokensLayer] = [EC2_DEFAULT_OPTIONS.httpTokens, 'ec2-default'];
  return { hopLimit, httpTokens, fields: { hopLimit: hopLayer, httpTokens: tokensLayer } };
}

/**
 * The detail of a `modified` instance: the options it launched with that are not EC2's defaults
 * (`launched hopLimit 2, httpTokens required`), empty when it launched with EC2's defaults. The
 * current options are in the same log record, so the changed ones are those differing from the
 * launch values; writing `1->2` again would pay for them twice (10,000 records an hour).
 */
export function launchDetail(launch: Pick<ResolvedLaunchOptions, 'hopLimit' | 'httpTokens'>): string {
  const parts = [
    launch.hopLimit !== EC2_DEFAULT_OPTIONS.hopLimit ? `hopLimit ${launch.hopLimit}` : '',
    launch.httpTokens !== EC2_DEFAULT_OPTIONS.httpTokens ? `httpTokens ${launch.httpTokens}` : '',
  ].filter(Boolean);
  return parts.length > 0 ? `launched ${parts.join(', ')}` : '';
}

const PRECEDENCE: readonly DecidingLayer[] = ['launch-template', 'ami', 'account-default', 'ec2-default'];

/** Finds a template by id, or by name (a group may name it either way). */
export function findTemplate(inv: Pick<SourceInventory, 'templates'>, ref: Pick<TemplateReference, 'templateId' | 'templateName'>): LaunchTemplateInfo | undefined {
  if (ref.templateId !== undefined) return inv.templates.get(ref.templateId);
  if (ref.templateName === undefined) return undefined;
  for (const t of inv.templates.values()) if (t.name === ref.templateName) return t;
  return undefined;
}

/**
 * The version number a reference launches today: `$Default`, `$Latest` or a number (absent: `$Default`,
 * as Auto Scaling reads it). Undefined for anything else: never guessed.
 */
export function resolveReference(template: LaunchTemplateInfo, version: string | undefined): { version: number; follows: 'default' | 'latest' | 'pinned' } | undefined {
  if (version === undefined || version === '$Default') return { version: template.defaultVersion, follows: 'default' };
  if (version === '$Latest') return { version: template.latestVersion, follows: 'latest' };
  const n = parseVersionNumber(version);
  return n !== undefined ? { version: n, follows: 'pinned' } : undefined;
}

/** One instance as attribution needs it. */
export interface AttributionInput {
  readonly instanceId: string;
  readonly imds: ImdsOptions;
  readonly origin?: LaunchOrigin;
}

function unknownSource(detail: string, origin: LaunchOrigin | undefined): ImdsSource {
  return {
    layer: 'unknown',
    ...(origin?.templateId !== undefined ? { templateId: origin.templateId } : {}),
    ...(origin?.templateVersion !== undefined ? { templateVersion: origin.templateVersion } : {}),
    ...(origin?.autoScalingGroup !== undefined ? { autoScalingGroup: origin.autoScalingGroup } : {}),
    fields: { hopLimit: 'unknown', httpTokens: 'unknown' },
    detail,
  };
}

/** The layer that decided one instance's IMDS options (see the file comment). */
export function attributeInstance(i: AttributionInput, inv: SourceInventory): ImdsSource {
  const o = i.origin ?? {};
  let version: LaunchTemplateVersionInfo | undefined;
  if (o.templateId !== undefined) {
    if (o.templateVersion === undefined) return unknownSource('launch-template-version-tag-missing', o);
    version = inv.versions.get(versionKey(o.templateId, o.templateVersion));
    // Never attribute to a lower layer what a template we could not read may have set.
    if (!version) return unknownSource('launch-template-version-not-read', o);
  }
  const imageId = o.imageId;
  const image = imageId !== undefined ? inv.images.get(imageId) : undefined;
  if (imageId !== undefined && !image && !(version?.metadataOptions?.hopLimit !== undefined && version.metadataOptions.httpTokens !== undefined)) {
    return unknownSource('image-not-read', o);
  }
  const expected = resolveLaunchOptions(version?.metadataOptions, image, inv.accountDefaults);
  const hopChanged = i.imds.hopLimit !== undefined && i.imds.hopLimit !== expected.hopLimit;
  const tokensChanged = i.imds.httpTokens !== undefined && i.imds.httpTokens !== expected.httpTokens;
  const fields = {
    hopLimit: hopChanged ? 'modified' : expected.fields.hopLimit,
    httpTokens: tokensChanged ? 'modified' : expected.fields.httpTokens,
  } as const;
  let layer: DecidingLayer;
  if (hopChanged || tokensChanged) layer = 'modified';
  else if (o.karpenterNodePool !== undefined || o.karpenterNodeClass !== undefined) layer = 'karpenter';
  else if (o.eksNodegroup !== undefined) layer = 'eks-nodegroup';
  else layer = PRECEDENCE.find((l) => l === fields.hopLimit || l === fields.httpTokens) ?? 'ec2-default';
  const changedDetail = hopChanged || tokensChanged ? launchDetail(expected) : '';
  return {
    layer,
    ...(o.templateId !== undefined ? { templateId: o.templateId } : {}),
    ...(o.templateVersion !== undefined ? { templateVersion: o.templateVersion } : {}),
    ...(o.autoScalingGroup !== undefined ? { autoScalingGroup: o.autoScalingGroup } : {}),
    ...((fields.hopLimit === 'account-default' || fields.httpTokens === 'account-default') && inv.accountDefaults ? { managedBy: inv.accountDefaults.managedBy } : {}),
    ...(o.eksNodegroup !== undefined ? { nodegroup: o.eksNodegroup } : {}),
    ...(o.karpenterNodePool !== undefined ? { nodePool: o.karpenterNodePool } : {}),
    fields,
    ...(changedDetail ? { detail: changedDetail } : {}),
  };
}

/** The per-instance log record's `imdsSource` field: flat, short, queryable (`filter imdsSource = 'launch-template'`). */
export function imdsSourceLogFields(s: ImdsSource): Record<string, string | number> {
  return {
    imdsSource: s.layer,
    ...(s.templateId !== undefined ? { imdsSourceTemplate: s.templateVersion !== undefined ? `${s.templateId}:${s.templateVersion}` : s.templateId } : {}),
    ...(s.autoScalingGroup !== undefined ? { imdsSourceGroup: s.autoScalingGroup } : {}),
    ...(s.managedBy !== undefined ? { imdsSourceManagedBy: s.managedBy } : {}),
    ...(s.detail !== undefined ? { imdsSourceDetail: s.detail } : {}),
  };
}
