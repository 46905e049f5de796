import { DescribeInstancesCommand, ModifyInstanceMetadataOptionsCommand } from '@aws-sdk/client-ec2';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand } from '@aws-sdk/client-sns';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  InvalidInstanceId,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import { SimAccount } from '../../bench/sim/account';
import { generateFleet } from '../../bench/sim/fleet';
import { DiscreteEventClock } from '../../bench/sim/virtual-clock';
import { parseEc2Request } from '../../bench/wire/ec2-query';
import { wireClients } from '../../bench/wire/clients';

/** Two identical accounts: one answers directly, the other through the real SDK clients and the wire adapter. */
function twins(n = 60) {
  const make = () => {
    const clock = new DiscreteEventClock({ startMs: Date.UTC(2026, 0, 1) });
    return { clock, account: new SimAccount(generateFleet(n), clock) };
  };
  const direct = make();
  const wired = make();
  return { direct, wired, clients: wireClients(wired.account) };
}

/** What the SDK parsed, without its response metadata; Dates as epoch ms (both sides alike). */
const plain = (v: unknown): unknown =>
  JSON.parse(
    JSON.stringify(v, function (this: Record<string, unknown>, k, val) {
      const raw = this[k];
      return k === '$metadata' ? undefined : raw instanceof Date ? raw.getTime() : val;
    }),
  );

describe('wire adapter: the real SDK clients parse what the simulated account answers, field for field', () => {
  it.each([
    ['DescribeInstances', {}],
    ['DescribeInstances', { MaxResults: 5 }],
    ['DescribeInstances', { Filters: [{ Name: 'instance-state-name', Values: ['running', 'pending'] }], MaxResults: 20 }],
  ])('EC2 %s %j (query request parsed, XML answer parsed back)', async (action, input) => {
    const { direct, wired, clients } = twins();
    const expected = await direct.clock.run(() => direct.account.answer(action, input));
    const got = await wired.clock.run(() => clients.ec2.send(new DescribeInstancesCommand(input)));
    expect(plain(got)).toEqual(plain(expected));
    expect(clients.wire.stats.responseBytes).toBeGreaterThan(1000);
  });

  it('EC2 ModifyInstanceMetadataOptions, and the SDK serializes what the adapter parses', async () => {
    const { direct, wired, clients } = twins();
    const id = direct.account.fleet[0]!.id;
    const input = { InstanceId: id, HttpPutResponseHopLimit: 2, HttpTokens: 'required' as const };
    const expected = await direct.clock.run(() => direct.account.answer('ModifyInstanceMetadataOptions', input));
    const got = await wired.clock.run(() => clients.ec2.send(new ModifyInstanceMetadataOptionsCommand(input)));
    expect(plain(got)).toEqual(plain(expected));
    expect(parseEc2Request(`Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=instance-id&Filter.1.Value.1=i-1&Filter.1.Value.2=i-2&MaxResults=5`)).toEqual({
      action: 'DescribeInstances',
      input: { Filters: [{ Name: 'instance-id', Values: ['i-1', 'i-2'] }], MaxResults: 5 },
    });
  });

  it('EC2 errors come back as the SDK error with its code (throttling reaches the engine retry layer)', async () => {
    const { wired, clients } = twins();
    const err = await wired.clock.run(() => clients.ec2.send(new DescribeInstancesCommand({ MaxResults: 2000 })).then(() => undefined, (e: unknown) => e));
    expect(err).toMatchObject({ name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } });
  });

  it('SSM JSON 1.1: DescribeInstanceInformation, SendCommand, ListCommands, ListCommandInvocations, GetCommandInvocation', async () => {
    const { direct, wired, clients } = twins();
    const online = direct.account.fleet.filter((x) => x.ssm === 'Online' && x.platform === 'linux').slice(0, 3).map((x) => x.id);
    const steps: [string, (cmdId: string) => object, (i: never) => object][] = [
      ['DescribeInstanceInformation', () => ({ MaxResults: 10 }), (i) => new DescribeInstanceInformationCommand(i)],
      ['SendCommand', () => ({ DocumentName: 'TimeSyncGuard-Collect', InstanceIds: online, MaxConcurrency: '50%', MaxErrors: '100%', TimeoutSeconds: 600 }), (i) => new SendCommandCommand(i)],
      ['ListCommands', (c) => ({ CommandId: c }), (i) => new ListCommandsCommand(i)],
      ['ListCommandInvocations', (c) => ({ CommandId: c, Details: true, MaxResults: 50 }), (i) => new ListCommandInvocationsCommand(i)],
      ['GetCommandInvocation', (c) => ({ CommandId: c, InstanceId: online[0] }), (i) => new GetCommandInvocationCommand(i)],
    ];
    let commandId = '';
    for (const [action, input, command] of steps) {
      const expected = (await direct.clock.run(() => direct.account.answer(action, input(commandId)))) as { Command?: { CommandId: string } };
      const got = await wired.clock.run(() => clients.ssm.send(command(input(commandId) as never) as never));
      expect(plain(got)).toEqual(plain(expected));
      if (expected.Command) commandId = expected.Command.CommandId;
      // Let the guests run so the listings carry terminal statuses and output.
      await direct.clock.run(() => direct.clock.sleep(20_000));
      await wired.clock.run(() => wired.clock.sleep(20_000));
    }
  });

  it('SSM errors come back as the SDK exception class', async () => {
    const { wired, clients } = twins();
    const err = await wired.clock.run(() => clients.ssm.send(new SendCommandCommand({ DocumentName: 'TimeSyncGuard-Collect', InstanceIds: ['i-00000000000000000'] })).then(() => undefined, (e: unknown) => e));
    expect(err).toBeInstanceOf(InvalidInstanceId);
  });

  it('EventBridge PutEvents (JSON 1.1) and SNS Publish (query protocol)', async () => {
    const { direct, wired, clients } = twins();
    const entries = { Entries: [{ Source: 'timesync-guard', DetailType: 'x', Detail: '{"a":1}' }] };
    const expected = await direct.clock.run(() => direct.account.answer('PutEvents', entries));
    expect(plain(await wired.clock.run(() => clients.eventbridge.send(new PutEventsCommand(entries))))).toEqual(plain(expected));
    const published = await wired.clock.run(() => clients.sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:111122223333:t', Subject: 's', Message: 'hello' })));
    expect(published.MessageId).toBe('sim-1');
    expect(wired.account.notifications).toEqual(['hello']);
  });
});
