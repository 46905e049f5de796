/**
 * Simulated EC2: DescribeInstances (filters, paging, reservations of 10),
 * ModifyInstanceMetadataOptions (pending → applied after A9, hop limit 1–64, DryRun) and CreateTags
 * (instances only), with EC2's documented token buckets (aws-limits.md). Registered in account.ts's SERVICES.
 */
import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  ModifyInstanceMetadataOptionsCommand,
  type CreateTagsCommandInput,
  type DescribeInstancesCommandInput,
  type Instance,
  type ModifyInstanceMetadataOptionsCommandInput,
} from '@aws-sdk/client-ec2';
import type { SimAccount, SimService } from './account';
import { EC2_METADATA_DEFAULTS_ACTIONS } from './ec2-metadata-defaults';
import { EC2_NETWORK_ACTIONS } from './coverage';
import type { SimInstance } from './fleet';
import { indexedPage, SimAwsError, type BucketSpec } from './primitives';

/** EC2's documented buckets (aws-limits.md). */
export const EC2_BUCKETS = {
  nonMutating: { capacity: 100, refillPerSecond: 20 },
  unfilteredNonMutating: { capacity: 50, refillPerSecond: 10 },
  modifyInstanceMetadataOptions: { capacity: 100, refillPerSecond: 5 },
  /** Every other mutating action (CreateTags here). */
  mutating: { capacity: 50, refillPerSecond: 5 },
} as const satisfies Record<string, BucketSpec>;

function toEc2(acct: SimAccount, inst: SimInstance): Instance {
  settleMetadata(acct, inst);
  const n = Number.parseInt(inst.id.slice(-6), 16);
  const gone = acct.isGone(inst);
  const tags = [{ Key: 'Name', Value: inst.name }];
  if (inst.optedOut) tags.push({ Key: acct.optOutTagKey, Value: 'true' });
  if (inst.tags) tags.push(...inst.tags);
  return {
    InstanceId: inst.id,
    InstanceType: inst.platform === 'windows' ? 'm7i.large' : 'm7g.large',
    State: gone ? { Code: 48, Name: 'terminated' } : { Code: 16, Name: 'running' },
    // The API returns lower-case `windows` although the SDK's enum spells `Windows`.
    ...(inst.platform === 'windows' ? { Platform: 'windows' as Instance['Platform'] } : {}),
    PlatformDetails: inst.platform === 'windows' ? 'Windows' : 'Linux/UNIX',
    ...(inst.hasProfile ? { IamInstanceProfile: { Arn: `arn:aws:iam::111122223333:instance-profile/${inst.profileName ?? `app-${n % 7}`}`, Id: `AIPA${n}` } } : {}),
    SubnetId: inst.subnetId ?? 'subnet-default',
    VpcId: inst.vpcId ?? 'vpc-default',
    MetadataOptions: {
      State: inst.metadataState,
      HttpTokens: inst.httpTokens,
      HttpPutResponseHopLimit: inst.hopLimit,
      HttpEndpoint: inst.httpEndpoint,
      HttpProtocolIpv6: inst.ipv6Only ? 'enabled' : 'disabled',
      InstanceMetadataTags: 'disabled',
    },
    ...(inst.ipv6Only ? { Ipv6Address: `2600:1f18::${n.toString(16)}` } : { PrivateIpAddress: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` }),
    Tags: tags,
    LaunchTime: new Date(inst.launchedAtMs ?? acct.defaultLaunchMs),
  };
}

function settleMetadata(acct: SimAccount, inst: SimInstance): void {
  if (inst.metadataState === 'pending' && inst.appliedAtMs !== undefined && acct.clock.now() >= inst.appliedAtMs) inst.metadataState = 'applied';
}

function matches(acct: SimAccount, inst: SimInstance, filters: DescribeInstancesCommandInput['Filters']): boolean {
  for (const f of filters ?? []) {
    const values = f.Values ?? [];
    const name = f.Name ?? '';
    let actual: string | undefined;
    if (name === 'instance-state-name') actual = acct.isGone(inst) ? 'terminated' : 'running';
    else if (name === 'instance-id') actual = inst.id;
    else if (name === 'platform') actual = inst.platform === 'windows' ? 'windows' : undefined;
    else if (name === 'metadata-options.http-put-response-hop-limit') actual = String(inst.hopLimit);
    else if (name === 'metadata-options.http-endpoint') actual = inst.httpEndpoint;
    else if (name === 'metadata-options.http-tokens') actual = inst.httpTokens;
    else if (name === 'metadata-options.state') {
      settleMetadata(acct, inst);
      actual = inst.metadataState;
    } else if (name === 'tag-key') {
      if (!values.some((v) => v === 'Name' || (inst.optedOut && v === acct.optOutTagKey))) return false;
      continue;
    } else throw new SimAwsError('InvalidParameterValue', `The filter '${name}' is invalid (not modelled by the simulator)`);
    if (actual === undefined || !values.includes(actual)) return false;
  }
  return true;
}

function describeInstances(acct: SimAccount, i: DescribeInstancesCommandInput): { result: object; latency: number } {
  if (i.InstanceIds?.length && i.MaxResults !== undefined) {
    throw new SimAwsError('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
  }
  if (i.MaxResults !== undefined && (i.MaxResults < 5 || i.MaxResults > 1000)) {
    throw new SimAwsError('InvalidParameterValue', `Value ( ${i.MaxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`);
  }
  for (const f of i.Filters ?? []) {
    if ((f.Values?.length ?? 0) > 200) throw new SimAwsError('InvalidParameterValue', `The filter '${f.Name}' has more than 200 values`);
  }
  let selected: SimInstance[];
  let next: string | undefined;
  if (i.InstanceIds?.length) {
    const unknown = i.InstanceIds.filter((id) => !acct.byId.has(id));
    if (unknown.length) throw new SimAwsError('InvalidInstanceID.NotFound', `The instance IDs '${unknown.join(', ')}' do not exist`);
    selected = i.InstanceIds.map((id) => acct.byId.get(id)!).filter((x) => matches(acct, x, i.Filters));
  } else {
    const size = i.MaxResults ?? 1000;
    const p = indexedPage(acct.sortedIds, i.NextToken, size, (id) => {
      const x = acct.byId.get(id)!;
      return matches(acct, x, i.Filters) ? x : undefined;
    });
    selected = p.page;
    next = p.next;
  }
  const instances = selected.map((x) => toEc2(acct, x));
  const reservations = [];
  for (let k = 0; k < instances.length; k += 10) reservations.push({ ReservationId: `r-${k}`, OwnerId: '111122223333', Instances: instances.slice(k, k + 10) });
  return {
    result: { Reservations: reservations, ...(next ? { NextToken: next } : {}) },
    latency: acct.lat.describeInstancesBase + acct.lat.describeInstancesPerItem * instances.length,
  };
}

function modifyMetadata(acct: SimAccount, i: ModifyInstanceMetadataOptionsCommandInput): { result: object; latency: number } {
  const inst = i.InstanceId ? acct.byId.get(i.InstanceId) : undefined;
  if (!inst) throw new SimAwsError('InvalidInstanceID.NotFound', `The instance ID '${i.InstanceId}' does not exist`);
  if (acct.isGone(inst)) throw new SimAwsError('IncorrectInstanceState', `The instance '${inst.id}' is not in a state from which it can be modified.`);
  const hop = i.HttpPutResponseHopLimit;
  if (hop !== undefined && (!Number.isInteger(hop) || hop < 1 || hop > 64)) {
    throw new SimAwsError('InvalidParameterValue', `The HttpPutResponseHopLimit '${hop}' is not valid. Specify a value from 1 to 64.`);
  }
  if (inst.modifyError) throw new SimAwsError(inst.modifyError, `simulated ${inst.modifyError} on ${inst.id}`);
  if (i.DryRun) throw new SimAwsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
  if (hop !== undefined) {
    if (hop < inst.hopLimit) acct.lowered++;
    inst.hopLimit = hop;
  }
  if (i.HttpEndpoint) inst.httpEndpoint = i.HttpEndpoint;
  if (i.HttpTokens) inst.httpTokens = i.HttpTokens;
  inst.metadataState = 'pending';
  inst.appliedAtMs = acct.clock.now() + acct.lat.other + (inst.metadataApplyMs ?? acct.rc.metadataApplyMs);
  acct.modified.set(inst.id, (acct.modified.get(inst.id) ?? 0) + 1);
  return {
    result: {
      InstanceId: inst.id,
      InstanceMetadataOptions: { State: 'pending', HttpTokens: inst.httpTokens, HttpPutResponseHopLimit: inst.hopLimit, HttpEndpoint: inst.httpEndpoint },
    },
    latency: acct.lat.other,
  };
}

/**
 * CreateTags on instances: each tag replaces the instance's tag of the same key. `Name` and the
 * opt-out tag stay what the instance's `name` / `optedOut` say (DescribeInstances builds them).
 */
function createTags(acct: SimAccount, i: CreateTagsCommandInput): { result: object; latency: number } {
  const ids = i.Resources ?? [];
  const tags = i.Tags ?? [];
  if (ids.length === 0 || tags.length === 0) throw new SimAwsError('MissingParameter', 'The request must contain the parameter resourceIdSet and tagSet');
  const unknown = ids.filter((id) => !acct.byId.has(id));
  if (unknown.length) throw new SimAwsError('InvalidInstanceID.NotFound', `The instance IDs '${unknown.join(', ')}' do not exist`);
  const reserved = tags.find((t) => (t.Key ?? '').toLowerCase().startsWith('aws:'));
  if (reserved) throw new SimAwsError('InvalidParameterValue', `Tag keys starting with 'aws:' are reserved for internal use (${reserved.Key})`);
  const keys = new Set(tags.map((t) => t.Key));
  const next = ids.map((id) => [...(acct.byId.get(id)!.tags ?? []).filter((t) => !keys.has(t.Key)), ...tags.map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' }))]);
  const over = next.findIndex((t) => t.length > 50);
  if (over >= 0) throw new SimAwsError('TagLimitExceeded', `The maximum number of tags (50) on ${ids[over]} would be exceeded`);
  ids.forEach((id, k) => void (acct.byId.get(id)!.tags = next[k]));
  return { result: {}, latency: acct.lat.other };
}

/** EC2: its actions and its buckets; an empty bucket gives `RequestLimitExceeded` (503). */
export const EC2_SERVICE: SimService = {
  name: 'ec2',
  client: EC2Client,
  buckets: () => EC2_BUCKETS,
  throttled: () => new SimAwsError('RequestLimitExceeded', 'Request limit exceeded.', 503),
  actions: {
    DescribeInstances: {
      command: DescribeInstancesCommand,
      answer: describeInstances,
      bucket: (i: DescribeInstancesCommandInput) => {
        const unfiltered = !i.Filters?.length && i.MaxResults === undefined && !i.InstanceIds?.length;
        return unfiltered ? 'unfilteredNonMutating' : 'nonMutating';
      },
    },
    ModifyInstanceMetadataOptions: { command: ModifyInstanceMetadataOptionsCommand, answer: modifyMetadata, bucket: () => 'modifyInstanceMetadataOptions' },
    CreateTags: { command: CreateTagsCommand, answer: createTags, bucket: () => 'mutating' },
    ...EC2_METADATA_DEFAULTS_ACTIONS,
    ...EC2_NETWORK_ACTIONS,
  },
};
