/**
 * A simulated account for engine/handler/CLI tests: EC2 DescribeInstances and SSM
 * DescribeInstanceInformation paged from a generated fleet, plus the Run Command simulation.
 */
import {
  DescribeInstancesCommand,
  type EC2ClientResolvedConfig,
  type Instance,
  type ServiceInputTypes as Ec2In,
  type ServiceOutputTypes as Ec2Out,
} from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, type InstanceInformation } from '@aws-sdk/client-ssm';
import type { AwsStub } from 'aws-sdk-client-mock';
import { type Sim, type SimInstance, type SimOptions, simulateSsm, type SsmStub } from '../aws/ssm-sim';
import { chronyReport } from './reports';

/** One simulated instance: its EC2 record, SSM info and what the collector does on it. */
export interface FleetMember {
  id: string;
  ec2?: Partial<Instance>;
  /** undefined = not managed */
  ping?: 'Online' | 'ConnectionLost' | 'Inactive';
  windows?: boolean;
  run?: SimInstance;
}

export function member(id: string, extra: Partial<FleetMember> = {}): FleetMember {
  return { id, ping: 'Online', run: { output: chronyReport() }, ...extra };
}

export function simulateFleet(
  ec2Mock: AwsStub<Ec2In, Ec2Out, EC2ClientResolvedConfig>,
  ssmMock: SsmStub,
  fleet: FleetMember[],
  options: SimOptions & { ec2PageSize?: number } = {},
): Sim {
  const instances: Instance[] = fleet.map((m): Instance => ({
    InstanceId: m.id,
    State: { Name: 'running' },
    InstanceType: 'm7g.large',
    PrivateIpAddress: '10.0.0.10',
    IamInstanceProfile: { Arn: 'arn:aws:iam::123456789012:instance-profile/app' },
    MetadataOptions: { HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 2, State: 'applied' },
    Tags: [{ Key: 'Name', Value: `app-${m.id.slice(-4)}` }],
    ...(m.windows ? { Platform: 'windows' as Instance['Platform'], PlatformDetails: 'Windows' } : { PlatformDetails: 'Linux/UNIX' }),
    ...m.ec2,
  }));
  const infos: InstanceInformation[] = fleet
    .filter((m) => m.ping !== undefined)
    .map((m) => ({ InstanceId: m.id, PingStatus: m.ping, PlatformType: m.windows ? 'Windows' : 'Linux' }));
  const ec2Page = options.ec2PageSize ?? 1000;
  ec2Mock.on(DescribeInstancesCommand).callsFake((input: { NextToken?: string; MaxResults?: number }) => {
    const start = Number(input.NextToken ?? 0);
    const size = Math.min(ec2Page, input.MaxResults ?? 1000);
    const page = instances.slice(start, start + size);
    return { Reservations: [{ Instances: page }], ...(start + size < instances.length ? { NextToken: String(start + size) } : {}) };
  });
  ssmMock.on(DescribeInstanceInformationCommand).callsFake((input: { NextToken?: string; MaxResults?: number; Filters?: { Key?: string; Values?: string[] }[] }) => {
    // As SSM does: an InstanceIds filter lists only those of the ids that are managed nodes.
    const ids = input.Filters?.find((f) => f.Key === 'InstanceIds')?.Values;
    const wanted = ids ? new Set(ids) : undefined;
    const listed = wanted ? infos.filter((i) => wanted.has(i.InstanceId!)) : infos;
    const start = Number(input.NextToken ?? 0);
    const size = input.MaxResults ?? 50;
    return {
      InstanceInformationList: listed.slice(start, start + size),
      ...(start + size < listed.length ? { NextToken: String(start + size) } : {}),
    };
  });
  return simulateSsm(ssmMock, new Map(fleet.map((m) => [m.id, m.run ?? {}])), options);
}

export function idOf(k: number): string {
  return `i-0${k.toString(16).padStart(16, '0')}`;
}
