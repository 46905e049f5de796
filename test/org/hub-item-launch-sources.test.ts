/**
 * The launch sources in a member account through hub-item (docs/organization.md, docs/launch-templates.md):
 * a simulated member account-region (bench/sim/account.ts for EC2/SSM, bench/sim/launch-templates.ts
 * for its groups, templates and AMIs, wired onto the same EC2 mock) entered through a mocked STS
 * AssumeRole. The check attributes each instance to its template and reports the sources; the nightly
 * run with `launchTemplates: fix` makes the new template version and moves `$Default`, and leaves the
 * CloudFormation template to its stack; the hub sums the source counts over account-regions under
 * the single-account metric names.
 */
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { mockClient } from 'aws-sdk-client-mock';
import { type CommandStub, SimSources } from '../../bench/sim/launch-templates';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';
import { createClients } from '../../lambda/aws/clients';
import { memberLaunchSources } from '../../lambda/aws/member-launch-sources';
import { HUB_SOURCE_METRICS, withSourceCounts } from '../../lambda/core/fleet/hub-sources';
import { HUB_EXTRA_METRICS, type HubItemEvent, type HubItemResult, parseHubSettings, totalsOf } from '../../lambda/core/fleet/hub';
import { parseSettings } from '../../lambda/core/settings';
import { SOURCE_METRICS } from '../../lambda/core/sources/report';
import { createHubItemHandler } from '../../lambda/handlers/hub-item';
import { member, useSimAccount } from '../support/sim';

const MEMBER = '111111111111';
const AMI = 'ami-0000000000000000a';
const sim = useSimAccount();
const sts = mockClient(STSClient);
const autoScaling = mockClient(AutoScalingClient);

beforeEach(() => {
  sts.reset();
  autoScaling.reset();
  sts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string }) => ({ Credentials: { AccessKeyId: `AKID${input.RoleArn.split(':')[4]}`, SecretAccessKey: 'secret', SessionToken: 'token' } }));
});
afterAll(() => {
  sts.restore();
  autoScaling.restore();
});

/**
 * The member account-region: a template at hop limit 1 whose group follows `$Default` (3 instances),
 * a CloudFormation-owned one (2 instances), and the same instances in the EC2/SSM simulation.
 */
function memberAccount(raisedAlready = 0) {
  const sources = new SimSources();
  sources.addImage(AMI);
  const hop1 = { hopLimit: 1, httpTokens: 'optional' as const, httpEndpoint: 'enabled' as const };
  const web = sources.addTemplate('web', [{ imageId: AMI, metadataOptions: hop1 }]);
  sources.addGroup('asg-web', { templateId: web.id, version: '$Default' });
  const iac = sources.addTemplate('stack-web', [{ imageId: AMI, metadataOptions: hop1 }], { tags: { 'aws:cloudformation:stack-name': 'web-stack' } });
  sources.addGroup('asg-iac', { templateId: iac.id, version: '$Default' });
  sources.scaleOut('asg-web', 3);
  sources.scaleOut('asg-iac', 2);
  for (const id of sources.groups.get('asg-web')!.instanceIds.slice(0, raisedAlready)) sources.modifyInstance(id, { hopLimit: 2 });
  const fleet = [...sources.instances.values()].map((i) => member(i.instanceId, { tags: [...i.tags], hopLimit: i.imds.hopLimit!, httpTokens: i.imds.httpTokens!, containers: true }));
  const account = sim.simulate(fleet);
  sources.wire(account.stub(EC2Client) as unknown as CommandStub, autoScaling as unknown as CommandStub);
  return { sources, web, iac, account };
}

type Log = { level: string; message: string; extra: Record<string, unknown> };

/** hub-item with the real member-account launch sources (memberLaunchSources), looped as the state machine loops it. */
async function runItem(item: HubItemEvent, env: Record<string, string>, clock: { now(): number; sleep(ms: number): Promise<void> }) {
  const logs: Log[] = [];
  const at = (level: string) => (message: string, ...extra: Record<string, unknown>[]) => void logs.push({ level, message, extra: Object.assign({}, ...extra) });
  const asked: { region: string; credentials: unknown }[] = [];
  const launchSources = memberLaunchSources(clock);
  const handler = createHubItemHandler({
    // Every instance is in the hop-limit scope: the guest reports here do not say containers.
    settings: parseSettings({ ...SIM_DOCUMENT_PINS, TSG_HOP_LIMIT_SCOPE: 'all', ...env }),
    hub: parseHubSettings({}, 'us-east-1'),
    partition: 'aws',
    clock,
    logger: { info: at('info'), warn: at('warn'), error: at('error') },
    metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }),
    sts: new STSClient({ region: 'us-east-1' }),
    clientsFor: (region, credentials) => createClients({ region, credentials }),
    centralEvents: new EventBridgeClient({ region: 'us-east-1' }),
    continuationKey: async () => new Uint8Array(32).fill(7),
    launchSourcesFor: (region, credentials, spoke) => {
      asked.push({ region, credentials });
      return launchSources(region, credentials, spoke);
    },
  });
  const results: HubItemResult[] = [];
  let request = item;
  for (let i = 0; i < 20; i++) {
    const r = await handler(request, { getRemainingTimeInMillis: () => 900_000 });
    results.push(r);
    if (r.done) return { results, last: r, logs, asked };
    request = { ...item, sliceToken: r.sliceToken, continuation: r.continuation, carry: r.counts, slices: r.slices };
  }
  throw new Error('the item loop did not end');
}

const key = (name: string) => Object.keys(HUB_SOURCE_METRICS).find((k) => HUB_SOURCE_METRICS[k] === name)!;

describe('hub item: launch sources in a member account (check)', () => {
  it('attributes each instance to the template it launched from and reports both templates, with the member credentials, writing nothing', async () => {
    const { sources, web, iac, account } = memberAccount();
    const { last, logs, asked } = await runItem({ accountId: MEMBER, region: 'eu-west-1', mode: 'check' }, {}, account.clock);
    expect(last).toMatchObject({ status: 'ok', done: true });
    const records = logs.filter((l) => l.message === 'instance');
    expect(records).toHaveLength(5);
    for (const r of records) {
      const truth = sources.instances.get(r.extra.instanceId as string)!;
      expect(r.extra).toMatchObject({ imdsSource: truth.truth, accountId: MEMBER, region: 'eu-west-1' });
      expect(r.extra.imdsSourceTemplate).toBe(`${truth.group === 'asg-web' ? web.id : iac.id}:1`);
    }
    // One decision per template: the fix left to report mode, the CloudFormation one to its stack; each names the account-region.
    const decisions = logs.filter((l) => l.message === 'launch-source').map((l) => l.extra);
    expect(decisions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ templateId: web.id, reason: 'report-mode', accountId: MEMBER, region: 'eu-west-1' }),
        expect.objectContaining({ templateId: iac.id, reason: 'cloudformation-managed', accountId: MEMBER, region: 'eu-west-1' }),
      ]),
    );
    expect(logs.find((l) => l.message === 'check-summary')!.extra.launchSources).toMatchObject({ templatesLaunchingNonCompliant: 2, groupsLaunchingNonCompliant: 2, groupsNotRead: 0 });
    expect(last.counts).toMatchObject({ [key(SOURCE_METRICS.templatesLaunchingNonCompliant)]: 2, [key(SOURCE_METRICS.groupsLaunchingNonCompliant)]: 2, [key(SOURCE_METRICS.groupsNotRead)]: 0 });
    // The port was built for the item's region with the assumed spoke credentials; Auto Scaling was called with them.
    expect(asked).toEqual([{ region: 'eu-west-1', credentials: expect.objectContaining({ accessKeyId: `AKID${MEMBER}` }) }]);
    const call = autoScaling.commandCalls(DescribeAutoScalingGroupsCommand)[0]!;
    const client = call.thisValue as AutoScalingClient;
    await expect(client.config.credentials()).resolves.toMatchObject({ accessKeyId: `AKID${MEMBER}` });
    await expect(client.config.region()).resolves.toBe('eu-west-1');
    expect(sources.calls.CreateLaunchTemplateVersion ?? 0).toBe(0);
    expect(sources.calls.ModifyLaunchTemplate ?? 0).toBe(0);
  });

  it('reads no source with launchTemplates: off (no attribution, no counts)', async () => {
    const { account } = memberAccount();
    const { last, logs, asked } = await runItem({ accountId: MEMBER, region: 'eu-west-1', mode: 'check' }, { TSG_LAUNCH_TEMPLATES: 'off' }, account.clock);
    expect(last.status).toBe('ok');
    expect(asked).toEqual([]);
    expect(autoScaling.commandCalls(DescribeAutoScalingGroupsCommand)).toHaveLength(0);
    expect(logs.find((l) => l.message === 'instance')!.extra.imdsSource).toBeUndefined();
    expect(Object.keys(last.counts ?? {}).filter((k) => k in HUB_SOURCE_METRICS)).toEqual([]);
  });

  it('the hub sums the source counts of its account-regions under the single-account metric names', async () => {
    const { account } = memberAccount();
    const items = [];
    for (const region of ['eu-west-1', 'us-east-1']) items.push((await runItem({ accountId: MEMBER, region, mode: 'check' }, {}, account.clock)).last);
    const totals = totalsOf(items);
    // What hub-run's summary publishes: every HUB_EXTRA_METRICS key present, under its metric name.
    const published = Object.fromEntries(Object.entries(HUB_EXTRA_METRICS).filter(([k]) => k in totals.counts).map(([k, name]) => [name, totals.counts[k]]));
    expect(published).toMatchObject({ [SOURCE_METRICS.templatesLaunchingNonCompliant]: 4, [SOURCE_METRICS.groupsLaunchingNonCompliant]: 4, [SOURCE_METRICS.groupsNotRead]: 0 });
  });
});

describe('hub item: the source fix in a member account (remediate)', () => {
  it('with launchTemplates: fix, makes a hop-limit-2 version of the template the group follows and moves $Default; the CloudFormation template is not touched', async () => {
    // One instance already raised by an earlier night: the run's cap (100 % of 5) leaves room for the template after 4 instance changes.
    const { sources, web, iac, account } = memberAccount(1);
    const { last, asked } = await runItem({ accountId: MEMBER, region: 'eu-west-1', mode: 'remediate' }, { TSG_LAUNCH_TEMPLATES: 'fix' }, account.clock);
    expect(last).toMatchObject({ status: 'ok', done: true });
    expect(asked).toHaveLength(1);
    expect(web.versions).toHaveLength(2);
    expect(web.versions[1]!.metadataOptions).toMatchObject({ hopLimit: 2, httpTokens: 'optional' });
    expect(web.defaultVersion).toBe(2);
    expect(iac.versions).toHaveLength(1);
    expect(sources.iacWritesRefused).toBe(0);
    // The template change is audited on the hub's bus, with the member account and region.
    const details = sim.events.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []).map((e) => JSON.parse(e.Detail ?? '{}') as Record<string, unknown>);
    expect(details).toEqual(expect.arrayContaining([expect.objectContaining({ instanceId: web.id, action: 'update-launch-template', outcome: 'applied', accountId: MEMBER, region: 'eu-west-1' })]));
    // A scale-out now launches at the target.
    expect(sources.scaleOut('asg-web', 1)[0]!.imds.hopLimit).toBe(2);
  });

  it('with launchTemplates: report, the remediation gets no sources port and writes no template', async () => {
    const { sources, web, account } = memberAccount();
    const { last, asked } = await runItem({ accountId: MEMBER, region: 'eu-west-1', mode: 'remediate' }, { TSG_LAUNCH_TEMPLATES: 'report' }, account.clock);
    expect(last.status).toBe('ok');
    expect(asked).toEqual([]);
    expect(web.versions).toHaveLength(1);
    expect(sources.calls.CreateLaunchTemplateVersion ?? 0).toBe(0);
  });
});

describe('source counts over the slices of one account-region', () => {
  const k = key(SOURCE_METRICS.groupsLaunchingNonCompliant);
  it('keeps the largest slice\'s count (every slice reads the whole region\'s groups), never the sum', () => {
    expect(withSourceCounts({ instancesSeen: 20, [k]: 5 }, { instancesSeen: 10, [k]: 3 }, { [k]: 2 })).toEqual({ instancesSeen: 20, [k]: 3 });
    expect(withSourceCounts({ [k]: 3 }, { [k]: 3 }, { [k]: 4 })).toEqual({ [k]: 4 });
  });
  it('keeps the carried counts when the slice read no sources', () => {
    expect(withSourceCounts({ [k]: 3 }, { [k]: 3 }, undefined)).toEqual({ [k]: 3 });
  });
});
