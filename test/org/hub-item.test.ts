/**
 * The hub's item handler over a simulated organization: each (account, region) is a fresh simulated
 * account (bench/sim, through its public API), entered through a mocked STS AssumeRole. One account's
 * role is missing (AccessDenied), one is throttled; both must come back as data, not as a failed run.
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { mockClient } from 'aws-sdk-client-mock';
import { createWorld } from '../../bench/drive';
import { SimAwsError, type SimAccountOptions } from '../../bench/sim/account';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';
import { createClients } from '../../lambda/aws/clients';
import { type HubItemEvent, type HubItemResult, parseHubSettings, totalsOf } from '../../lambda/core/fleet/hub';
import { parseSettings } from '../../lambda/core/settings';
import { createHubItemHandler, tagAuditEvents } from '../../lambda/handlers/hub-item';

const OK = '111111111111';
const MISSING = '222222222222';
const THROTTLED = '333333333333';
const sts = mockClient(STSClient);
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

beforeEach(() => sts.reset());
afterAll(() => sts.restore());

/** Runs one account-region to the end the way the state machine's loop does, in its own simulated account. */
async function runItem(item: HubItemEvent, n: number, slicePages: number, env: Record<string, string> = {}, accountOptions: SimAccountOptions = {}) {
  const world = createWorld(n, { vanishing: 0 }, accountOptions);
  const roles: string[] = [];
  sts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string }) => {
    roles.push(input.RoleArn);
    const account = input.RoleArn.split(':')[4];
    if (account === MISSING) throw new SimAwsError('AccessDenied', 'not authorized to perform: sts:AssumeRole', 403);
    if (account === THROTTLED) throw new SimAwsError('Throttling', 'Rate exceeded');
    return { Credentials: { AccessKeyId: `AKID${account}`, SecretAccessKey: 'secret', SessionToken: 'token' } };
  });
  const handler = createHubItemHandler({
    settings: parseSettings({ ...SIM_DOCUMENT_PINS, ...env }),
    hub: { ...parseHubSettings({}, 'us-east-1'), slicePages },
    partition: 'aws',
    clock: world.clock,
    logger: quiet,
    metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }),
    sts: new STSClient({ region: 'us-east-1' }),
    clientsFor: (region, credentials) => createClients({ region, credentials }),
    centralEvents: world.clients.eventbridge,
    continuationKey: async () => new Uint8Array(32).fill(7),
  });
  const results: HubItemResult[] = [];
  try {
    await world.clock.run(async () => {
      let request: HubItemEvent = item;
      for (let i = 0; i < 50; i++) {
        const r = await handler(request, { getRemainingTimeInMillis: () => 900_000 });
        results.push(r);
        if (r.done) return;
        request = { ...item, sliceToken: r.sliceToken, continuation: r.continuation, carry: r.counts, slices: r.slices };
      }
      throw new Error('the loop did not end');
    });
  } finally {
    world.account.restore();
  }
  return { results, last: results[results.length - 1]!, world, roles };
}

describe('hub item handler over a simulated organization', () => {
  it('checks an account-region under the spoke role and sums its slices (one slice per EC2 page)', async () => {
    const { results, last, world, roles } = await runItem({ accountId: OK, region: 'eu-west-1', mode: 'check' }, 2500, 1);
    expect(roles[0]).toBe(`arn:aws:iam::${OK}:role/TimeSyncGuardSpoke`);
    expect(results).toHaveLength(3);
    expect(results.map((r) => r.slices)).toEqual([1, 2, 3]);
    expect(last).toMatchObject({ status: 'ok', done: true, sliceToken: null, reason: null });
    expect(last.counts?.instancesSeen).toBe(2500);
    expect(last.counts?.instancesChecked).toBeGreaterThan(2000);
    // A slice lists only its page and asks SSM only about that page's instances.
    expect(world.account.stats.calls['DescribeInstances']).toBe(3);
  });

  it('reports a missing spoke role as access-denied for that account, without throwing', async () => {
    const { last } = await runItem({ accountId: MISSING, region: 'eu-west-1', mode: 'check' }, 10, 10);
    expect(last).toMatchObject({ status: 'failed', reason: 'access-denied', done: true });
    expect(last.detail).toMatch(/AccessDenied/);
  });

  it('reports a throttled account as throttled after bounded retries', async () => {
    const { last, roles } = await runItem({ accountId: THROTTLED, region: 'eu-west-1', mode: 'check' }, 10, 10);
    expect(last).toMatchObject({ status: 'failed', reason: 'throttled', done: true });
    expect(roles).toHaveLength(4);
  });

  it('refuses an item without a valid account as data', async () => {
    const { last } = await runItem({ accountId: '12', region: 'eu-west-1', mode: 'check' }, 10, 10);
    expect(last).toMatchObject({ status: 'failed', reason: 'error' });
  });

  it('totals a run with two covered regions and two failed accounts, the failures named', async () => {
    const results = [
      [(await runItem({ accountId: OK, region: 'eu-west-1', mode: 'check' }, 300, 10)).last, (await runItem({ accountId: OK, region: 'us-east-1', mode: 'check' }, 200, 10)).last],
      [(await runItem({ accountId: MISSING, region: 'eu-west-1', mode: 'check' }, 5, 10)).last],
      [(await runItem({ accountId: THROTTLED, region: 'eu-west-1', mode: 'check' }, 5, 10)).last],
    ];
    const t = totalsOf(results);
    expect(t.accountRegions).toBe(4);
    expect(t.covered).toBe(2);
    expect(t.counts.instancesSeen).toBe(500);
    expect(t.byAccount[OK]?.instancesSeen).toBe(500);
    expect(t.notCovered.map((x) => `${x.accountId}:${x.reason}`).sort()).toEqual([`${MISSING}:access-denied`, `${THROTTLED}:throttled`]);
  });

  it('remediates a member account with the nightly engine, audited on the central bus', async () => {
    const { last, world } = await runItem({ accountId: OK, region: 'eu-west-1', mode: 'remediate' }, 200, 10);
    expect(last).toMatchObject({ status: 'ok', done: true });
    expect(world.account.modified.size).toBeGreaterThan(0);
    expect(world.account.lowered).toBe(0);
    expect(world.account.eventCount).toBeGreaterThan(0);
  });

  it('a launch run (remediateOnLaunch) remediates only the instances its item names, with the guards of the nightly engine (dry run shown here) and audit', async () => {
    const all = await runItem({ accountId: OK, region: 'eu-west-1', mode: 'remediate' }, 200, 10);
    const fixedByNightly = [...all.world.account.modified.keys()];
    expect(fixedByNightly.length).toBeGreaterThan(1);
    const chosen = fixedByNightly.slice(0, 1);
    const target = { accountId: OK, region: 'eu-west-1', trigger: 'launch', instanceIds: chosen };
    const { last, world } = await runItem({ accountId: OK, region: 'eu-west-1', mode: 'remediate', target }, 200, 10);
    expect(last).toMatchObject({ status: 'ok', done: true });
    expect([...world.account.modified.keys()]).toEqual(chosen);
    expect(world.account.eventCount).toBeGreaterThan(0);
    // dryRun: planned and audited, nothing changed.
    const dry = await runItem({ accountId: OK, region: 'eu-west-1', mode: 'remediate', target }, 200, 10, { TSG_DRY_RUN: 'true' });
    expect(dry.last).toMatchObject({ status: 'ok', done: true });
    expect(dry.world.account.modified.size).toBe(0);
  });

  it('a launch run whose item names no valid instance list is refused as remediation-failed, never widened to the region', async () => {
    const { last, world } = await runItem({ accountId: OK, region: 'eu-west-1', mode: 'remediate', target: { accountId: OK, region: 'eu-west-1', trigger: 'launch', instanceIds: [] } }, 50, 10);
    expect(last).toMatchObject({ status: 'failed', reason: 'remediation-failed', done: true });
    expect(last.detail).toMatch(/instanceIds is empty/);
    expect(world.account.modified.size).toBe(0);
  });

  it.each(['check', 'remediate'] as const)('%s: names the pinned DocumentHash (Sha256) on every SendCommand in the member account', async (mode) => {
    const { last, world } = await runItem({ accountId: OK, region: 'eu-west-1', mode }, 120, 10);
    expect(last).toMatchObject({ status: 'ok', done: true });
    // The simulated SSM keeps what each command named (the mocks' call history is trimmed in long runs).
    const sends = [...world.account.commands.values()];
    expect(sends.length).toBeGreaterThan(0);
    const pins: Record<string, string> = {
      'TimeSyncGuard-Collect': SIM_DOCUMENT_PINS.TSG_COLLECTOR_DOCUMENT_HASH,
      'TimeSyncGuard-Remediate': SIM_DOCUMENT_PINS.TSG_REMEDIATION_DOCUMENT_HASH,
      'TimeSyncGuard-Remediate-Windows': SIM_DOCUMENT_PINS.TSG_WINDOWS_REMEDIATION_DOCUMENT_HASH,
    };
    for (const c of sends) expect(c.documentHash).toBe(pins[c.documentName]);
    if (mode === 'remediate') expect(new Set(sends.map((c) => c.documentName))).toEqual(new Set(['TimeSyncGuard-Collect', 'TimeSyncGuard-Remediate', 'TimeSyncGuard-Remediate-Windows']));
  });

  it.each`
    mode           | document
    ${'check'}     | ${'TimeSyncGuard-Collect'}
    ${'remediate'} | ${'TimeSyncGuard-Collect'}
    ${'remediate'} | ${'TimeSyncGuard-Remediate'}
    ${'remediate'} | ${'TimeSyncGuard-Remediate-Windows'}
  `('$mode: refuses an account whose $document differs (changed in place): document-mismatch, nothing sent, nothing changed', async ({ mode, document }) => {
    const other = 'e'.repeat(64);
    const { last, world } = await runItem({ accountId: OK, region: 'eu-west-1', mode }, 50, 10, {}, { documentHashes: { [document]: other } });
    expect(last).toMatchObject({ status: 'failed', reason: 'document-mismatch', done: true, counts: null });
    expect(last.detail).toContain(`document ${document} is not the one the documents StackSet deploys`);
    expect(last.detail).toContain(other);
    expect(world.account.stats.calls['SendCommand'] ?? 0).toBe(0);
    expect(world.account.stats.calls['DescribeInstances'] ?? 0).toBe(0);
    expect(world.account.modified.size).toBe(0);
  });

  it('refuses an account-region where the document does not exist (a region the StackSet does not cover)', async () => {
    const { last, world } = await runItem({ accountId: OK, region: 'sa-east-1', mode: 'check' }, 20, 10, {}, { failures: { DescribeDocument: [new SimAwsError('InvalidDocument', 'The specified document does not exist.')] } });
    expect(last).toMatchObject({ status: 'failed', reason: 'document-mismatch' });
    expect(last.detail).toMatch(/document TimeSyncGuard-Collect does not exist there/);
    expect(world.account.stats.calls['SendCommand'] ?? 0).toBe(0);
  });

  it('the test can fail: with the member document as pinned, the same account is covered', async () => {
    const { last } = await runItem({ accountId: OK, region: 'eu-west-1', mode: 'check' }, 20, 10, {}, { documentHashes: { 'TimeSyncGuard-Collect': SIM_DOCUMENT_PINS.TSG_COLLECTOR_DOCUMENT_HASH } });
    expect(last).toMatchObject({ status: 'ok', reason: null });
  });

  it('adds the account and region to every audit detail it forwards', async () => {
    const sent: PutEventsCommand[] = [];
    const events = tagAuditEvents({ send: (async (c: PutEventsCommand) => (sent.push(c), {})) as never }, OK, 'eu-west-1');
    await events.send(new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'd', Detail: '{"runId":"r"}' }] }));
    expect(JSON.parse(sent[0]!.input.Entries![0]!.Detail!)).toEqual({ runId: 'r', accountId: OK, region: 'eu-west-1' });
  });

  it.each(['check', 'remediate'] as const)('%s: drives an organization of three accounts × two regions, the missing and the throttled account reported as such', async (mode) => {
    const results: HubItemResult[][] = [];
    let modified = 0;
    let lowered = 0;
    for (const accountId of [OK, MISSING, THROTTLED]) {
      const perRegion: HubItemResult[] = [];
      for (const region of ['eu-west-1', 'ap-southeast-2']) {
        const { last, world } = await runItem({ accountId, region, mode }, 120, 10);
        perRegion.push(last);
        modified += world.account.modified.size;
        lowered += world.account.lowered;
      }
      results.push(perRegion);
    }
    const t = totalsOf(results);
    expect(t.accountRegions).toBe(6);
    expect(t.covered).toBe(2);
    expect(t.notCovered.map((x) => `${x.accountId}/${x.region}:${x.reason}`).sort()).toEqual([
      `${MISSING}/ap-southeast-2:access-denied`,
      `${MISSING}/eu-west-1:access-denied`,
      `${THROTTLED}/ap-southeast-2:throttled`,
      `${THROTTLED}/eu-west-1:throttled`,
    ]);
    expect(results[0]!.map((r) => [r.region, r.status, r.mode])).toEqual([
      ['eu-west-1', 'ok', mode],
      ['ap-southeast-2', 'ok', mode],
    ]);
    if (mode === 'check') expect(t.counts.instancesSeen).toBe(240);
    else expect(modified).toBeGreaterThan(0);
    expect(lowered).toBe(0);
  });
});
