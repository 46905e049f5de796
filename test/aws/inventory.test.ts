import 'aws-sdk-client-mock-jest';
import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { VirtualClock } from '../../lambda/aws/clock';
import { Ec2SsmInventory, isOptedOut, platformOf } from '../../lambda/aws/inventory';
import { awsError } from '../support/sim';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const TAG = 'timesync-guard:opt-out';

function instance(id: string, extra: Partial<Instance> = {}): Instance {
  return {
    InstanceId: id,
    State: { Name: 'running' },
    InstanceType: 't4g.small',
    PrivateIpAddress: '10.0.0.1',
    IamInstanceProfile: { Arn: 'arn:aws:iam::123456789012:instance-profile/web' },
    MetadataOptions: { HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 1, State: 'applied', HttpProtocolIpv6: 'disabled' },
    Tags: [{ Key: 'Name', Value: `web-${id}` }],
    ...extra,
  };
}

function inventory(clock = new VirtualClock()): Ec2SsmInventory {
  return new Ec2SsmInventory({ ec2: new EC2Client({}), ssm: new SSMClient({}), clock, optOutTagKey: TAG, retry: { random: () => 0.5 } });
}

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
});

describe('Ec2SsmInventory', () => {
  it('pages through DescribeInstances (running, 1000 per page) and asks SSM about each page\'s ids, 50 per call, and joins them', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [instance('i-1'), instance('i-2')] }], NextToken: 'e2' })
      .resolvesOnce({ Reservations: [{ Instances: [instance('i-3')] }, { Instances: [instance('i-4')] }] });
    const managed = [
      { InstanceId: 'i-1', PingStatus: 'Online' as const, PlatformType: 'Linux' as const, AgentVersion: '3.3.0' },
      { InstanceId: 'i-3', PingStatus: 'ConnectionLost' as const, PlatformType: 'Linux' as const },
    ];
    ssmMock.on(DescribeInstanceInformationCommand).callsFake((input: { Filters?: { Key?: string; Values?: string[] }[] }) => ({
      InstanceInformationList: managed.filter((m) => input.Filters?.[0]?.Values?.includes(m.InstanceId)),
    }));
    const inv = inventory();
    const records = await inv.listInstances();
    expect(records.map((r) => r.instanceId)).toEqual(['i-1', 'i-2', 'i-3', 'i-4']);
    expect(records[0]!.ssm).toEqual({ pingStatus: 'Online', platformType: 'Linux', agentVersion: '3.3.0' });
    expect(records[1]!.ssm).toBeUndefined();
    expect(records[2]!.ssm?.pingStatus).toBe('ConnectionLost');
    expect(inv.stats).toEqual({ describeInstancesPages: 2, describeInstanceInformationPages: 2 });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: [{ Name: 'instance-state-name', Values: ['running'] }],
      MaxResults: 1000,
    });
    expect(ec2Mock).toHaveReceivedNthCommandWith(2, DescribeInstancesCommand, { NextToken: 'e2' });
    expect(ssmMock).toHaveReceivedNthCommandWith(1, DescribeInstanceInformationCommand, { MaxResults: 50, Filters: [{ Key: 'InstanceIds', Values: ['i-1', 'i-2'] }] });
    expect(ssmMock).toHaveReceivedNthCommandWith(2, DescribeInstanceInformationCommand, { MaxResults: 50, Filters: [{ Key: 'InstanceIds', Values: ['i-3', 'i-4'] }] });
  });

  it('asks SSM about at most 50 ids per call: one call per slice of an EC2 page of 1,000', async () => {
    const ids = Array.from({ length: 1000 }, (_, k) => `i-${k.toString(16).padStart(17, '0')}`);
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: ids.map((id) => instance(id)) }] });
    ssmMock.on(DescribeInstanceInformationCommand).callsFake((input: { Filters?: { Values?: string[] }[] }) => ({
      InstanceInformationList: (input.Filters?.[0]?.Values ?? []).map((id) => ({ InstanceId: id, PingStatus: 'Online' })),
    }));
    const records = await inventory().listInstances();
    expect(records).toHaveLength(1000);
    expect(records.every((r) => r.ssm?.pingStatus === 'Online')).toBe(true);
    const calls = ssmMock.commandCalls(DescribeInstanceInformationCommand).map((c) => c.args[0].input.Filters?.[0]?.Values?.length);
    expect(calls).toEqual(Array(20).fill(50));
  });

  it('falls back to the unfiltered listing once when SSM refuses the InstanceIds filter', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance('i-1'), instance('i-2')] }] });
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .callsFake((input: { Filters?: unknown[]; NextToken?: string }) => {
        if (input.Filters) throw awsError('InvalidInstanceInformationFilterValue');
        return input.NextToken ? { InstanceInformationList: [{ InstanceId: 'i-2', PingStatus: 'Online' }] } : { InstanceInformationList: [{ InstanceId: 'i-1', PingStatus: 'Online' }], NextToken: 'n' };
      });
    const records = await inventory().listInstances();
    expect(records.map((r) => [r.instanceId, r.ssm?.pingStatus])).toEqual([
      ['i-1', 'Online'],
      ['i-2', 'Online'],
    ]);
    expect(ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 3);
  });

  it('maps name, IMDS options, instance profile and IPv6-only from the EC2 record', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            instance('i-1'),
            instance('i-2', { PrivateIpAddress: undefined, IamInstanceProfile: undefined, Tags: [], MetadataOptions: { HttpEndpoint: 'disabled', HttpPutResponseHopLimit: 2, State: 'pending' } }),
          ],
        },
      ],
    });
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    const [a, b] = await inventory().listInstances();
    expect(a).toMatchObject({
      name: 'web-i-1',
      instanceType: 't4g.small',
      hasInstanceProfile: true,
      ipv6Only: false,
      imds: { httpEndpoint: 'enabled', httpTokens: 'required', hopLimit: 1, state: 'applied', httpProtocolIpv6: 'disabled' },
    });
    expect(b).toMatchObject({ hasInstanceProfile: false, ipv6Only: true, imds: { httpEndpoint: 'disabled', hopLimit: 2, state: 'pending' } });
    expect(b!.name).toBeUndefined();
  });

  it('counts an instance listed twice, or no longer running, at most once', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [instance('i-1'), instance('i-1'), instance('i-2', { State: { Name: 'stopping' } })] }],
    });
    ssmMock.on(DescribeInstanceInformationCommand).resolves({});
    const records = await inventory().listInstances();
    expect(records.map((r) => r.instanceId)).toEqual(['i-1']);
  });

  it('retries RequestLimitExceeded on DescribeInstances on the injected clock and loses no page', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [instance('i-1')] }], NextToken: 'p2' })
      .rejectsOnce(awsError('RequestLimitExceeded'))
      .rejectsOnce(awsError('RequestLimitExceeded'))
      .resolvesOnce({ Reservations: [{ Instances: [instance('i-2')] }] });
    ssmMock.on(DescribeInstanceInformationCommand).rejectsOnce(awsError('ThrottlingException')).resolves({ InstanceInformationList: [] });
    const clock = new VirtualClock();
    const records = await inventory(clock).listInstances();
    expect(records.map((r) => r.instanceId)).toEqual(['i-1', 'i-2']);
    expect(clock.sleeps).toBe(3);
    // The retries resumed at page 2: page 1 was fetched once.
    const tokens = ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input.NextToken);
    expect(tokens).toEqual([undefined, 'p2', 'p2', 'p2']);
  });

  it('fails the listing on an error that is not throttling', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('UnauthorizedOperation'));
    ssmMock.on(DescribeInstanceInformationCommand).resolves({});
    await expect(inventory().listInstances()).rejects.toThrow('UnauthorizedOperation');
  });
});

describe('isOptedOut', () => {
  it.each([
    [undefined, false],
    ['', true],
    ['true', true],
    ['yes', true],
    ['False', false],
    ['FALSE', false],
    [' false ', true], // as the IAM condition sees it: not the literal false
    ['false', false],
  ])('tag value %p → opted out %p', (value, expected) => {
    const tags = value === undefined ? [{ Key: 'other', Value: 'x' }] : [{ Key: TAG, Value: value }];
    expect(isOptedOut(tags, TAG)).toBe(expected);
  });

  it('matches the tag key case-insensitively, as the IAM Deny does (TimeSync-Guard:Opt-Out=true is opted out)', () => {
    expect(isOptedOut([{ Key: TAG.toUpperCase(), Value: 'true' }], TAG)).toBe(true);
  });
});

describe('platformOf', () => {
  it.each([
    [{ Platform: 'windows' as const }, 'windows'],
    [{ PlatformDetails: 'Windows with SQL Server Standard' }, 'windows'],
    [{ PlatformDetails: 'Linux/UNIX' }, 'linux'],
    [{ PlatformDetails: 'Red Hat Enterprise Linux' }, 'linux'],
    [{}, 'linux'],
  ])('%p → %s', (i, expected) => {
    expect(platformOf(i as Pick<Instance, 'Platform' | 'PlatformDetails'>)).toBe(expected);
  });
});

describe('Ec2SsmInventory.streamInstances', () => {
  it('hands every record over exactly once, managed or not, as soon as SSM has answered for its slice of the page', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: ['i-1', 'i-2'].map((id) => instance(id)) }], NextToken: 'p2' })
      .resolvesOnce({ Reservations: [{ Instances: ['i-3', 'i-4'].map((id) => instance(id)) }] });
    ssmMock.on(DescribeInstanceInformationCommand).callsFake((input: { Filters?: { Values?: string[] }[] }) => ({
      InstanceInformationList: [{ InstanceId: 'i-3', PingStatus: 'Online' }, { InstanceId: 'i-1', PingStatus: 'ConnectionLost' }].filter((i) => input.Filters?.[0]?.Values?.includes(i.InstanceId)),
    }));
    const handed: string[][] = [];
    const all = await inventory().streamInstances((records) => handed.push(records.map((r) => r.instanceId)));
    expect(all.map((r) => r.instanceId)).toEqual(['i-1', 'i-2', 'i-3', 'i-4']);
    expect(handed).toEqual([
      ['i-1', 'i-2'],
      ['i-3', 'i-4'],
    ]);
  });
});
