/**
 * The fleet inventory: every running EC2 instance in the region joined with its SSM managed-node
 * status. Two listings (EC2 1,000 per page, SSM 50 per page), one hash join: O(N), no per-instance calls.
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
  paginateDescribeInstanceInformation,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { isOptedOut as matchOptOut } from '../core/plan';
import type { ImdsOptions, InstanceRecord, PingStatus, Platform } from '../core/types';
import type { Clock } from './clock';
import { paginateWithRetry, type RetryOptions } from './retry';

/** Where the engines get the fleet from; the check and remediation engines depend only on this. */
export interface InstanceInventory {
  /** Every running instance, each exactly once, joined with SSM status. */
  listInstances(): Promise<InstanceRecord[]>;
  /**
   * Optional: the same listing, handing over records as soon as each is complete (a managed
   * instance once both listings have shown it; unmanaged ones at the end), so the caller can start
   * work while the listing goes on. `onRecords` must not block. Resolves to the full list, as
   * `listInstances` does; every record is handed over exactly once.
   */
  streamInstances?(onRecords: (records: InstanceRecord[]) => void): Promise<InstanceRecord[]>;
}

/** Construction options of {@link Ec2SsmInventory}. */
export interface Ec2SsmInventoryOptions {
  readonly ec2: EC2Client;
  readonly ssm: SSMClient;
  readonly clock: Clock;
  /** Tag key that opts an instance out (value anything but `false`, case-insensitive). */
  readonly optOutTagKey: string;
  readonly retry?: RetryOptions;
}

/** Counters of the last listing, for timings and the benchmark. */
export interface InventoryStats {
  describeInstancesPages: number;
  describeInstanceInformationPages: number;
}

/** EC2 DescribeInstances + SSM DescribeInstanceInformation, joined on instance id. */
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
    const emitted = new Set<string>();
    let ec2: Map<string, Instance> | undefined;
    // SSM pages that arrive before the EC2 listing is complete wait here (EC2 is usually first: 1,000 per page).
    let early: InstanceInformation[] = [];
    const emit = (infos: readonly InstanceInformation[]): void => {
      if (!ec2) return;
      const out: InstanceRecord[] = [];
      for (const info of infos) {
        const i = info.InstanceId ? ec2.get(info.InstanceId) : undefined;
        if (!i || emitted.has(info.InstanceId!)) continue;
        emitted.add(info.InstanceId!);
        out.push(toRecord(i, info, key));
      }
      if (out.length > 0) onRecords(out);
    };
    const [instances, managed] = await Promise.all([
      this.listEc2().then((list) => {
        ec2 = new Map(list.map((i) => [i.InstanceId!, i]));
        emit(early);
        early = [];
        return list;
      }),
      this.listManaged((page) => {
        if (ec2) emit(page);
        else early.push(...page);
      }),
    ]);
    const records = instances.map((i) => toRecord(i, managed.get(i.InstanceId ?? ''), key));
    const rest = records.filter((r) => !emitted.has(r.instanceId));
    if (rest.length > 0) onRecords(rest);
    return records;
  }

  private async listEc2(): Promise<Instance[]> {
    const { ec2, clock, retry } = this.options;
    const out: Instance[] = [];
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
      for (const r of page.Reservations ?? []) {
        for (const i of r.Instances ?? []) {
          // Defensive: the state filter is authoritative, but a duplicate or a racing state change must not double-count.
          if (!i.InstanceId || seen.has(i.InstanceId)) continue;
          if (i.State?.Name !== undefined && i.State.Name !== 'running') continue;
          seen.add(i.InstanceId);
          out.push(i);
        }
      }
    }
    return out;
  }

  private async listManaged(onPage: (infos: InstanceInformation[]) => void): Promise<Map<string, InstanceInformation>> {
    const { ssm, clock, retry } = this.options;
    const out = new Map<string, InstanceInformation>();
    const pages = paginateWithRetry<DescribeInstanceInformationCommandOutput>(
      (startingToken) => paginateDescribeInstanceInformation({ client: ssm, startingToken }, { MaxResults: 50 }),
      (p) => p.NextToken,
      clock,
      { operation: 'DescribeInstanceInformation', ...retry },
    );
    for await (const page of pages) {
      this.stats.describeInstanceInformationPages++;
      const infos = (page.InstanceInformationList ?? []).filter((info) => info.InstanceId);
      for (const info of infos) out.set(info.InstanceId!, info);
      onPage(infos);
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
  return {
    instanceId: i.InstanceId ?? '',
    platform: platformOf(i, info),
    ...(name !== undefined && name !== '' ? { name } : {}),
    ...(i.InstanceType ? { instanceType: i.InstanceType } : {}),
    hasInstanceProfile: Boolean(i.IamInstanceProfile?.Arn ?? i.IamInstanceProfile?.Id),
    optedOut: isOptedOut(i.Tags, optOutTagKey),
    ipv6Only: !i.PrivateIpAddress,
    imds: imdsOf(i),
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
