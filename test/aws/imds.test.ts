import 'aws-sdk-client-mock-jest';
import { DescribeInstancesCommand, EC2Client, ModifyInstanceMetadataOptionsCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { VirtualClock } from '../../lambda/aws/clock';
import { createEc2ImdsPort } from '../../lambda/aws/imds';
import { awsError } from '../support/sim';

const ec2Mock = mockClient(EC2Client);
const ec2 = new EC2Client({});

beforeEach(() => ec2Mock.reset());

describe('createEc2ImdsPort.modify', () => {
  it('sends only the hop limit when only the hop limit changes', async () => {
    ec2Mock.on(ModifyInstanceMetadataOptionsCommand).resolves({ InstanceId: 'i-1', InstanceMetadataOptions: { State: 'pending' } });
    const port = createEc2ImdsPort({ ec2, clock: new VirtualClock() });
    const r = await port.modify({ instanceId: 'i-1', hopLimit: 2 });
    expect(r).toEqual({ outcome: 'requested', state: 'pending', attempts: 1 });
    const input = ec2Mock.commandCalls(ModifyInstanceMetadataOptionsCommand)[0]!.args[0].input;
    expect(input).toEqual({ InstanceId: 'i-1', HttpPutResponseHopLimit: 2 });
  });

  it('sends only HttpEndpoint when only the endpoint changes', async () => {
    ec2Mock.on(ModifyInstanceMetadataOptionsCommand).resolves({});
    const port = createEc2ImdsPort({ ec2, clock: new VirtualClock() });
    await port.modify({ instanceId: 'i-1', enableEndpoint: true });
    expect(ec2Mock.commandCalls(ModifyInstanceMetadataOptionsCommand)[0]!.args[0].input).toEqual({ InstanceId: 'i-1', HttpEndpoint: 'enabled' });
  });

  it('refuses an empty change instead of sending a no-op', async () => {
    const port = createEc2ImdsPort({ ec2, clock: new VirtualClock() });
    expect(await port.modify({ instanceId: 'i-1' })).toEqual(expect.objectContaining({ outcome: 'failed', error: 'nothing to change' }));
    expect(ec2Mock).toHaveReceivedCommandTimes(ModifyInstanceMetadataOptionsCommand, 0);
  });

  it('never sends a metadata option the table has no action row for (the shipped IPv6 and tags rows, an unknown one)', async () => {
    const port = createEc2ImdsPort({ ec2, clock: new VirtualClock() });
    expect(await port.modify({ instanceId: 'i-1', options: { HttpProtocolIpv6: 'enabled', InstanceMetadataTags: 'enabled', Bogus: 'x' } })).toEqual(
      expect.objectContaining({ outcome: 'failed', error: 'nothing to change' }),
    );
    expect(ec2Mock).toHaveReceivedCommandTimes(ModifyInstanceMetadataOptionsCommand, 0);
  });

  it('retries RequestLimitExceeded on the clock and drains the bucket so the next call waits for a refill', async () => {
    const clock = new VirtualClock();
    ec2Mock
      .on(ModifyInstanceMetadataOptionsCommand)
      .rejectsOnce(awsError('RequestLimitExceeded', 503))
      .rejectsOnce(awsError('RequestLimitExceeded', 503))
      .resolves({});
    const port = createEc2ImdsPort({ ec2, clock });
    const start = clock.now();
    const r = await port.modify({ instanceId: 'i-1', hopLimit: 2 });
    expect(r).toEqual(expect.objectContaining({ outcome: 'requested', attempts: 3 }));
    expect(clock.now() - start).toBeGreaterThanOrEqual(200); // at least one refill interval (1 token at 5/s)
  });

  it('reports sustained throttling as throttled (to be queued again), never as a failure of the instance', async () => {
    ec2Mock.on(ModifyInstanceMetadataOptionsCommand).rejects(awsError('RequestLimitExceeded', 503));
    const port = createEc2ImdsPort({ ec2, clock: new VirtualClock(), maxAttempts: 3 });
    expect(await port.modify({ instanceId: 'i-1', hopLimit: 2 })).toEqual(expect.objectContaining({ outcome: 'throttled', attempts: 3 }));
  });

  it.each([
    ['InvalidInstanceID.NotFound', 'gone'],
    ['InvalidInstanceID.Malformed', 'gone'],
    ['UnauthorizedOperation', 'failed'],
    ['InvalidParameterValue', 'failed'],
  ])('%s → %s, without retrying', async (name, outcome) => {
    ec2Mock.on(ModifyInstanceMetadataOptionsCommand).rejects(awsError(name));
    const port = createEc2ImdsPort({ ec2, clock: new VirtualClock() });
    expect(await port.modify({ instanceId: 'i-1', hopLimit: 2 })).toEqual(expect.objectContaining({ outcome, attempts: 1 }));
  });

  it('paces a burst: the 101st call waits 200 ms, and the bucket state carries over to a new port', async () => {
    const clock = new VirtualClock();
    ec2Mock.on(ModifyInstanceMetadataOptionsCommand).resolves({});
    const port = createEc2ImdsPort({ ec2, clock });
    const start = clock.now();
    for (let i = 0; i < 100; i++) await port.modify({ instanceId: `i-${i}`, hopLimit: 2 });
    expect(clock.now()).toBe(start);
    expect(port.modifyWaitMs()).toBe(200);
    const resumed = createEc2ImdsPort({ ec2, clock, bucketState: port.bucketState() });
    expect(resumed.modifyWaitMs()).toBe(200);
    await resumed.modify({ instanceId: 'i-x', hopLimit: 2 });
    expect(clock.now() - start).toBe(200);
  });
});

describe('createEc2ImdsPort.describe', () => {
  it('reads by instance-id filter in batches of ≤ 200, so a vanished id never fails the whole call', async () => {
    ec2Mock.on(DescribeInstancesCommand).callsFake((input: { Filters: { Values: string[] }[] }) =>
      Promise.resolve({
        Reservations: [
          {
            Instances: input.Filters[0]!.Values.filter((id) => id !== 'i-5').map((id) => ({
              InstanceId: id,
              State: { Name: id === 'i-6' ? 'terminated' : 'running' },
              MetadataOptions: { HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled', State: 'applied' },
            })),
          },
        ],
      }),
    );
    const port = createEc2ImdsPort({ ec2, clock: new VirtualClock() });
    const ids = Array.from({ length: 450 }, (_, i) => `i-${i}`);
    const read = await port.describe([...ids, 'i-1']);
    if (read.outcome !== 'described') throw new Error('not described');
    const got = read.instances;
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeInstancesCommand, 3);
    for (const c of ec2Mock.commandCalls(DescribeInstancesCommand)) {
      expect(c.args[0].input.InstanceIds).toBeUndefined();
      expect(c.args[0].input.Filters![0]!.Values!.length).toBeLessThanOrEqual(200);
    }
    expect(got.size).toBe(448);
    expect(got.has('i-5')).toBe(false);
    expect(got.has('i-6')).toBe(false); // terminated counts as gone
    expect(got.get('i-0')).toEqual(expect.objectContaining({ hopLimit: 2, httpEndpoint: 'enabled', state: 'applied' }));
  });

  it('follows NextToken and retries throttling', async () => {
    const clock = new VirtualClock();
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejectsOnce(awsError('RequestLimitExceeded', 503))
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-1', State: { Name: 'running' }, MetadataOptions: { State: 'pending' } }] }], NextToken: 't' })
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-2', State: { Name: 'stopped' }, MetadataOptions: { State: 'applied' } }] }] });
    const port = createEc2ImdsPort({ ec2, clock });
    const read = await port.describe(['i-1', 'i-2']);
    if (read.outcome !== 'described') throw new Error('not described');
    expect([...read.instances.keys()]).toEqual(['i-1', 'i-2']);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[2]!.args[0].input.NextToken).toBe('t');
  });

  it('reports sustained throttling as data, not as an SDK error the engine would have to classify', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('RequestLimitExceeded', 503));
    const port = createEc2ImdsPort({ ec2, clock: new VirtualClock(), maxAttempts: 2 });
    const read = await port.describe(['i-1']);
    expect(read).toEqual({ outcome: 'throttled', error: expect.stringContaining('RequestLimitExceeded') });
  });

  it('still throws a run-level error (access denied) instead of reporting it as data', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('UnauthorizedOperation', 403));
    const port = createEc2ImdsPort({ ec2, clock: new VirtualClock(), maxAttempts: 2 });
    await expect(port.describe(['i-1'])).rejects.toThrow();
  });
});
