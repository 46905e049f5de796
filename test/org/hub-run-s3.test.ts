/**
 * hub-run with its run bucket: the item list the distributed Map's ItemReader reads is written to S3
 * (the execution state holds only its key), the summary reads the ResultWriter's manifest and result
 * files back (bench/sim/distributed-map.ts writes them in Step Functions' format), and the overlap
 * guard stops every run but the earliest RUNNING one with an audit event.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { mockClient } from 'aws-sdk-client-mock';
import { runDistributedMap } from '../../bench/sim/distributed-map';
import { SimS3 } from '../../bench/sim/s3';
import { VirtualClock } from '../../lambda/aws/clock';
import { HUB_ENV, HUB_SKIPPED_DETAIL_TYPE, parseHubSettings } from '../../lambda/core/fleet/hub';
import { blockingRun, parseManifest, reconcile, resultsOfFile } from '../../lambda/core/fleet/hub-run-data';
import { parseSettings } from '../../lambda/core/settings';
import { createHubRunHandler, type HubExecution } from '../../lambda/handlers/hub-run';

const BUCKET = 'run-bucket';
const SM = 'arn:aws:states:eu-west-1:111122223333:stateMachine:Hub';
const exec = (name: string, startTime: string): HubExecution => ({ executionArn: `arn:aws:states:eu-west-1:111122223333:execution:Hub:${name}`, name, startTime, stateMachineArn: SM });

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

function setup(accounts: string[], regions = ['eu-west-1', 'us-east-1']) {
  const logs: string[] = [];
  const log = (message: string) => logs.push(message);
  const published: Record<string, unknown>[] = [];
  const handler = createHubRunHandler({
    settings: parseSettings({}),
    hub: parseHubSettings({ [HUB_ENV.accounts]: accounts.join(','), [HUB_ENV.regions]: regions.join(','), [HUB_ENV.runBucket]: BUCKET }, 'eu-west-1'),
    clock: new VirtualClock(),
    logger: { info: log, warn: log, error: log },
    metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }),
    organizations: new OrganizationsClient({ region: 'us-east-1' }),
    events: new EventBridgeClient({ region: 'eu-west-1' }),
    notifier: { publish: async (_subject, summary) => (published.push(summary), true) },
    s3: new S3Client({ region: 'eu-west-1' }),
    sfn: new SFNClient({ region: 'eu-west-1' }),
  });
  return { handler, logs, published };
}

const running = (...e: HubExecution[]) => sfn.on(ListExecutionsCommand).resolves({ executions: e.map((x) => ({ executionArn: x.executionArn, stateMachineArn: SM, name: x.name, status: 'RUNNING', startDate: new Date(x.startTime) })) });
const accountsOf = (n: number) => Array.from({ length: n }, (_, i) => String(100000000000 + i));

describe('hub-run list with a run bucket', () => {
  it('writes every account-region to S3 and hands the state machine only the key (the state stays small at 10,000 items)', async () => {
    const first = exec('first', '2026-12-07T10:00:00.000Z');
    running(first);
    const { handler } = setup(accountsOf(2500), ['eu-west-1', 'us-east-1', 'ap-southeast-2', 'sa-east-1']);
    const listing = await handler({ action: 'list', mode: 'check', execution: first });
    expect(listing).toMatchObject({ overlap: null, bucket: BUCKET, itemsKey: 'runs/first/items.json', summaryKey: 'runs/first/summary.json', accountRegions: 10_000, mode: 'check' });
    expect(JSON.stringify(listing).length).toBeLessThan(1000);
    const items = JSON.parse(s3.get(BUCKET, 'runs/first/items.json')!) as { accountId: string; region: string }[];
    expect(items).toHaveLength(10_000);
    expect(items[0]).toEqual({ accountId: '100000000000', region: 'eu-west-1' });
    expect(new Set(items.map((i) => `${i.accountId}/${i.region}`)).size).toBe(10_000);
  });
});

describe('the overlap guard', () => {
  it('stops a run while an earlier one is RUNNING, with an audit event naming both, and lists nothing', async () => {
    const first = exec('first', '2026-12-07T10:00:00.000Z');
    const second = exec('second', '2026-12-07T11:00:00.000Z');
    running(second, first);
    const { handler, logs } = setup(accountsOf(3));
    const out = await handler({ action: 'list', mode: 'check', execution: second });
    expect(out).toMatchObject({ overlap: first.executionArn });
    expect(s3.calls.PutObject ?? 0).toBe(0);
    expect(logs).toContain('hub-run-skipped');
    const entry = events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    expect(entry.DetailType).toBe(HUB_SKIPPED_DETAIL_TYPE);
    expect(JSON.parse(entry.Detail!)).toMatchObject({ reason: 'overlap', executionArn: second.executionArn, runningExecutionArn: first.executionArn });
    // The earlier run itself goes on.
    expect(await handler({ action: 'list', mode: 'check', execution: first })).toMatchObject({ overlap: null });
  });

  it('lets exactly one of two runs started in the same millisecond go on', () => {
    const a = { executionArn: 'arn:a', startDate: 1000 };
    const b = { executionArn: 'arn:b', startDate: 1000 };
    expect(blockingRun(a, [a, b])).toBeUndefined();
    expect(blockingRun(b, [a, b])).toEqual(a);
  });

  it('never starts blind: an unreadable execution list fails the step', async () => {
    sfn.on(ListExecutionsCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const { handler } = setup(accountsOf(1));
    await expect(handler({ action: 'list', execution: exec('x', '2026-12-07T10:00:00.000Z') })).rejects.toThrow('denied');
    expect(s3.calls.PutObject ?? 0).toBe(0);
  });
});

describe('hub-run summarize from the written results', () => {
  async function mapRun(accounts: string[], child: (input: Record<string, unknown>) => unknown, perFile = 2) {
    const first = exec('first', '2026-12-07T10:00:00.000Z');
    running(first);
    const ctx = setup(accounts);
    const listing = await ctx.handler({ action: 'list', mode: 'check', execution: first });
    const map = await runDistributedMap({
      s3,
      bucket: BUCKET,
      itemsKey: String(listing.itemsKey),
      prefix: 'runs',
      stateMachineArn: SM,
      executionName: 'first',
      select: (item) => ({ ...(item as object), mode: 'check' }),
      child: async (input) => ({ output: child(input), durationMs: 1 }),
      perFile,
    });
    return { ...ctx, listing, map };
  }
  const ok = (i: Record<string, unknown>) => ({ ...i, status: 'ok', reason: null, detail: null, done: true, counts: { instancesSeen: 2, instancesAtRisk: 1 } });

  it('reads the manifest and every result file: succeeded, failed as data, a failed child, all named', async () => {
    const accounts = accountsOf(3);
    const { handler, listing, map, published } = await mapRun(accounts, (i) => {
      if (i.accountId === accounts[1]) return { ...i, status: 'failed', reason: 'access-denied', detail: 'AccessDenied', done: true, counts: null };
      if (i.accountId === accounts[2] && i.region === 'us-east-1') throw Object.assign(new Error('Task timed out'), { name: 'States.Timeout' });
      return ok(i);
    });
    expect(map.failed).toBe(1);
    const out = await handler({ action: 'summarize', listing, results: map.output });
    expect(out).toEqual({ covered: 3, accountRegions: 6, notCovered: 3 });
    const full = JSON.parse(s3.get(BUCKET, 'runs/first/summary.json')!) as { notCovered: { accountId: string; region: string; reason: string; detail: string }[]; counts: Record<string, number> };
    expect(full.notCovered.map((f) => `${f.accountId}/${f.region}/${f.reason}`).sort()).toEqual(
      [`${accounts[1]}/eu-west-1/access-denied`, `${accounts[1]}/us-east-1/access-denied`, `${accounts[2]}/us-east-1/error`].sort(),
    );
    expect(full.notCovered.find((f) => f.reason === 'error')!.detail).toMatch(/FAILED: States.Timeout/);
    expect(full.counts).toMatchObject({ instancesSeen: 6, instancesAtRisk: 3 });
    expect(published[0]).toMatchObject({ summaryObject: `s3://${BUCKET}/runs/first/summary.json` });
  });

  it('caps the names in the event and e-mail (256 KB) and keeps them all in S3', async () => {
    const { handler, listing, map, published } = await mapRun(accountsOf(120), (i) => ({ ...i, status: 'failed', reason: 'throttled', detail: 'Rate exceeded', done: true, counts: null }), 1000);
    await handler({ action: 'summarize', listing, results: map.output });
    expect((published[0]!.notCovered as unknown[]).length).toBe(100);
    expect(published[0]).toMatchObject({ truncated: true, notCoveredByReason: { throttled: 240 } });
    expect((JSON.parse(s3.get(BUCKET, 'runs/first/summary.json')!) as { notCovered: unknown[] }).notCovered).toHaveLength(240);
  });

  it('takes nothing as covered when the manifest is unreadable, and names an item whose result is missing', async () => {
    const { handler, listing, map } = await mapRun(accountsOf(2), ok);
    s3.put(BUCKET, map.output.ResultWriterDetails.Key, 'not json');
    expect(await handler({ action: 'summarize', listing, results: map.output })).toEqual({ covered: 0, accountRegions: 4, notCovered: 4 });
  });
});

describe('the result file format', () => {
  it('parses a manifest and refuses what is not one', () => {
    expect(parseManifest(JSON.stringify({ DestinationBucket: 'b', MapRunArn: 'm', ResultFiles: { SUCCEEDED: [{ Key: 'k1', Size: 3 }], FAILED: [], PENDING: [] } }))).toEqual({
      destinationBucket: 'b',
      files: { SUCCEEDED: ['k1'], FAILED: [], PENDING: [] },
    });
    expect(parseManifest('[]')).toBeUndefined();
    expect(parseManifest('{')).toBeUndefined();
  });

  it('never takes an unreadable output for ok, and drops a row it cannot attribute', () => {
    const rows = [
      { Status: 'SUCCEEDED', Input: '{"accountId":"111111111111","region":"eu-west-1"}', Output: 'garbage' },
      { Status: 'SUCCEEDED', Input: 'garbage', Output: 'garbage' },
    ];
    const { results, unreadable } = resultsOfFile(JSON.stringify(rows));
    expect(results).toEqual([expect.objectContaining({ accountId: '111111111111', status: 'failed', reason: 'error' })]);
    expect(unreadable).toBe(1);
    expect(reconcile([{ accountId: '222222222222', region: 'eu-west-1' }], results)).toEqual([expect.objectContaining({ accountId: '222222222222', status: 'failed' })]);
  });
});

describe('a launch run (remediateOnLaunch) lists its one account-region', () => {
  const ACCOUNT = '111111111111';
  const ID = 'i-0123456789abcdef0';
  const launchInput = (o: Record<string, unknown> = {}) => ({ mode: 'remediate', trigger: 'launch', accountId: ACCOUNT, region: 'eu-west-1', instanceIds: [ID], ...o });
  const launchHub = () => setup([ACCOUNT, '222222222222']);

  it('writes one item, the account-region with its instances, and marks the listing as a launch run', async () => {
    const self = exec('launch-20261207T100000000Z-abc', '2026-12-07T10:00:00.000Z');
    running(self);
    const listing = await launchHub().handler({ action: 'list', mode: 'remediate', execution: self, input: launchInput() });
    expect(listing).toMatchObject({ overlap: null, mode: 'remediate', trigger: 'launch', accountRegions: 1, regions: ['eu-west-1'] });
    expect(JSON.parse(s3.get(BUCKET, 'runs/launch-20261207T100000000Z-abc/items.json')!)).toEqual([{ accountId: ACCOUNT, region: 'eu-west-1', trigger: 'launch', instanceIds: [ID] }]);
  });

  it('refuses a bad scope by failing the run (the failed-execution alarm), listing nothing', async () => {
    const self = exec('x', '2026-12-07T10:00:00.000Z');
    running(self);
    await expect(launchHub().handler({ action: 'list', mode: 'remediate', execution: self, input: launchInput({ instanceIds: [] }) })).rejects.toThrow(/launch remediation request refused: instanceIds is empty/);
    expect(s3.get(BUCKET, 'runs/x/items.json')).toBeUndefined();
  });

  it('a launch run yields to an earlier nightly run (audit event, its instances wait for that run)', async () => {
    const nightly = exec('nightly', '2026-12-07T02:00:00.000Z');
    const self = exec('launch-20261207T020500000Z-abc', '2026-12-07T02:05:00.000Z');
    running(nightly, self);
    const listing = await launchHub().handler({ action: 'list', mode: 'remediate', execution: self, input: launchInput() });
    expect(listing).toMatchObject({ overlap: nightly.executionArn });
    const detail = JSON.parse(events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!.Detail!) as Record<string, unknown>;
    expect(events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!.DetailType).toBe(HUB_SKIPPED_DETAIL_TYPE);
    expect(detail).toMatchObject({ reason: 'overlap', trigger: 'launch', accountId: ACCOUNT, instanceIds: [ID], runningExecutionArn: nightly.executionArn });
  });

  it('a scheduled run goes on beside an earlier launch run (one account\'s launch never costs the organization its check)', async () => {
    const launch = exec('launch-20261207T095900000Z-abc', '2026-12-07T09:59:00.000Z');
    const hourly = exec('hourly', '2026-12-07T10:00:00.000Z');
    running(launch, hourly);
    const listing = await launchHub().handler({ action: 'list', mode: 'check', execution: hourly, input: { mode: 'check' } });
    expect(listing).toMatchObject({ overlap: null, accountRegions: 4 });
  });
});
