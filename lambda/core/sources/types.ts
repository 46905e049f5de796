/**
 * The vocabulary of IMDS-option sources (docs/launch-templates.md): what an instance says about how it
 * was launched (its tags), the launch templates and Auto Scaling groups that will launch its
 * replacements, the AMIs they launch, and the layer that decided an instance's options. Plain data:
 * the adapters (lambda/aws/launch-sources.ts) and the simulated account fill it.
 */
import type { AccountMetadataDefaults } from '../fleet/metadata-defaults';
import type { LaunchOrigin } from './origin';

export type { LaunchOrigin };
import type { TagLike } from '../remediation/plan';

/** The instance tags that say where an instance came from (set by EC2, Auto Scaling, EKS and Karpenter). */
export const ORIGIN_TAGS = {
  templateId: 'aws:ec2launchtemplate:id',
  templateVersion: 'aws:ec2launchtemplate:version',
  autoScalingGroup: 'aws:autoscaling:groupName',
  eksNodegroup: 'eks:nodegroup-name',
  eksCluster: 'eks:cluster-name',
  karpenterNodePool: 'karpenter.sh/nodepool',
  karpenterNodeClass: 'karpenter.k8s.aws/ec2nodeclass',
} as const;

/** The tag CloudFormation puts on what it creates: a template carrying it is changed in its stack, never by us. */
export const CLOUDFORMATION_STACK_TAG = 'aws:cloudformation:stack-name';

/** IMDS options as a launch template version (or an instance) states them; absent = not stated. */
export interface MetadataOptionsSpec {
  readonly httpTokens?: 'optional' | 'required';
  readonly hopLimit?: number;
  readonly httpEndpoint?: 'enabled' | 'disabled';
  readonly httpProtocolIpv6?: 'enabled' | 'disabled';
  readonly instanceMetadataTags?: 'enabled' | 'disabled';
}

/** One launch template. */
export interface LaunchTemplateInfo {
  readonly id: string;
  readonly name: string;
  readonly defaultVersion: number;
  readonly latestVersion: number;
  readonly tags: readonly TagLike[];
}

/** One version of a launch template, reduced to what attribution and the fix need. */
export interface LaunchTemplateVersionInfo {
  readonly templateId: string;
  readonly version: number;
  /** `MetadataOptions` as the version states them; undefined: the version states none. */
  readonly metadataOptions?: MetadataOptionsSpec;
  /** The version's ImageId (may be `resolve:ssm:…`: then its AMI is not known here). */
  readonly imageId?: string;
}

/** How a group names a template: `$Default`, `$Latest` or a version number (as text, untrusted). */
export interface TemplateReference {
  readonly templateId?: string;
  readonly templateName?: string;
  /** As the group states it; absent means `$Default` (the Auto Scaling API's own default). */
  readonly version?: string;
  /** Where the reference sits: the group's template, or one of its MixedInstancesPolicy overrides. */
  readonly place: 'group' | 'mixed-instances' | 'override';
}

/** One Auto Scaling group. */
export interface AutoScalingGroupInfo {
  readonly name: string;
  readonly tags: readonly TagLike[];
  /** Every template the group can launch from (MixedInstancesPolicy overrides included). */
  readonly references: readonly TemplateReference[];
  /** A launch configuration instead of a template: not ours to fix (deprecated by AWS). */
  readonly launchConfiguration?: string;
  readonly instanceIds: readonly string[];
}

/** `ImdsSupport` of one AMI (DescribeImages): `v2.0` makes launches require tokens with hop limit 2. */
export interface ImageInfo {
  readonly imageId: string;
  readonly imdsSupport?: 'v2.0';
}

/** What the sources reader gathered for one run; a map without an entry means it was not readable. */
export interface SourceInventory {
  readonly groups: readonly AutoScalingGroupInfo[];
  readonly templates: ReadonlyMap<string, LaunchTemplateInfo>;
  /** Keyed by {@link versionKey}. */
  readonly versions: ReadonlyMap<string, LaunchTemplateVersionInfo>;
  readonly images: ReadonlyMap<string, ImageInfo>;
  /** The account's metadata defaults, when read. */
  readonly accountDefaults?: AccountMetadataDefaults;
  /** What could not be read (a denied or failed call): reported, never acted on. */
  readonly errors: readonly string[];
}

/** Key of a template version in {@link SourceInventory.versions}. */
export function versionKey(templateId: string, version: number): string {
  return `${templateId}:${version}`;
}

/**
 * The layer that decided an instance's IMDS options, highest precedence first: Karpenter and EKS
 * managed node groups (their template belongs to the orchestrator), the launch template version,
 * the AMI's `ImdsSupport: v2.0`, the account default, EC2's own default; or `modified` (the
 * instance's options differ from what its source says: ModifyInstanceMetadataOptions after launch,
 * or options given in RunInstances), or unknown (a source that could not be read). Short names:
 * every per-instance log record carries one, 10,000 times an hour.
 */
export type DecidingLayer =
  | 'karpenter'
  | 'eks-nodegroup'
  | 'launch-template'
  | 'ami'
  | 'account-default'
  | 'ec2-default'
  | 'modified'
  | 'unknown';

/** One instance's attribution (the per-instance log record's `imdsSource`). */
export interface ImdsSource {
  readonly layer: DecidingLayer;
  /** For the launch-template layer (and orchestrators that launch from one): the template and version. */
  readonly templateId?: string;
  readonly templateVersion?: number;
  readonly autoScalingGroup?: string;
  /** `account` or `declarative-policy` when the account default decided. */
  readonly managedBy?: string;
  readonly nodegroup?: string;
  readonly nodePool?: string;
  /** Per option, the layer that set it (what a single layer name cannot say). */
  readonly fields: { readonly hopLimit: DecidingLayer; readonly httpTokens: DecidingLayer };
  /**
   * Why unknown; when `modified`, the launch options that were not EC2's defaults
   * (`launched hopLimit 2`), absent when it launched with EC2's defaults (attribute.ts `launchDetail`).
   */
  readonly detail?: string;
}
