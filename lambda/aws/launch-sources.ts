/**
 * The IMDS-option sources through the API: Auto Scaling DescribeAutoScalingGroups, EC2
 * DescribeLaunchTemplates / DescribeLaunchTemplateVersions / DescribeImages (paginated), and the two
 * writes of the source fix, CreateLaunchTemplateVersion and ModifyLaunchTemplate. Every call waits
 * for a token of its EC2 bucket (non-mutating 100/20, mutating 50/5: the reference
 * "aws-limits") on the injected clock and retries throttling (./retry.ts). Reads and writes never
 * throw: an error is data.
 */
import type { AutoScalingGroup, DescribeAutoScalingGroupsCommandOutput } from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateVersionCommand,
  type DescribeImagesCommandOutput,
  type DescribeLaunchTemplatesCommandOutput,
  type DescribeLaunchTemplateVersionsCommandOutput,
  type EC2Client,
  type LaunchTemplateInstanceMetadataOptions,
  ModifyLaunchTemplateCommand,
  paginateDescribeImages,
  paginateDescribeLaunchTemplates,
  paginateDescribeLaunchTemplateVersions,
} from '@aws-sdk/client-ec2';
import { NON_MUTATING_BUCKET, TokenBucket, type TokenBucketOptions } from '../core/util/token-bucket';
import type { AutoScalingGroupInfo, ImageInfo, LaunchTemplateInfo, LaunchTemplateVersionInfo, MetadataOptionsSpec, TemplateReference } from '../core/sources/types';
import type { Clock } from '../engine/ports';
import type { LaunchSourcesPort, SourceRead, SourceWrite } from '../engine/source-ports';
import type { GroupPages } from './on-demand/auto-scaling';
import { loadOnDemand } from './on-demand-loader';
import { shortError } from './paced-call';
import { isThrottlingError, paginateWithRetry, withRetry } from './retry';

/** EC2's mutating-action bucket (CreateLaunchTemplateVersion, ModifyLaunchTemplate). */
export const MUTATING_BUCKET: TokenBucketOptions = { capacity: 50, refillPerSecond: 5 };
/** Ids per DescribeLaunchTemplates / DescribeImages call (the API's filter limit is 200 values). */
const IDS_PER_CALL = 200;

export interface LaunchSourcesOptions {
  readonly ec2: Pick<EC2Client, 'send'>;
  /**
   * DescribeAutoScalingGroups pages; a promise so that the Auto Scaling client is loaded at the first
   * read, not at the Lambda's start-up (./on-demand/auto-scaling.ts: `groupPages`).
   * @default - the on-demand module's own client
   */
  readonly autoScaling?: () => Promise<GroupPages>;
  readonly clock: Clock;
  /** Attempts per call, throttling included. @default 5 */
  readonly maxAttempts?: number;
  /** Jitter source of the retries (the benchmark seeds it). @default Math.random */
  readonly random?: () => number;
}

const oneOf = <T extends string>(v: unknown, values: readonly T[]): T | undefined => (values.includes(v as T) ? (v as T) : undefined);

/** `MetadataOptions` of a version as the core reads them (unknown values dropped, never guessed). */
export function toSpec(m: LaunchTemplateInstanceMetadataOptions | undefined): MetadataOptionsSpec | undefined {
  if (!m) return undefined;
  const hop = m.HttpPutResponseHopLimit;
  return {
    ...(oneOf(m.HttpTokens, ['optional', 'required'] as const) ? { httpTokens: m.HttpTokens as 'optional' | 'required' } : {}),
    ...(typeof hop === 'number' && Number.isInteger(hop) && hop >= 1 && hop <= 64 ? { hopLimit: hop } : {}),
    ...(oneOf(m.HttpEndpoint, ['enabled', 'disabled'] as const) ? { httpEndpoint: m.HttpEndpoint as 'enabled' | 'disabled' } : {}),
    ...(oneOf(m.HttpProtocolIpv6, ['enabled', 'disabled'] as const) ? { httpProtocolIpv6: m.HttpProtocolIpv6 as 'enabled' | 'disabled' } : {}),
    ...(oneOf(m.InstanceMetadataTags, ['enabled', 'disabled'] as const) ? { instanceMetadataTags: m.InstanceMetadataTags as 'enabled' | 'disabled' } : {}),
  };
}

/** The request's `MetadataOptions`: exactly the spec (the source version's, with the changed fields). */
export function toRequest(s: MetadataOptionsSpec): Record<string, string | number> {
  return {
    ...(s.httpTokens !== undefined ? { HttpTokens: s.httpTokens } : {}),
    ...(s.hopLimit !== undefined ? { HttpPutResponseHopLimit: s.hopLimit } : {}),
    ...(s.httpEndpoint !== undefined ? { HttpEndpoint: s.httpEndpoint } : {}),
    ...(s.httpProtocolIpv6 !== undefined ? { HttpProtocolIpv6: s.httpProtocolIpv6 } : {}),
    ...(s.instanceMetadataTags !== undefined ? { InstanceMetadataTags: s.instanceMetadataTags } : {}),
  };
}

/** A group's template references: its own, its MixedInstancesPolicy's, and every override's. */
export function toGroup(g: AutoScalingGroup): AutoScalingGroupInfo {
  const refs: TemplateReference[] = [];
  const add = (spec: { LaunchTemplateId?: string; LaunchTemplateName?: string; Version?: string } | undefined, place: TemplateReference['place']): void => {
    if (!spec || (!spec.LaunchTemplateId && !spec.LaunchTemplateName)) return;
    refs.push({ ...(spec.LaunchTemplateId ? { templateId: spec.LaunchTemplateId } : {}), ...(spec.LaunchTemplateName ? { templateName: spec.LaunchTemplateName } : {}), ...(spec.Version ? { version: spec.Version } : {}), place });
  };
  add(g.LaunchTemplate, 'group');
  const mixed = g.MixedInstancesPolicy?.LaunchTemplate;
  add(mixed?.LaunchTemplateSpecification, 'mixed-instances');
  for (const o of mixed?.Overrides ?? []) add(o.LaunchTemplateSpecification, 'override');
  return {
    name: g.AutoScalingGroupName ?? '',
    tags: (g.Tags ?? []).map((t) => ({ ...(t.Key !== undefined ? { Key: t.Key } : {}), ...(t.Value !== undefined ? { Value: t.Value } : {}) })),
    references: refs,
    ...(g.LaunchConfigurationName ? { launchConfiguration: g.LaunchConfigurationName } : {}),
    instanceIds: (g.Instances ?? []).map((i) => i.InstanceId).filter((x): x is string => typeof x === 'string'),
  };
}

function writeError(err: unknown): SourceWrite<never> {
  const name = (err as { name?: string } | null)?.name ?? '';
  const outcome = isThrottlingError(err) ? 'throttled' : name === 'UnauthorizedOperation' || name === 'AccessDenied' || name === 'AccessDeniedException' ? 'denied' : 'failed';
  return { outcome, error: shortError(err) };
}

/** The API-backed port. */
export function createLaunchSourcesPort(options: LaunchSourcesOptions): LaunchSourcesPort {
  const { ec2, clock } = options;
  const pages = options.autoScaling ?? (async () => (await loadOnDemand('on-demand/auto-scaling')).groupPages());
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const bucketTaker = (o: TokenBucketOptions) => {
    const bucket = new TokenBucket(o, () => clock.now());
    return async (): Promise<void> => {
      for (let wait = bucket.waitMs(); wait > 0; wait = bucket.waitMs()) await clock.sleep(wait);
      bucket.tryTake();
    };
  };
  const read = bucketTaker(NON_MUTATING_BUCKET);
  const write = bucketTaker(MUTATING_BUCKET);
  const retry = (operation: string, beforeAttempt: () => Promise<void>) => ({ operation, maxAttempts, beforeAttempt, ...(options.random ? { random: options.random } : {}) });
  const readAll = async <P, T>(operation: string, open: (token: string | undefined) => AsyncIterable<P>, next: (p: P) => string | undefined, take: (p: P) => T[]): Promise<SourceRead<T[]>> => {
    try {
      const out: T[] = [];
      for await (const page of paginateWithRetry<P>(open, next, clock, retry(operation, read))) out.push(...take(page));
      return { ok: true, value: out };
    } catch (err) {
      return { ok: false, error: `${operation}: ${shortError(err)}` };
    }
  };
  const chunks = <T>(xs: readonly T[]): T[][] => Array.from({ length: Math.ceil(xs.length / IDS_PER_CALL) }, (_, k) => xs.slice(k * IDS_PER_CALL, (k + 1) * IDS_PER_CALL));
  const inChunks = async <T>(ids: readonly string[], one: (ids: string[]) => Promise<SourceRead<T[]>>): Promise<SourceRead<T[]>> => {
    const out: T[] = [];
    for (const c of chunks([...new Set(ids)])) {
      const r = await one(c);
      if (!r.ok) return r;
      out.push(...r.value);
    }
    return { ok: true, value: out };
  };
  return {
    async listGroups() {
      let open: GroupPages;
      try {
        open = await pages();
      } catch (err) {
        return { ok: false, error: `DescribeAutoScalingGroups: ${shortError(err)}` };
      }
      return readAll<DescribeAutoScalingGroupsCommandOutput, AutoScalingGroupInfo>(
        'DescribeAutoScalingGroups',
        open,
        (p) => p.NextToken,
        (p) => (p.AutoScalingGroups ?? []).map(toGroup).filter((g) => g.name !== ''),
      );
    },
    describeTemplates: (ids) =>
      inChunks(ids, (c) =>
        readAll<DescribeLaunchTemplatesCommandOutput, LaunchTemplateInfo>(
          'DescribeLaunchTemplates',
          // By filter, not LaunchTemplateIds: one id that no longer exists must not fail the others.
          (startingToken) => paginateDescribeLaunchTemplates({ client: ec2 as EC2Client, startingToken }, { Filters: [{ Name: 'launch-template-id', Values: c }], MaxResults: 200 }),
          (p) => p.NextToken,
          (p) =>
            (p.LaunchTemplates ?? []).flatMap((t) =>
              t.LaunchTemplateId && typeof t.DefaultVersionNumber === 'number' && typeof t.LatestVersionNumber === 'number'
                ? [{ id: t.LaunchTemplateId, name: t.LaunchTemplateName ?? '', defaultVersion: t.DefaultVersionNumber, latestVersion: t.LatestVersionNumber, tags: (t.Tags ?? []).map((x) => ({ Key: x.Key ?? '', Value: x.Value ?? '' })) }]
                : [],
            ),
        ),
      ),
    describeVersions: (templateId, versions) =>
      readAll<DescribeLaunchTemplateVersionsCommandOutput, LaunchTemplateVersionInfo>(
        'DescribeLaunchTemplateVersions',
        (startingToken) => paginateDescribeLaunchTemplateVersions({ client: ec2 as EC2Client, startingToken }, { LaunchTemplateId: templateId, Versions: [...new Set(versions)].map(String) }),
        (p) => p.NextToken,
        (p) =>
          (p.LaunchTemplateVersions ?? []).flatMap((v) => {
            if (v.LaunchTemplateId !== templateId || typeof v.VersionNumber !== 'number') return [];
            const spec = toSpec(v.LaunchTemplateData?.MetadataOptions);
            return [{ templateId, version: v.VersionNumber, ...(spec ? { metadataOptions: spec } : {}), ...(v.LaunchTemplateData?.ImageId ? { imageId: v.LaunchTemplateData.ImageId } : {}) }];
          }),
      ),
    describeImages: (ids) =>
      inChunks(ids, (c) =>
        readAll<DescribeImagesCommandOutput, ImageInfo>(
          'DescribeImages',
          (startingToken) => paginateDescribeImages({ client: ec2 as EC2Client, startingToken }, { ImageIds: c, IncludeDeprecated: true, MaxResults: 1000 }),
          (p) => p.NextToken,
          (p) => (p.Images ?? []).flatMap((i) => (i.ImageId ? [{ imageId: i.ImageId, ...(i.ImdsSupport === 'v2.0' ? { imdsSupport: 'v2.0' as const } : {}) }] : [])),
        ),
      ),
    async createVersion(r) {
      try {
        const out = await withRetry(
          () =>
            ec2.send(
              new CreateLaunchTemplateVersionCommand({
                LaunchTemplateId: r.templateId,
                SourceVersion: String(r.sourceVersion),
                VersionDescription: r.description.slice(0, 255),
                LaunchTemplateData: { MetadataOptions: toRequest(r.metadataOptions) },
              }),
            ),
          clock,
          retry('CreateLaunchTemplateVersion', write),
        );
        const v = out.LaunchTemplateVersion?.VersionNumber;
        return typeof v === 'number' ? { outcome: 'done', version: v } : { outcome: 'failed', error: 'CreateLaunchTemplateVersion returned no version number' };
      } catch (err) {
        return writeError(err);
      }
    },
    async setDefaultVersion(templateId, version) {
      try {
        await withRetry(() => ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: templateId, DefaultVersion: String(version) })), clock, retry('ModifyLaunchTemplate', write));
        return { outcome: 'done' };
      } catch (err) {
        return writeError(err);
      }
    },
  };
}
