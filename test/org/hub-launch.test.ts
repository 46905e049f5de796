/**
 * The hub's launch check over a simulated member account (bench/sim, entered through a mocked STS
 * AssumeRole): an EC2 `running` event a member account forwarded is checked there under the spoke
 * role by the single-account launch handler; an event of an account the hub does not cover, or of a
 * region it does not cover, is refused before anything is entered; retries keep their account-region.
 */
import { ListParentsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { mockClient } from 'aws-sdk-client-mock';
import { createWorld } from '../../bench/drive';
import { SimAwsError } from '../../bench/sim/account';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';
import { createClients } from '../../lambda/aws/clients';
import { parseHubSettings } from '../../lambda/core/fleet/hub';
import { HUB_LAUNCH_RETRY_KIND, routeLaunchMessage } from '../../lambda/core/fleet/hub-launch';
import { EC2_STATE_CHANGE, LAUNCH_RETRY_KIND } from '../../lambda/core/fleet/launch';
import { parseLaunchSettings } from '../../lambda/core/settings';
import { createHubLaunchHandler, launchRunStarter } from '../../lambda/handlers/hub-launch';
import type { StartExecution } from '../../lambda/aws/start-execution';
import { hubRunInput } from '../../lambda/core/fleet/hub-launch-remediation';

const COVERED = '111111111111';
const IN_OU = '222222222222';
const OUTSIDE = '333333333333';
const THROTTLED = '444444444444';
const OU = 'ou-ab12-aaaaaaaa';
const sts = mockClient(STSClient);
const orgs = mockClient(OrganizationsClient);
const sqs = mockClient(SQSClient);
afterAll(() => {
  sts.restore();
  orgs.restore();
  sqs.restore();
});

const event = (account: string, region: string, instanceId: string, time: string) =>
  JSON.stringify({ source: 'aws.ec2', 'detail-type': EC2_STATE_CHANGE, account, region, time, detail: { 'instance-id': instanceId, state: 'running' } });

async function run(records: { messageId: string; body: string }[], o: { env?: Record<string, string>; instances?: number; startRemediation?: StartExecution } = {}) {
  sts.reset();
  orgs.reset();
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'x' });
  orgs.on(ListParentsCommand, { ChildId: IN_OU }).resolves({ Parents: [{ Id: OU, Type: 'ORGANIZATIONAL_UNIT' }] });
  orgs.on(ListParentsCommand, { ChildId: OUTSIDE }).resolves({ Parents: [{ Id: 'ou-ab12-zzzzzzzz', Type: 'ORGANIZATIONAL_UNIT' }] });
  orgs.on(ListParentsCommand, { ChildId: THROTTLED }).resolves({ Parents: [{ Id: OU, Type: 'ORGANIZATIONAL_UNIT' }] });
  const assumed: string[] = [];
  sts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string }) => {
    assumed.push(input.RoleArn);
    if (input.RoleArn.includes(THROTTLED)) throw new SimAwsError('Throttling', 'Rate exceeded');
    return { Credentials: { AccessKeyId: 'AKID', SecretAccessKey: 's', SessionToken: 't' } };
  });
  const world = createWorld(o.instances ?? 3, { vanishing: 0 });
  const logs: { m: string; x: Record<string, unknown> }[] = [];
  const log = (m: string, x: Record<string, unknown> = {}) => logs.push({ m, x });
  const handler = createHubLaunchHandler({
    settings: parseLaunchSettings({ ...SIM_DOCUMENT_PINS, ...o.env }),
    hub: parseHubSettings({ TSG_HUB_ACCOUNTS: COVERED, TSG_HUB_OUS: OU, TSG_HUB_REGIONS: 'eu-west-1,us-east-1' }, 'eu-west-1'),
    partition: 'aws',
    clock: world.clock,
    logger: { info: log, warn: log, error: log },
    metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }),
    sts: new STSClient({ region: 'eu-west-1' }),
    organizations: new OrganizationsClient({ region: 'us-east-1' }),
    clientsFor: (region, credentials) => createClients({ region, credentials }),
    sqs: new SQSClient({ region: 'eu-west-1' }),
    queueUrl: 'https://sqs.eu-west-1.amazonaws.com/999988887777/launch',
    ...(o.startRemediation ? { startRemediation: o.startRemediation } : {}),
  });
  const id = world.fleet[0]!.id;
  // '$ALL': one message per instance of the simulated account.
  if (records.length === 1 && records[0]!.body.includes('$ALL')) records = world.fleet.map((f, i) => ({ messageId: `m${i}`, body: records[0]!.body.replace('$ALL', f.id) }));
  const time = new Date(world.clock.now()).toISOString();
  try {
    const result = await world.clock.run(() => handler({ Records: records.map((r) => ({ ...r, body: r.body.replace('$ID', id).replace('$TIME', time) })) }, { getRemainingTimeInMillis: () => 300_000 }));
    const sent = sqs.commandCalls(SendMessageCommand).map((c) => JSON.parse(c.args[0].input.MessageBody!) as Record<string, unknown>);
    return { result, assumed, logs, id, sent, world };
  } finally {
    world.account.restore();
  }
}

describe('hub launch check', () => {
  it('checks a covered account\'s launch there, under the spoke role, with the account-region on every record', async () => {
    const { result, assumed, logs, id, sent } = await run([{ messageId: 'm1', body: event(COVERED, 'eu-west-1', '$ID', '$TIME') }]);
    expect(assumed).toEqual([`arn:aws:iam::${COVERED}:role/TimeSyncGuardSpoke`]);
    expect(result.refused).toBe(0);
    expect(result.reported + result.requeued).toBe(1);
    // A retry keeps its account-region around the single-account retry message.
    for (const m of sent) expect(m).toMatchObject({ kind: HUB_LAUNCH_RETRY_KIND, accountId: COVERED, region: 'eu-west-1', message: { kind: LAUNCH_RETRY_KIND } });
    expect(sent).toHaveLength(result.requeued);
    const record = logs.find((l) => (l.m === 'instance' || l.m === 'instance-pending') && l.x.instanceId === id);
    expect(record?.x).toMatchObject({ accountId: COVERED, region: 'eu-west-1', trigger: 'launch' });
  }, 60_000);

  it('admits an account directly under one of the OUs (ListParents) and refuses one elsewhere in the organization, entering nothing', async () => {
    const { result, assumed, logs } = await run([
      { messageId: 'in', body: event(IN_OU, 'us-east-1', '$ID', '$TIME') },
      { messageId: 'out', body: event(OUTSIDE, 'eu-west-1', '$ID', '$TIME') },
    ]);
    expect(assumed).toEqual([`arn:aws:iam::${IN_OU}:role/TimeSyncGuardSpoke`]);
    expect(result.refused).toBe(1);
    expect(logs.find((l) => l.m === 'launch-account-not-covered')?.x).toMatchObject({ accountId: OUTSIDE });
  }, 60_000);

  it('refuses a region the hub does not cover, and a message that is not an EC2 event', async () => {
    const { result, assumed } = await run([
      { messageId: 'r', body: event(COVERED, 'sa-east-1', '$ID', '$TIME') },
      { messageId: 'x', body: JSON.stringify({ source: 'my.app', 'detail-type': EC2_STATE_CHANGE, account: COVERED, region: 'eu-west-1' }) },
    ]);
    expect(assumed).toEqual([]);
    expect(result).toMatchObject({ refused: 2, batchItemFailures: [] });
  }, 60_000);

  it('hands back only the throttled account\'s messages for redelivery', async () => {
    const { result } = await run([
      { messageId: 't', body: event(THROTTLED, 'eu-west-1', '$ID', '$TIME') },
      { messageId: 'ok', body: event(COVERED, 'eu-west-1', '$ID', '$TIME') },
    ]);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 't' }]);
  }, 60_000);
});

describe('routing of the hub launch queue\'s messages', () => {
  it('unwraps a hub retry to the single-account retry of its account-region', () => {
    const inner = { kind: LAUNCH_RETRY_KIND, targets: [{ instanceId: 'i-0123456789abcdef0', attempt: 1, since: 1 }] };
    expect(routeLaunchMessage(JSON.stringify({ kind: HUB_LAUNCH_RETRY_KIND, accountId: COVERED, region: 'eu-west-1', message: inner }))).toEqual({ ok: true, accountId: COVERED, region: 'eu-west-1', body: JSON.stringify(inner) });
    expect(routeLaunchMessage(JSON.stringify({ kind: HUB_LAUNCH_RETRY_KIND, accountId: '12', region: 'eu-west-1', message: inner }))).toMatchObject({ ok: false });
    expect(routeLaunchMessage('not json')).toMatchObject({ ok: false });
  });
});

describe('hub launch check with remediateOnLaunch: at-risk launches start a launch run of the hub', () => {
  it('wraps the single-account request with the account-region and mode', async () => {
    const calls: [Record<string, unknown>, string | undefined][] = [];
    const start = launchRunStarter(async (input, name) => (calls.push([input, name]), 'arn:exec'), COVERED, 'eu-west-1');
    await start({ trigger: 'launch', instanceIds: ['i-0123456789abcdef0'] }, 'launch-1');
    expect(calls).toEqual([[{ mode: 'remediate', trigger: 'launch', accountId: COVERED, region: 'eu-west-1', instanceIds: ['i-0123456789abcdef0'] }, 'launch-1']]);
  });

  it.each([true, false])('a covered account\'s at-risk launches → one launch run named launch-… (remediateOnLaunch %s)', async (remediateOnLaunch) => {
    const started: Record<string, unknown>[] = [];
    const names: (string | undefined)[] = [];
    const { world } = await run([{ messageId: 'all', body: event(COVERED, 'eu-west-1', '$ALL', '$TIME') }], {
      instances: 60,
      env: { TSG_REMEDIATE_ON_LAUNCH: String(remediateOnLaunch), TSG_LAUNCH_SSM_WAIT_SECONDS: '0' },
      startRemediation: async (input, name) => (started.push(input), names.push(name), 'arn:aws:states:eu-west-1:999988887777:execution:Hub:x'),
    });
    // Nothing is changed by the launch path itself: the run it starts does the remediation.
    expect(world.account.modified.size).toBe(0);
    if (!remediateOnLaunch) {
      expect(started).toEqual([]);
      return;
    }
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ mode: 'remediate', trigger: 'launch', accountId: COVERED, region: 'eu-west-1' });
    expect((started[0]!.instanceIds as string[]).length).toBeGreaterThan(0);
    // What hub-run accepts: the same request through its own reader.
    expect(hubRunInput(started[0], ['eu-west-1', 'us-east-1']).kind).toBe('launch');
    expect(names[0]).toMatch(/^launch-/);
  }, 60_000);
});
