/**
 * The simulated account's IMDS-option sources: launch templates with versions, Auto Scaling groups
 * (following `$Default`, `$Latest`, a pinned number, or a MixedInstancesPolicy with overrides), AMIs
 * with and without `ImdsSupport: v2.0`, the account's metadata defaults, and the instances launched
 * from them (tagged as EC2, Auto Scaling, EKS and Karpenter tag them). Launches resolve their options
 * as EC2 documents the precedence (launch template, then AMI, then account default, then EC2's
 * default), and each instance keeps its true deciding layer, so attribution can be scored.
 *
 * Wired to real SDK clients through aws-sdk-client-mock (`attach`): DescribeAutoScalingGroups
 * (pages of `MaxRecords`), DescribeLaunchTemplates (`launch-template-id` filter), DescribeLaunchTemplateVersions,
 * DescribeImages, CreateLaunchTemplateVersion (`SourceVersion` copied, the given data replacing its
 * top-level fields) and ModifyLaunchTemplate. The stack's IAM condition is modelled: a template
 * tagged `aws:cloudformation:stack-name` refuses both writes with `UnauthorizedOperation` (and counts
 * the attempt); there is no delete.
 */
import { type AutoScalingClient, DescribeAutoScalingGroupsCommand, type DescribeAutoScalingGroupsCommandInput, type AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateVersionCommand,
  type CreateLaunchTemplateVersionCommandInput,
  DescribeImagesCommand,
  type DescribeImagesCommandInput,
  DescribeLaunchTemplatesCommand,
  type DescribeLaunchTemplatesCommandInput,
  DescribeLaunchTemplateVersionsCommand,
  type DescribeLaunchTemplateVersionsCommandInput,
  type EC2Client,
  ModifyLaunchTemplateCommand,
  type ModifyLaunchTemplateCommandInput,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import type { AccountMetadataDefaults } from '../../lambda/core/fleet/metadata-defaults';
import type { DecidingLayer, MetadataOptionsSpec } from '../../lambda/core/sources/types';
import type { ImdsOptions } from '../../lambda/core/types';
import { SimAwsError } from './primitives';

export interface SimVersion {
  readonly version: number;
  readonly metadataOptions?: MetadataOptionsSpec;
  readonly imageId: string;
}

export interface SimTemplate {
  readonly id: string;
  readonly name: string;
  defaultVersion: number;
  readonly versions: SimVersion[];
  readonly tags: { Key: string; Value: string }[];
}

export interface SimGroupRef {
  readonly templateId: string;
  /** `$Default`, `$Latest` or a number as text. */
  readonly version: string;
}

export interface SimGroup {
  readonly name: string;
  readonly tags: { Key: string; Value: string }[];
  readonly main: SimGroupRef;
  /** MixedInstancesPolicy overrides with their own template (launched round robin with the main one). */
  readonly overrides: readonly SimGroupRef[];
  readonly mixed: boolean;
  readonly instanceIds: string[];
}

/** The part of an aws-sdk-client-mock stub the simulator uses. */
export interface CommandStub {
  on(command: unknown): { callsFake(f: (input: never) => unknown): unknown };
}

export interface SimSourceInstance {
  readonly instanceId: string;
  readonly tags: { Key: string; Value: string }[];
  readonly imageId: string;
  imds: ImdsOptions;
  /** The true layer (the simulator's own bookkeeping, never read by the code under test). */
  truth: DecidingLayer;
  readonly group?: string;
  /** Launched after the source fix (scale-out). */
  readonly scaleOut: boolean;
}

/** The simulated sources of one account-region. */
export class SimSources {
  readonly templates = new Map<string, SimTemplate>();
  readonly groups = new Map<string, SimGroup>();
  readonly images = new Map<string, { imdsSupport?: 'v2.0' }>();
  readonly instances = new Map<string, SimSourceInstance>();
  accountDefaults: AccountMetadataDefaults = { managedBy: 'account' };
  readonly calls: Record<string, number> = {};
  /** Writes refused because the template is CloudFormation's (IAM's condition). */
  iacWritesRefused = 0;
  /** Writes that changed a CloudFormation template (must stay 0). */
  iacTemplatesChanged = 0;
  /** Deletes (there is no such action here: stays 0 by construction; kept as the figure's source). */
  readonly deletes = 0;
  private seq = 0;

  addImage(imageId: string, imdsSupport?: 'v2.0'): void {
    this.images.set(imageId, imdsSupport ? { imdsSupport } : {});
  }

  addTemplate(name: string, versions: readonly Omit<SimVersion, 'version'>[], opts: { defaultVersion?: number; tags?: Record<string, string> } = {}): SimTemplate {
    const id = `lt-${(0x10000000 + this.templates.size).toString(16).padStart(17, '0')}`;
    const t: SimTemplate = {
      id,
      name,
      defaultVersion: opts.defaultVersion ?? 1,
      versions: versions.map((v, k) => ({ ...v, version: k + 1 })),
      tags: Object.entries(opts.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
    };
    this.templates.set(id, t);
    return t;
  }

  addGroup(name: string, main: SimGroupRef, opts: { overrides?: SimGroupRef[]; tags?: Record<string, string> } = {}): SimGroup {
    const g: SimGroup = { name, main, overrides: opts.overrides ?? [], mixed: (opts.overrides ?? []).length > 0, tags: Object.entries(opts.tags ?? {}).map(([Key, Value]) => ({ Key, Value })), instanceIds: [] };
    this.groups.set(name, g);
    return g;
  }

  private resolve(ref: SimGroupRef): { template: SimTemplate; version: SimVersion } {
    const template = this.templates.get(ref.templateId)!;
    const n = ref.version === '$Default' ? template.defaultVersion : ref.version === '$Latest' ? template.versions.length : Number(ref.version);
    return { template, version: template.versions[n - 1]! };
  }

  /** Launches `count` instances into a group, as Auto Scaling would (round robin over its templates). */
  scaleOut(groupName: string, count: number, extraTags: Record<string, string> = {}, scaleOut = false): SimSourceInstance[] {
    const g = this.groups.get(groupName)!;
    const refs = [g.main, ...g.overrides];
    const out: SimSourceInstance[] = [];
    for (let k = 0; k < count; k++) {
      const ref = refs[(g.instanceIds.length + k) % refs.length]!;
      const { template, version } = this.resolve(ref);
      const inst = this.launch(template, version, { 'aws:autoscaling:groupName': g.name, ...Object.fromEntries(g.tags.filter((t) => t.Key.startsWith('eks:')).map((t) => [t.Key, t.Value])), ...extraTags }, g.name, scaleOut);
      out.push(inst);
    }
    g.instanceIds.push(...out.map((i) => i.instanceId));
    return out;
  }

  /** One launch from a template version (or none: a bare RunInstances with `imageId`). */
  launch(template: SimTemplate | undefined, version: SimVersion | undefined, tags: Record<string, string>, group?: string, scaleOut = false, imageId?: string): SimSourceInstance {
    const image = imageId ?? version!.imageId;
    const img = this.images.get(image);
    const o = resolveLaunchOptionsForSim(version?.metadataOptions, img?.imdsSupport, this.accountDefaults);
    const allTags = { ...(template ? { 'aws:ec2launchtemplate:id': template.id, 'aws:ec2launchtemplate:version': String(version!.version) } : {}), ...tags };
    const karpenter = 'karpenter.sh/nodepool' in allTags;
    const eks = 'eks:nodegroup-name' in allTags;
    const inst: SimSourceInstance = {
      instanceId: `i-${(0x20000000 + this.seq++).toString(16).padStart(17, '0')}`,
      tags: Object.entries(allTags).map(([Key, Value]) => ({ Key, Value })),
      imageId: image,
      imds: { hopLimit: o.hopLimit, httpTokens: o.httpTokens, httpEndpoint: 'enabled', state: 'applied' },
      truth: karpenter ? 'karpenter' : eks ? 'eks-nodegroup' : o.layer,
      ...(group !== undefined ? { group } : {}),
      scaleOut,
    };
    this.instances.set(inst.instanceId, inst);
    return inst;
  }

  /** A change after launch (ModifyInstanceMetadataOptions, e.g. the nightly instance fix). */
  modifyInstance(id: string, imds: Partial<ImdsOptions>): void {
    const i = this.instances.get(id)!;
    const next = { ...i.imds, ...imds };
    if (next.hopLimit !== i.imds.hopLimit || next.httpTokens !== i.imds.httpTokens) i.truth = 'modified';
    i.imds = next;
  }

  private count(op: string): void {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
  }

  private isIac(t: SimTemplate): boolean {
    return t.tags.some((x) => x.Key === 'aws:cloudformation:stack-name');
  }

  /** Wires the simulator to these two SDK clients (only these instances are mocked). */
  attach(ec2: EC2Client, autoScaling: AutoScalingClient): void {
    this.wire(mockClient(ec2 as never) as unknown as CommandStub, mockClient(autoScaling as never) as unknown as CommandStub);
  }

  /** Wires the simulator's commands onto existing mocks (e.g. a simulated account's EC2 mock, whose other commands it keeps). */
  wire(e: CommandStub, asg: CommandStub): void {
    asg.on(DescribeAutoScalingGroupsCommand).callsFake((input: DescribeAutoScalingGroupsCommandInput) => {
      this.count('DescribeAutoScalingGroups');
      const all = [...this.groups.values()];
      const max = Math.min(100, input.MaxRecords ?? 50);
      const start = input.NextToken ? Number(input.NextToken) : 0;
      const page = all.slice(start, start + max).map((g): AutoScalingGroup => {
        const spec = (r: SimGroupRef) => ({ LaunchTemplateId: r.templateId, Version: r.version });
        return {
          AutoScalingGroupName: g.name,
          Tags: g.tags.map((t) => ({ Key: t.Key, Value: t.Value, ResourceId: g.name, ResourceType: 'auto-scaling-group', PropagateAtLaunch: true })),
          ...(g.mixed ? { MixedInstancesPolicy: { LaunchTemplate: { LaunchTemplateSpecification: spec(g.main), Overrides: g.overrides.map((o) => ({ InstanceType: 'm7g.large', LaunchTemplateSpecification: spec(o) })) } } } : { LaunchTemplate: spec(g.main) }),
          Instances: g.instanceIds.filter((id) => this.instances.has(id)).map((id) => ({ InstanceId: id, AvailabilityZone: 'us-east-1a', LifecycleState: 'InService', HealthStatus: 'Healthy', ProtectedFromScaleIn: false })),
          MinSize: 0, MaxSize: 1000, DesiredCapacity: g.instanceIds.length, DefaultCooldown: 300, AvailabilityZones: ['us-east-1a'], HealthCheckType: 'EC2', CreatedTime: new Date(0),
        } as AutoScalingGroup;
      });
      return { AutoScalingGroups: page, ...(start + max < all.length ? { NextToken: String(start + max) } : {}) };
    });
    e.on(DescribeLaunchTemplatesCommand).callsFake((input: DescribeLaunchTemplatesCommandInput) => {
      this.count('DescribeLaunchTemplates');
      const ids = new Set(input.Filters?.find((f) => f.Name === 'launch-template-id')?.Values ?? input.LaunchTemplateIds ?? [...this.templates.keys()]);
      const list = [...this.templates.values()].filter((t) => ids.has(t.id));
      return { LaunchTemplates: list.map((t) => ({ LaunchTemplateId: t.id, LaunchTemplateName: t.name, DefaultVersionNumber: t.defaultVersion, LatestVersionNumber: t.versions.length, Tags: t.tags })) };
    });
    e.on(DescribeLaunchTemplateVersionsCommand).callsFake((input: DescribeLaunchTemplateVersionsCommandInput) => {
      this.count('DescribeLaunchTemplateVersions');
      const t = this.templates.get(input.LaunchTemplateId ?? '');
      if (!t) throw new SimAwsError('InvalidLaunchTemplateId.NotFound', 'no such template');
      const wanted = (input.Versions ?? []).map((v) => (v === '$Default' ? t.defaultVersion : v === '$Latest' ? t.versions.length : Number(v)));
      return {
        LaunchTemplateVersions: t.versions
          .filter((v) => wanted.includes(v.version))
          .map((v) => ({ LaunchTemplateId: t.id, LaunchTemplateName: t.name, VersionNumber: v.version, DefaultVersion: v.version === t.defaultVersion, LaunchTemplateData: { ImageId: v.imageId, ...(v.metadataOptions ? { MetadataOptions: toApi(v.metadataOptions) } : {}) } })),
      };
    });
    e.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
      this.count('DescribeImages');
      return { Images: (input.ImageIds ?? []).filter((id) => this.images.has(id)).map((id) => ({ ImageId: id, ...(this.images.get(id)!.imdsSupport ? { ImdsSupport: 'v2.0' } : {}) })) };
    });
    e.on(CreateLaunchTemplateVersionCommand).callsFake((input: CreateLaunchTemplateVersionCommandInput) => {
      this.count('CreateLaunchTemplateVersion');
      const t = this.templates.get(input.LaunchTemplateId ?? '');
      if (!t) throw new SimAwsError('InvalidLaunchTemplateId.NotFound', 'no such template');
      if (this.isIac(t)) {
        this.iacWritesRefused++;
        throw new SimAwsError('UnauthorizedOperation', 'explicit deny: aws:ResourceTag/aws:cloudformation:stack-name');
      }
      const src = t.versions[Number(input.SourceVersion ?? t.defaultVersion) - 1];
      if (!src) throw new SimAwsError('InvalidLaunchTemplateVersion.NotFound', 'no such source version');
      const m = input.LaunchTemplateData?.MetadataOptions;
      const v: SimVersion = { version: t.versions.length + 1, imageId: input.LaunchTemplateData?.ImageId ?? src.imageId, ...(m ? { metadataOptions: fromApi(m) } : src.metadataOptions ? { metadataOptions: src.metadataOptions } : {}) };
      t.versions.push(v);
      return { LaunchTemplateVersion: { LaunchTemplateId: t.id, VersionNumber: v.version } };
    });
    e.on(ModifyLaunchTemplateCommand).callsFake((input: ModifyLaunchTemplateCommandInput) => {
      this.count('ModifyLaunchTemplate');
      const t = this.templates.get(input.LaunchTemplateId ?? '');
      if (!t) throw new SimAwsError('InvalidLaunchTemplateId.NotFound', 'no such template');
      if (this.isIac(t)) {
        this.iacWritesRefused++;
        throw new SimAwsError('UnauthorizedOperation', 'explicit deny: aws:ResourceTag/aws:cloudformation:stack-name');
      }
      const n = Number(input.DefaultVersion);
      if (!Number.isInteger(n) || n < 1 || n > t.versions.length) throw new SimAwsError('InvalidLaunchTemplateVersion.NotFound', 'no such version');
      t.defaultVersion = n;
      return { LaunchTemplate: { LaunchTemplateId: t.id, DefaultVersionNumber: n } };
    });
  }
}

function toApi(m: MetadataOptionsSpec): Record<string, unknown> {
  return {
    ...(m.httpTokens ? { HttpTokens: m.httpTokens } : {}),
    ...(m.hopLimit !== undefined ? { HttpPutResponseHopLimit: m.hopLimit } : {}),
    ...(m.httpEndpoint ? { HttpEndpoint: m.httpEndpoint } : {}),
    ...(m.httpProtocolIpv6 ? { HttpProtocolIpv6: m.httpProtocolIpv6 } : {}),
    ...(m.instanceMetadataTags ? { InstanceMetadataTags: m.instanceMetadataTags } : {}),
  };
}

function fromApi(m: NonNullable<NonNullable<CreateLaunchTemplateVersionCommandInput['LaunchTemplateData']>['MetadataOptions']>): MetadataOptionsSpec {
  return {
    ...(m.HttpTokens ? { httpTokens: m.HttpTokens as 'optional' | 'required' } : {}),
    ...(m.HttpPutResponseHopLimit !== undefined ? { hopLimit: m.HttpPutResponseHopLimit } : {}),
    ...(m.HttpEndpoint ? { httpEndpoint: m.HttpEndpoint as 'enabled' | 'disabled' } : {}),
    ...(m.HttpProtocolIpv6 ? { httpProtocolIpv6: m.HttpProtocolIpv6 as 'enabled' | 'disabled' } : {}),
    ...(m.InstanceMetadataTags ? { instanceMetadataTags: m.InstanceMetadataTags as 'enabled' | 'disabled' } : {}),
  };
}

/**
 * EC2's precedence, written here independently of the code under test (so a wrong precedence there
 * scores below 1): per field, the launch template's value, else the AMI's v2.0 values (tokens
 * required, hop limit 2), else the account default, else EC2's (optional, 1). The headline layer is the
 * highest one that set either field.
 */
function resolveLaunchOptionsForSim(spec: MetadataOptionsSpec | undefined, imdsSupport: 'v2.0' | undefined, d: AccountMetadataDefaults): { hopLimit: number; httpTokens: 'optional' | 'required'; layer: DecidingLayer } {
  const hop: [number, number] = spec?.hopLimit !== undefined ? [spec.hopLimit, 0] : imdsSupport ? [2, 1] : d.hopLimit !== undefined && d.hopLimit > 0 ? [d.hopLimit, 2] : [1, 3];
  const tok: ['optional' | 'required', number] = spec?.httpTokens ? [spec.httpTokens, 0] : imdsSupport ? ['required', 1] : d.httpTokens ? [d.httpTokens, 2] : ['optional', 3];
  const layers: DecidingLayer[] = ['launch-template', 'ami', 'account-default', 'ec2-default'];
  return { hopLimit: hop[0], httpTokens: tok[0], layer: layers[Math.min(hop[1], tok[1])]! };
}
