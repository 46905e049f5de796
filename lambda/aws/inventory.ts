/**
 * The fleet inventory: every running EC2 instance in the region joined with its SSM managed-node
 * status. EC2 lists 1,000 per page; SSM is asked about each page's ids 50 at a time as the page
 * arrives: O(N), no per-instance calls.
 */
import {
  type EC2Client,
  type Instance,
  paginateDescribeInstances,
  type DescribeInstancesCommandOutput,
} from '@aws-sdk/client-ec2';
import {
  type DescribeInstanceInformationCommandOutput,
  type InstanceInformation,
  type InstanceInformationStringFilter,
  paginateDescribeInstanceInformation,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { enforcedTagValueOf } from '../core/imdsv2/enforcement';
import { isOptedOut as matchOptOut } from '../core/remediation/plan';
import { launchOriginOf } from '../core/sources/attribute';
import type { ImdsOptions, InstanceRecord, PingStatus, Platform } from '../core/types';
import type { Clock, InstanceInventory } from '../engine/ports';
import { isThrottlingError, paginateWithRetry, type PriorityRateLimiter, type RetryOptions } from './retry';
import { ssmLimiter } from './run-command';

export type { InstanceInventory };

/** Construction options of {@link Ec2SsmInventory}. */
export interface Ec2SsmInventoryOptions {
  readonly ec2: EC2Client;
  readonly ssm: SSMClient;
  readonly clock: Clock;
  /** Tag key that opts an instance out (value anything but `false`, case-insensitive). */
  readonly optOutTagKey: string;
  readonly retry?: RetryOptions;
  /**
   * Paces the DescribeInstanceInformation calls; SSM's rate is one bucket per account, so this is
   * the limiter Run Command uses too. `false`: no client-side pacing (throttles are still retried).
   * @default - ssmLimiter(ssm, clock), shared with SsmRunCommand on the same client
   */
  readonly limiter?: PriorityRateLimiter | false;
}

/** Counters of the last listing, for timings and the benchmark. */
export interface InventoryStats {
  describeInstancesPages: number;
  describeInstanceInformationPages: number;
}

/** DescribeInstanceInformation's `InstanceIds` filter: the ids of one call (its page holds 50 results). */
export const MAX_IDS_PER_INSTANCE_INFORMATION = 50;

/**
 * EC2 DescribeInstances + SSM DescribeInstanceInformation, joined on instance id.
 *
 * Why filtered DescribeInstanceInformation calls per EC2 page instead of one SSM listing: the SSM
 * listing is sequential (each page needs the last token) at 50 nodes per page, ≈ 54 s for 10,000
 * nodes at 300 ms a page, while EC2 lists 1,000 per page. Asking SSM about the 50 ids of each slice
 * of an EC2 page as the page arrives costs ⌈N/50⌉ calls instead of ⌈M/50⌉ (the unmanaged tenth of
 * the ids, ≈ +10 %), but the calls run side by side, paced only by the SSM rate, so the inventory
 * ends one call after the last EC2 page and every record is complete (managed or not) as soon as
 * its slice is answered.
 */
export class Ec2SsmInventory implements InstanceInventory {
  /** Pages fetched by the last `listInstances()` call. */
  public readonly stats: InventoryStats = { describeInstancesPages: 0, describeInstanceInformationPages: 0 };

  constructor(private readonly options: Ec2SsmInventoryOptions) {}

  async listInstances(): Promise<InstanceRecord[]> {
    return this.streamInstances(() => undefined);
  }

  async streamInstances(onRecords: (records: InstanceRecord[]) => void): Promise<InstanceRecord[]> {
    this.stats.describeInstancesPages = 0;
    this.stats.describeInstanceInformationPages = 0;
    const key = this.options.optOutTagKey;
    const slices: Promise<InstanceRecord[]>[] = [];
    // If SSM refuses the filter (e.g. an id it does not accept), the whole unfiltered listing answers instead, once.
    let fullListing: Promise<Map<string, InstanceInformation>> | undefined;
    const slice = async (instances: readonly Instance[]): Promise<InstanceRecord[]> => {
      let infos: Map<string, InstanceInformation>;
      try {
        infos = await this.managedAmong(instances.map((i) => i.InstanceId!));
      } catch (err) {
        if (isThrottlingError(err)) throw err;
        fullListing ??= this.listManaged();
        infos = await fullListing;
      }
      const records = instances.map((i) => toRecord(i, infos.get(i.InstanceId!), key));
      if (records.length > 0) onRecords(records);
      return records;
    };
    const settled: Promise<void>[] = [];
    let failure: { error: unknown } | undefined;
    await this.listEc2((page) => {
      for (let k = 0; k < page.length; k += MAX_IDS_PER_INSTANCE_INFORMATION) {
        const p = slice(page.slice(k, k + MAX_IDS_PER_INSTANCE_INFORMATION));
        slices.push(p);
        // Keep listing EC2 while slices are answered; the first failure is rethrown at the end.
        settled.push(p.then(() => undefined, (error: unknown) => void (failure ??= { error })));
      }
    });
    await Promise.all(settled);
    if (failure) throw failure.error;
    return (await Promise.all(slices)).flat();
  }

  private async listEc2(onPage: (instances: Instance[]) => void): Promise<void> {
    const { ec2, clock, retry } = this.options;
    const seen = new Set<string>();
    const pages = paginateWithRetry<DescribeInstancesCommandOutput>(
      (startingToken) =>
        paginateDescribeInstances(
          { client: ec2, startingToken },
          { Filters: [{ Name: 'instance-state-name', Values: ['running'] }], MaxResults: 1000 },
        ),
      (p) => p.NextToken,
      clock,
      { operation: 'DescribeInstances', ...retry },
    );
    for await (const page of pages) {
      this.stats.describeInstancesPages++;
      const out: Instance[] = [];
      for (const r of page.Reservations ?? []) {
        for (const i of r.Instances ?? []) {
          // Defensive: the state filter is authoritative, but a duplicate or a racing state change must not double-count.
          if (!i.InstanceId || seen.has(i.InstanceId)) continue;
          if (i.State?.Name !== undefined && i.State.Name !== 'running') continue;
          seen.add(i.InstanceId);
          out.push(i);
        }
      }
      onPage(out);
    }
  }

  private ssmRetry(): RetryOptions {
    const { ssm, clock, retry, limiter } = this.options;
    const l = limiter === false ? undefined : (limiter ?? ssmLimiter(ssm, clock));
    const base: RetryOptions = { operation: 'DescribeInstanceInformation', ...retry };
    return l ? l.retryOptions(base) : base;
  }

  /** The SSM records of the managed nodes among `ids` (one call per 50 ids; absent = not managed). */
  private async managedAmong(ids: readonly string[]): Promise<Map<string, InstanceInformation>> {
    return this.describeManaged([{ Key: 'InstanceIds', Values: [...ids] }]);
  }

  /** Every managed node: the unfiltered listing (sequential pages of 50). */
  private async listManaged(): Promise<Map<string, InstanceInformation>> {
    return this.describeManaged(undefined);
  }

  private async describeManaged(filters: InstanceInformationStringFilter[] | undefined): Promise<Map<string, InstanceInformation>> {
    const { ssm, clock } = this.options;
    const out = new Map<string, InstanceInformation>();
    const pages = paginateWithRetry<DescribeInstanceInformationCommandOutput>(
      (startingToken) => paginateDescribeInstanceInformation({ client: ssm, startingToken }, { MaxResults: 50, ...(filters ? { Filters: filters } : {}) }),
      (p) => p.NextToken,
      clock,
      this.ssmRetry(),
    );
    for await (const page of pages) {
      this.stats.describeInstanceInformationPages++;
      for (const info of page.InstanceInformationList ?? []) if (info.InstanceId) out.set(info.InstanceId, info);
    }
    return out;
  }
}

/** Windows when EC2 says so (`Platform: windows`, or a `Windows…` PlatformDetails); Linux otherwise. */
export function platformOf(i: Pick<Instance, 'Platform' | 'PlatformDetails'>, info?: InstanceInformation): Platform {
  if (typeof i.Platform === 'string' && i.Platform.toLowerCase() === 'windows') return 'windows';
  if (i.PlatformDetails?.toLowerCase().startsWith('windows')) return 'windows';
  if (info?.PlatformType === 'Windows') return 'windows';
  return 'linux';
}

/** Opt-out as the stack's IAM Deny matches it (key case-insensitive): see {@link matchOptOut}. */
export function isOptedOut(tags: Instance['Tags'], optOutTagKey: string): boolean {
  return matchOptOut(tags, optOutTagKey);
}

function imdsOf(i: Instance): ImdsOptions {
  const m = i.MetadataOptions;
  if (!m) return {};
  const o: { -readonly [K in keyof ImdsOptions]: ImdsOptions[K] } = {};
  if (m.HttpEndpoint === 'enabled' || m.HttpEndpoint === 'disabled') o.httpEndpoint = m.HttpEndpoint;
  if (m.HttpTokens === 'optional' || m.HttpTokens === 'required') o.httpTokens = m.HttpTokens;
  if (typeof m.HttpPutResponseHopLimit === 'number') o.hopLimit = m.HttpPutResponseHopLimit;
  if (m.State === 'pending' || m.State === 'applied') o.state = m.State;
  if (m.HttpProtocolIpv6 === 'enabled' || m.HttpProtocolIpv6 === 'disabled') o.httpProtocolIpv6 = m.HttpProtocolIpv6;
  return o;
}

const PING: ReadonlySet<string> = new Set(['Online', 'ConnectionLost', 'Inactive']);

/** Joins one EC2 instance with its SSM info (pure; exported for tests and the benchmark). */
export function toRecord(i: Instance, info: InstanceInformation | undefined, optOutTagKey: string): InstanceRecord {
  const name = (i.Tags ?? []).find((t) => t.Key === 'Name')?.Value;
  const ping = info?.PingStatus;
  // Matched as IAM matches aws:ResourceTag/<key>: whatever the key's letter case.
  const enforced = enforcedTagValueOf(i.Tags);
  // Where its IMDS options came from (docs/launch-templates.md): only what its tags say, dropped when empty.
  const origin = launchOriginOf(i.Tags, i.ImageId);
  return {
    instanceId: i.InstanceId ?? '',
    platform: platformOf(i, info),
    ...(name !== undefined && name !== '' ? { name } : {}),
    ...(i.InstanceType ? { instanceType: i.InstanceType } : {}),
    hasInstanceProfile: Boolean(i.IamInstanceProfile?.Arn ?? i.IamInstanceProfile?.Id),
    ...(i.IamInstanceProfile?.Arn ? { instanceProfileArn: i.IamInstanceProfile.Arn } : {}),
    ...(i.SubnetId ? { subnetId: i.SubnetId } : {}),
    ...(i.VpcId ? { vpcId: i.VpcId } : {}),
    optedOut: isOptedOut(i.Tags, optOutTagKey),
    ipv6Only: !i.PrivateIpAddress,
    imds: imdsOf(i),
    ...(i.LaunchTime instanceof Date && Number.isFinite(i.LaunchTime.getTime()) ? { launchTime: i.LaunchTime.toISOString() } : {}),
    ...(enforced !== undefined ? { imdsv2Enforced: enforced } : {}),
    ...(Object.keys(origin).length > 0 ? { origin } : {}),
    ...(info
      ? {
          ssm: {
            // An unknown future ping status is treated like Inactive: not reachable now.
            pingStatus: (ping && PING.has(ping) ? ping : 'Inactive') as PingStatus,
            ...(info.PlatformType ? { platformType: info.PlatformType } : {}),
            ...(info.AgentVersion ? { agentVersion: info.AgentVersion } : {}),
          },
        }
      : {}),
  };
}
