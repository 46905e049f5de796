/**
 * remediateOnLaunch in the organization hub: hub-launch starts the hub's own state machine for one
 * account-region (a launch run), hub-run lists just that item (and refuses any other scope, never
 * widening it to the organization), and the overlap guard lets a launch run yield to every earlier
 * run while scheduled runs ignore launch runs.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ListParentsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { mockClient } from 'aws-sdk-client-mock';
import { createWorld } from '../../bench/drive';
import { SimS3 } from '../../bench/sim/s3';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';
import { createClients } from '../../lambda/aws/clients';
import { VirtualClock } from '../../lambda/aws/clock';
import { HUB_ENV, HUB_SKIPPED_DETAIL_TYPE, parseHubSettings } from '../../lambda/core/fleet/hub';
import { hubRunInput, launchScopeOf, runsToWeigh } from '../../lambda/core/fleet/hub-launch-remediation';
import { EC2_STATE_CHANGE } from '../../lambda/core/fleet/launch';
import { parseLaunchSettings, parseSettings } from '../../lambda/core/settings';
import { createHubLaunchHandler, launchRunStarter } from '../../lambda/handlers/hub-launch';
import { createHubRunHandler, type HubExecution } from '../../lambda/handlers/hub-run';

const ACCOUNT = '111111111111';
const REGIONS = ['eu-west-1', 'us-east-1'];
const ID = 'i-0123456789abcdef0';
const BUCKET = 'run-bucket';
const SM = 'arn:aws:states:eu-west-1:999988887777:stateMachine:Hub';
const exec = (name: string, startTime: string): HubExecution => ({ executionArn: `${SM.replace(':stateMachine:', ':execution:')}:${name}`, name, startTime, stateMachineArn: SM });
const launchInput = (o: Record<string, unknown> = {}) => ({ mode: 'remediate', trigger: 'launch', accountId: ACCOUNT, region: 'eu-west-1', instanceIds: [ID], ...o });

describe('what started a run (hubRunInput)', () => {
  it('reads the schedules\' { mode } as a scheduled run and a launch request as a launch run of one account-region', () => {
    expect(hubRunInput({ mode: 'check' }, REGIONS)).toEqual({ kind: 'scheduled' });
    expect(hubRunInput(undefined, REGIONS)).toEqual({ kind: 'scheduled' });
    expect(hubRunInput(launchInput({ instanceIds: [ID, ID] }), REGIONS)).toEqual({ kind: 'launch', item: { accountId: ACCOUNT, region: 'eu-west-1', trigger: 'launch', instanceIds: [ID] } });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['ids without the launch trigger', { mode: 'remediate', instanceIds: [ID] }, /trigger is undefined/],
    ['another trigger', launchInput({ trigger: 'urgent' }), /trigger is "urgent"/],
    ['a launch check run', launchInput({ mode: 'check' }), /must be a remediation/],
    ['a malformed account', launchInput({ accountId: '1234' }), /accountId/],
    ['a region the hub does not cover', launchInput({ region: 'sa-east-1' }), /not one the hub covers/],
    ['no instance list', launchInput({ instanceIds: null }), /instanceIds is null/],
    ['an empty list', launchInput({ instanceIds: [] }), /instanceIds is empty/],
    ['a malformed id', launchInput({ instanceIds: ['i-x; rm'] }), /not an EC2 instance id/],
  ])('refuses %s (never widened to the organization)', (_what, input, reason) => {
    const r = hubRunInput(input, REGIONS);
    expect(r.kind).toBe('refused');
    expect(r.kind === 'refused' && r.reason).toMatch(reason);
  });

  it('hands hub-item the launch scope of a launch item only', () => {
    expect(launchScopeOf({ accountId: ACCOUNT, region: 'eu-west-1' })).toBeUndefined();
    expect(launchScopeOf(undefined)).toBeUndefined();
    expect(launchScopeOf({ accountId: ACCOUNT, region: 'eu-west-1', trigger: 'launch', instanceIds: [ID] })).toEqual({ trigger: 'launch', instanceIds: [ID] });
    // A list without the trigger is still a scoped request: the remediation validates it, never runs the whole region for it.
    expect(launchScopeOf({ instanceIds: 'all' })).toEqual({ trigger: 'launch', instanceIds: 'all' });
  });

  it('weighs launch runs only for a launch run', () => {
    const launch = { executionArn: `${exec('launch-20261207T100000000Z-abc', '').executionArn}`, startDate: 1 };
    const nightly = { executionArn: exec('0f2c-nightly', '').executionArn, startDate: 2 };
    expect(runsToWeigh(false, [launch, nightly])).toEqual([nightly]);
    expect(runsToWeigh(true, [launch, nightly])).toEqual([launch, nightly]);
  });
});

describe('hub-run: a launch run lists its one account-region', () => {
  const sfn = mockClient(SFNClient);
  const events = mockClient(EventBridgeClient);
  let s3: SimS3;
  beforeEach(() => {
    sfn.reset();
    events.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
    s3 = new SimS3().install();
  });
  afterEach(() => s3.restore());
  afterAll(() => {
    sfn.restore();
    events.restore();
  });
  const running = (...e: HubExecution[]) => sfn.on(ListExecutionsCommand).resolves({ executions: e.map((x) => ({ executionArn: x.executionArn, stateMachineArn: SM, name: x.name, status: 'RUNNING', startDate: new Date(x.startTime) })) });
  const handler = () =>
    createHubRunHandler({
      settings: parseSettings({}),
      hub: parseHubSettings({ [HUB_ENV.accounts]: `${ACCOUNT},222222222222`, [HUB_ENV.regions]: REGIONS.join(','), [HUB_ENV.runBucket]: BUCKET }, 'eu-west-1'),
      clock: new VirtualClock(),
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }),
      organizations: new OrganizationsClient({ region: 'us-east-1' }),
      events: new EventBridgeClient({ region: 'eu-west-1' }),
      notifier: { publish: async () => true },
      s3: new S3Client({ region: 'eu-west-1' }),
      sfn: new SFNClient({ region: 'eu-west-1' }),
    });

  it('writes one item, the account-region with its instances, and marks the listing as a launch run', async () => {
    const self = exec('launch-20261207T100000000Z-abc', '2026-12-07T10:00:00.000Z');
    running(self);
    const listing = await handler()({ action: 'list', mode: 'remediate', execution: self, input: launchInput() });
    expect(listing).toMatchObject({ overlap: null, mode: 'remediate', trigger: 'launch', accountRegions: 1, regions: ['eu-west-1'] });
    expect(JSON.parse(s3.get(BUCKET, 'runs/launch-20261207T100000000Z-abc/items.json')!)).toEqual([{ accountId: ACCOUNT, region: 'eu-west-1', trigger: 'launch', instanceIds: [ID] }]);
  });

  it('refuses a bad scope by failing the run (the failed-execution alarm), listing nothing', async () => {
    const self = exec('x', '2026-12-07T10:00:00.000Z');
    running(self);
    await expect(handler()({ action: 'list', mode: 'remediate', execution: self, input: launchInput({ instanceIds: [] }) })).rejects.toThrow(/launch remediation request refused: instanceIds is empty/);
    expect(s3.get(BUCKET, 'runs/x/items.json')).toBeUndefined();
  });

  it('a launch run yields to an earlier nightly run (audit event, its instances wait for that run)', async () => {
    const nightly = exec('nightly', '2026-12-07T02:00:00.000Z');
    const self = exec('launch-20261207T020500000Z-abc', '2026-12-07T02:05:00.000Z');
    running(nightly, self);
    const listing = await handler()({ action: 'list', mode: 'remediate', execution: self, input: launchInput() });
    expect(listing).toMatchObject({ overlap: nightly.executionArn });
    const detail = JSON.parse(events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!.Detail!) as Record<string, unknown>;
    expect(events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!.DetailType).toBe(HUB_SKIPPED_DETAIL_TYPE);
    expect(detail).toMatchObject({ reason: 'overlap', trigger: 'launch', accountId: ACCOUNT, instanceIds: [ID], runningExecutionArn: nightly.executionArn });
  });

  it('a scheduled run goes on beside an earlier launch run (one account\'s launch never costs the organization its check)', async () => {
    const launch = exec('launch-20261207T095900000Z-abc', '2026-12-07T09:59:00.000Z');
    const hourly = exec('hourly', '2026-12-07T10:00:00.000Z');
    running(launch, hourly);
    const listing = await handler()({ action: 'list', mode: 'check', execution: hourly, input: { mode: 'check' } });
    expect(listing).toMatchObject({ overlap: null, accountRegions: 4 });
  });
});

describe('hub-launch: at-risk launches start a launch run of the hub', () => {
  const sts = mockClient(STSClient);
  const orgs = mockClient(OrganizationsClient);
  const sqs = mockClient(SQSClient);
  afterAll(() => {
    sts.restore();
    orgs.restore();
    sqs.restore();
  });

  it('wraps the single-account request with the account-region and mode', async () => {
    const calls: [Record<string, unknown>, string | undefined][] = [];
    const start = launchRunStarter(async (input, name) => (calls.push([input, name]), 'arn:exec'), ACCOUNT, 'eu-west-1');
    await start({ trigger: 'launch', instanceIds: [ID] }, 'launch-1');
    expect(calls).toEqual([[{ mode: 'remediate', trigger: 'launch', accountId: ACCOUNT, region: 'eu-west-1', instanceIds: [ID] }, 'launch-1']]);
  });

  it.each([true, false])('a covered account\'s at-risk launches → one launch run named launch-… (remediateOnLaunch %s)', async (remediateOnLaunch) => {
    sts.reset();
    orgs.reset();
    sqs.reset();
    sqs.on(SendMessageCommand).resolves({ MessageId: 'x' });
    orgs.on(ListParentsCommand).resolves({ Parents: [] });
    sts.on(AssumeRoleCommand).resolves({ Credentials: { AccessKeyId: 'AKID', SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(3_600_000) } });
    const world = createWorld(60, { vanishing: 0 });
    const started: Record<string, unknown>[] = [];
    const names: (string | undefined)[] = [];
    const handler = createHubLaunchHandler({
      settings: parseLaunchSettings({ ...SIM_DOCUMENT_PINS, TSG_REMEDIATE_ON_LAUNCH: String(remediateOnLaunch), TSG_LAUNCH_SSM_WAIT_SECONDS: '0' }),
      hub: parseHubSettings({ TSG_HUB_ACCOUNTS: ACCOUNT, TSG_HUB_REGIONS: REGIONS.join(',') }, 'eu-west-1'),
      partition: 'aws',
      clock: world.clock,
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }),
      sts: new STSClient({ region: 'eu-west-1' }),
      organizations: new OrganizationsClient({ region: 'us-east-1' }),
      clientsFor: (region, credentials) => createClients({ region, credentials }),
      sqs: new SQSClient({ region: 'eu-west-1' }),
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/999988887777/launch',
      startRemediation: async (input, name) => (started.push(input), names.push(name), 'arn:aws:states:eu-west-1:999988887777:execution:Hub:x'),
    });
    const time = new Date(world.clock.now()).toISOString();
    const records = world.fleet.map((f, i) => ({
      messageId: `m${i}`,
      body: JSON.stringify({ source: 'aws.ec2', 'detail-type': EC2_STATE_CHANGE, account: ACCOUNT, region: 'eu-west-1', time, detail: { 'instance-id': f.id, state: 'running' } }),
    }));
    try {
      await world.clock.run(() => handler({ Records: records }, { getRemainingTimeInMillis: () => 300_000 }));
    } finally {
      world.account.restore();
    }
    if (!remediateOnLaunch) {
      expect(started).toEqual([]);
      return;
    }
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ mode: 'remediate', trigger: 'launch', accountId: ACCOUNT, region: 'eu-west-1' });
    const ids = started[0]!.instanceIds as string[];
    expect(ids.length).toBeGreaterThan(0);
    // What hub-run will accept: the same request through its own reader.
    expect(hubRunInput(started[0], REGIONS).kind).toBe('launch');
    expect(names[0]).toMatch(/^launch-/);
    // Nothing changed by the launch path itself: the run does the remediation.
    expect(world.account.modified.size).toBe(0);
  }, 60_000);
});
