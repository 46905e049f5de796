/**
 * A small simulated EC2 account for the remediation tests, behind aws-sdk-client-mock:
 * DescribeInstances (instance-id filter, running instances) answers from a map of instances;
 * ModifyInstanceMetadataOptions changes only what it is given, leaves the state `pending` for a
 * configurable number of describes, and can throw scripted throttling bursts.
 */
import {
  DescribeInstancesCommand,
  type EC2ClientResolvedConfig,
  ModifyInstanceMetadataOptionsCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-ec2';
import type { AwsStub } from 'aws-sdk-client-mock';
import { awsError } from '../support/sim';

export interface SimEc2Instance {
  hop: number;
  endpoint: 'enabled' | 'disabled';
  state: 'pending' | 'applied';
  /** Describes until a pending change shows `applied`; Infinity = never. @default 1 */
  applyAfter?: number;
  /** Gone (terminated): absent from DescribeInstances, Modify fails InvalidInstanceID.NotFound. */
  gone?: boolean;
  pendingDescribes?: number;
  /** Tags as DescribeInstances returns them (e.g. an opt-out tag set between invocations). */
  tags?: { Key: string; Value: string }[];
}

export interface SimEc2 {
  instances: Map<string, SimEc2Instance>;
  /** Every Modify that succeeded, in order. */
  modified: string[];
  /** Modify calls that were throttled. */
  throttled: number;
  describeCalls: number;
}

export { awsError } from '../support/sim';

/**
 * @param throttle decides, per Modify call index (0-based), whether EC2 answers RequestLimitExceeded.
 */
export function simulateEc2(
  mock: AwsStub<ServiceInputTypes, ServiceOutputTypes, EC2ClientResolvedConfig>,
  instances: Map<string, SimEc2Instance>,
  options: { throttle?: (call: number, instanceId: string) => boolean; describeThrottle?: (call: number) => boolean } = {},
): SimEc2 {
  const sim: SimEc2 = { instances, modified: [], throttled: 0, describeCalls: 0 };
  let modifyCalls = 0;
  mock.on(DescribeInstancesCommand).callsFake((input: { Filters?: { Name?: string; Values?: string[] }[]; InstanceIds?: string[] }) => {
    sim.describeCalls++;
    if (options.describeThrottle?.(sim.describeCalls - 1)) return Promise.reject(awsError('RequestLimitExceeded', 503));
    const f = input.Filters?.find((x) => x.Name === 'instance-id');
    if (!f || input.InstanceIds) throw new Error('the remediation must describe by instance-id filter');
    if ((f.Values ?? []).length > 200) throw awsError('InvalidParameterValue');
    const out = [];
    for (const id of f.Values ?? []) {
      const i = instances.get(id);
      if (!i || i.gone) continue;
      if (i.state === 'pending') {
        i.pendingDescribes = (i.pendingDescribes ?? 0) + 1;
        if (i.pendingDescribes > (i.applyAfter ?? 1)) i.state = 'applied';
      }
      out.push({
        InstanceId: id,
        State: { Name: 'running' },
        MetadataOptions: { HttpPutResponseHopLimit: i.hop, HttpEndpoint: i.endpoint, HttpTokens: 'required', State: i.state },
        ...(i.tags ? { Tags: i.tags } : {}),
      });
    }
    return Promise.resolve({ Reservations: out.length ? [{ Instances: out }] : [] });
  });
  mock.on(ModifyInstanceMetadataOptionsCommand).callsFake((input: { InstanceId: string; HttpPutResponseHopLimit?: number; HttpEndpoint?: 'enabled' | 'disabled' }) => {
    const n = modifyCalls++;
    if (options.throttle?.(n, input.InstanceId)) {
      sim.throttled++;
      return Promise.reject(awsError('RequestLimitExceeded', 503));
    }
    const i = instances.get(input.InstanceId);
    if (!i || i.gone) return Promise.reject(awsError('InvalidInstanceID.NotFound'));
    if (input.HttpPutResponseHopLimit !== undefined) i.hop = input.HttpPutResponseHopLimit;
    if (input.HttpEndpoint !== undefined) i.endpoint = input.HttpEndpoint;
    i.state = 'pending';
    i.pendingDescribes = 0;
    sim.modified.push(input.InstanceId);
    return Promise.resolve({ InstanceId: input.InstanceId, InstanceMetadataOptions: { State: 'pending' } });
  });
  return sim;
}
