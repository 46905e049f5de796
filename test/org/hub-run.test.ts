/**
 * hub-run, the steps around the Map: `list` (OUs through Organizations, explicit accounts, one OU
 * that cannot be listed) and `summarize` (a failed account reported by name and reason, the EMF
 * metrics it publishes, and their count: what the organization cost model prices).
 */
import { type AccountState, ListAccountsForParentCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { mockClient } from 'aws-sdk-client-mock';
import { hubMetricSeries } from '../../bench/org-cost';
import { VirtualClock } from '../../lambda/aws/clock';
import { HUB_ENV, HUB_SUMMARY_DETAIL_TYPE, parseHubSettings, withoutHubVariables } from '../../lambda/core/fleet/hub';
import { parseSettings } from '../../lambda/core/settings';
import { createHubRunHandler } from '../../lambda/handlers/hub-run';

const orgs = mockClient(OrganizationsClient);
const events = mockClient(EventBridgeClient);
beforeEach(() => {
  orgs.reset();
  events.reset();
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
});
afterAll(() => {
  orgs.restore();
  events.restore();
});

const OU_A = 'ou-ab12-aaaaaaaa';
const OU_B = 'ou-ab12-bbbbbbbb';
const OU_DENIED = 'ou-ab12-dddddddd';

interface Emf {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  [key: string]: unknown;
}

/** A real Powertools Metrics (and its single metrics) whose EMF lines are captured instead of printed. */
function capturing(): { metrics: Metrics; emf: Emf[] } {
  const emf: Emf[] = [];
  const sink = { log: (s: string) => emf.push(JSON.parse(s) as Emf) };
  const enabled = <T>(make: () => T): T => {
    const saved = process.env.POWERTOOLS_METRICS_DISABLED;
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    try {
      const m = make();
      (m as unknown as { console: typeof sink }).console = sink;
      return m;
    } finally {
      process.env.POWERTOOLS_METRICS_DISABLED = saved;
    }
  };
  const metrics = enabled(() => new Metrics({ namespace: 'TimeSyncGuard', serviceName: 'timesync-guard' }));
  const single = metrics.singleMetric.bind(metrics);
  metrics.singleMetric = () => enabled(single);
  return { metrics, emf };
}

function setup(env: Record<string, string>) {
  const { metrics, emf } = capturing();
  const logs: { message: string; extra: Record<string, unknown> }[] = [];
  const log = (message: string, extra: Record<string, unknown> = {}) => logs.push({ message, extra });
  const published: { subject: string; summary: Record<string, unknown> }[] = [];
  const handler = createHubRunHandler({
    settings: parseSettings(withoutHubVariables(env)),
    hub: parseHubSettings(env, 'eu-west-1'),
    clock: new VirtualClock(),
    logger: { info: log, warn: log, error: log },
    metrics,
    organizations: new OrganizationsClient({ region: 'us-east-1' }),
    events: new EventBridgeClient({ region: 'eu-west-1' }),
    notifier: { publish: async (subject, summary) => (published.push({ subject, summary }), true) },
  });
  return { handler, emf, logs, published };
}

/** Every (metric name, dimension names, dimension values) the EMF lines carry. */
function series(emf: Emf[]): string[] {
  return emf.flatMap((e) =>
    e._aws.CloudWatchMetrics.flatMap((d) => d.Metrics.map((m) => `${m.Name}{${d.Dimensions.flat().map((k) => `${k}=${String(e[k])}`).join(',')}}=${String(e[m.Name])}`)),
  );
}

const account = (Id: string, State: AccountState = 'ACTIVE') => ({ Id, State });

describe('hub-run list', () => {
  it('covers the explicit accounts and the ACTIVE accounts of each OU (paginated), reporting the OU it cannot list', async () => {
    orgs
      .on(ListAccountsForParentCommand, { ParentId: OU_A })
      .resolvesOnce({ Accounts: [account('111111111111'), account('222222222222', 'SUSPENDED')], NextToken: 'p2' })
      .resolvesOnce({ Accounts: [account('333333333333')] });
    orgs.on(ListAccountsForParentCommand, { ParentId: OU_B }).resolves({ Accounts: [account('444444444444'), account('111111111111')] });
    const denied = Object.assign(new Error('You don’t have permissions to access this resource.'), { name: 'AccessDeniedException' });
    orgs.on(ListAccountsForParentCommand, { ParentId: OU_DENIED }).rejects(denied);
    const { handler } = setup({ [HUB_ENV.organizationalUnits]: `${OU_A},${OU_DENIED},${OU_B}`, [HUB_ENV.accounts]: '999999999999,111111111111', [HUB_ENV.regions]: 'eu-west-1,us-east-1' });

    const out = await handler({ action: 'list', mode: 'remediate' });

    expect(out).toEqual({
      accounts: ['999999999999', '111111111111', '333333333333', '444444444444'],
      regions: ['eu-west-1', 'us-east-1'],
      mode: 'remediate',
      ouFailures: [{ ou: OU_DENIED, error: expect.stringMatching(/^AccessDeniedException: /) }],
      overlap: null,
    });
    expect(orgs.commandCalls(ListAccountsForParentCommand, { ParentId: OU_A }).map((c) => c.args[0].input.NextToken)).toEqual([undefined, 'p2']);
  });

  it('lists nothing from Organizations when only explicit accounts are set, and defaults to a check in the hub region', async () => {
    const { handler } = setup({ [HUB_ENV.accounts]: '999999999999' });
    expect(await handler({ action: 'list' })).toEqual({ accounts: ['999999999999'], regions: ['eu-west-1'], mode: 'check', ouFailures: [], overlap: null });
    expect(orgs.calls()).toHaveLength(0);
  });

  it('refuses an unknown action', async () => {
    const { handler } = setup({});
    await expect(handler({ action: 'delete' } as never)).rejects.toThrow(/unknown hub action "delete"/);
  });
});

const ok = (accountId: string, region: string, counts: Record<string, number>) => ({ accountId, region, mode: 'check', status: 'ok', reason: null, detail: null, done: true, counts });
const failed = (accountId: string, region: string, reason: string, detail: string) => ({ accountId, region, mode: 'check', status: 'failed', reason, detail, done: true, counts: null });

describe('hub-run summarize', () => {
  const results = [
    [ok('111111111111', 'eu-west-1', { instancesSeen: 10, instancesChecked: 9, instancesAtRisk: 2, instancesNotChecked: 1 }), ok('111111111111', 'us-east-1', { instancesSeen: 5, instancesChecked: 5, instancesAtRisk: 0, instancesNotChecked: 0 })],
    [failed('222222222222', 'eu-west-1', 'access-denied', 'AccessDenied: not authorized to perform: sts:AssumeRole'), failed('222222222222', 'us-east-1', 'access-denied', 'AccessDenied')],
    [ok('333333333333', 'eu-west-1', { instancesSeen: 7, instancesChecked: 7, instancesAtRisk: 1, instancesNotChecked: 0 }), failed('333333333333', 'us-east-1', 'throttled', 'Throttling: Rate exceeded')],
  ];
  const listing = { accounts: ['111111111111', '222222222222', '333333333333'], regions: ['eu-west-1', 'us-east-1'], mode: 'check', ouFailures: [{ ou: OU_DENIED, error: 'AccessDeniedException' }] };

  it('reports the failed account-regions by name and reason, on the central bus and to SNS', async () => {
    const { handler, published } = setup({});
    const out = await handler({ action: 'summarize', listing, results });
    expect(out).toEqual({ covered: 3, accountRegions: 6, notCovered: 3 });
    const sent = events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    expect(sent).toMatchObject({ Source: 'timesync-guard', DetailType: HUB_SUMMARY_DETAIL_TYPE });
    const detail = JSON.parse(sent.Detail!);
    expect(detail.notCovered).toEqual([
      { accountId: '222222222222', region: 'eu-west-1', reason: 'access-denied', detail: 'AccessDenied: not authorized to perform: sts:AssumeRole' },
      { accountId: '222222222222', region: 'us-east-1', reason: 'access-denied', detail: 'AccessDenied' },
      { accountId: '333333333333', region: 'us-east-1', reason: 'throttled', detail: 'Throttling: Rate exceeded' },
    ]);
    expect(detail.ouFailures).toEqual(listing.ouFailures);
    expect(detail.counts).toMatchObject({ instancesSeen: 22, instancesAtRisk: 3 });
    expect(published).toEqual([{ subject: 'timesync-guard organization check: 3/6 account-regions covered', summary: detail }]);
  });

  it('publishes the fleet counts on `service` only, and no series per account (the dashboard queries the logs for those)', async () => {
    const { handler, emf } = setup({});
    await handler({ action: 'summarize', listing, results });
    const s = series(emf);
    expect(s).toEqual(
      expect.arrayContaining([
        'AccountRegionsNotCovered{service=timesync-guard}=3',
        'InstancesSeen{service=timesync-guard}=22',
        'InstancesAtRisk{service=timesync-guard}=3',
        'InstancesNotChecked{service=timesync-guard}=1',
      ]),
    );
    expect(s.filter((x) => x.includes('AccountId'))).toEqual([]);
    expect(s.some((x) => x.startsWith('ClockErrorBoundSeconds'))).toBe(false);
  });

  it('sums the member accounts\' account-default and IMDSv2 figures under the single-account names (the imdsv2Rejected alarm reads them)', async () => {
    const { handler, emf } = setup({});
    const withExtras = [
      [ok('111111111111', 'eu-west-1', { instancesSeen: 1, imdsv2Rejected: 1, accountDefaultFindings: 1, 'imdsv2:ready': 3 })],
      [ok('333333333333', 'eu-west-1', { instancesSeen: 1, imdsv2Rejected: 2, accountDefaultFindings: 0, 'imdsv2:ready': 1 })],
    ];
    await handler({ action: 'summarize', listing, results: withExtras });
    expect(series(emf)).toEqual(expect.arrayContaining(['Imdsv2Rejected{service=timesync-guard}=3', 'AccountDefaultFindings{service=timesync-guard}=1', 'Imdsv2Ready{service=timesync-guard}=4']));
  });

  it('names the accounts at risk in the summary instead (largest first)', async () => {
    const { handler, published } = setup({});
    await handler({ action: 'summarize', listing, results });
    expect(published[0]!.summary.accountsAtRisk).toEqual([
      { accountId: '111111111111', instancesAtRisk: 2, instancesNotChecked: 1 },
      { accountId: '333333333333', instancesAtRisk: 1, instancesNotChecked: 0 },
    ]);
    expect(published[0]!.summary.notCoveredByReason).toEqual({ 'access-denied': 2, throttled: 1 });
  });

  it('publishes exactly the series the organization cost model prices, however many accounts', async () => {
    const { handler, emf } = setup({});
    await handler({ action: 'summarize', listing, results });
    const distinct = new Set(series(emf).map((x) => x.replace(/=[^=]*$/, '')));
    expect(distinct.size).toBe(hubMetricSeries({ accountDefaults: false, imdsv2: false }));
  });

  it('publishes no check counts from a remediation run (they would reset the check alarms), only the coverage', async () => {
    const { handler, emf, published } = setup({});
    const remediation = results.map((r) => r.map((x) => ({ ...x, mode: 'remediate', counts: x.status === 'ok' ? { succeeded: 1 } : null })));
    await handler({ action: 'summarize', listing: { ...listing, mode: 'remediate' }, results: remediation });
    const names = series(emf).map((x) => x.replace(/\{.*$/, ''));
    expect([...new Set(names)].sort()).toEqual(['AccountRegionsNotCovered']);
    expect(published[0]!.subject).toBe('timesync-guard organization remediate: 3/6 account-regions covered');
  });

  it('counts unreadable results as not covered rather than as healthy', async () => {
    const { handler } = setup({});
    const out = await handler({ action: 'summarize', listing, results: [[null, { accountId: '111111111111' }], 'garbage'] });
    expect(out).toEqual({ covered: 0, accountRegions: 3, notCovered: 3 });
  });

  it('still answers when the summary event cannot be sent (logged, not thrown)', async () => {
    events.on(PutEventsCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const { handler, logs } = setup({});
    await expect(handler({ action: 'summarize', listing, results })).resolves.toMatchObject({ covered: 3 });
    expect(logs.map((l) => l.message)).toContain('hub-summary-event-lost');
  });
});

describe('hub settings beside the single-account settings', () => {
  it('lets the hub Lambdas start with their TSG_HUB_* variables (their bundles load the single-account handler modules, whose cold start parses the environment)', () => {
    const env = { [HUB_ENV.organizationalUnits]: OU_A, [HUB_ENV.regions]: 'eu-west-1', [HUB_ENV.spokeRoleName]: 'Spoke', [HUB_ENV.slicePages]: '5', TSG_DRY_RUN: 'true' };
    for (const name of Object.values(HUB_ENV)) expect(() => parseSettings({ [name]: 'x' })).not.toThrow();
    expect(() => parseSettings({ TSG_HUB_TYPO: 'x' })).toThrow(/TSG_HUB_TYPO/);
    expect(parseSettings(withoutHubVariables(env)).dryRun).toBe(true);
    expect(parseHubSettings(env, 'us-east-1')).toEqual({ spokeRoleName: 'Spoke', organizationalUnits: [OU_A], accounts: [], regions: ['eu-west-1'], slicePages: 5 });
  });

  it.each([
    [HUB_ENV.organizationalUnits, 'ou-x'],
    [HUB_ENV.accounts, '12'],
    [HUB_ENV.regions, 'Ireland'],
    [HUB_ENV.slicePages, '0'],
  ])('fails the cold start on a bad %s naming it', (name, value) => {
    expect(() => parseHubSettings({ [name]: value }, 'eu-west-1')).toThrow(name);
  });
});
