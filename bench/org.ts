/**
 * The organization hub over a simulated organization of 2,500 accounts × 4 regions (10,000
 * account-regions): the REAL hub-run (list: overlap guard, Organizations listing, item list written
 * to S3; summarize: the Map's written results read back from S3), the REAL hub-item in every
 * account-region (its own simulated account: bench/sim, a few instances each), and the state
 * machine's distributed Map as bench/sim/distributed-map.ts runs it (S3 ItemReader, item loop,
 * ResultWriter manifest and result files).
 *
 * Deliberately broken, and only these: accounts whose spoke role is missing (AssumeRole AccessDenied),
 * accounts whose AssumeRole stays throttled through the item's retries, and one SUSPENDED account
 * (Organizations lists it, hub-run leaves it out). Every other account-region must be covered.
 * A second run started while the first is RUNNING must stop at the overlap guard.
 *
 * Modelled, not measured: the Map's wall time, from each child's virtual duration at
 * {@link ORG_BENCH_CONCURRENCY} children at once plus {@link CHILD_OVERHEAD_MS} per child (O1), and the
 * list and summary steps (O2). Run directly: `npx tsx bench/org.ts` (prints the `organization` key).
 */
import './env';
import { ListAccountsForParentCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VirtualClock } from '../lambda/aws/clock';
import { createClients } from '../lambda/aws/clients';
import { type HubItemEvent, type HubItemResult, parseHubSettings } from '../lambda/core/fleet/hub';
import { HUB_RUN_PREFIX } from '../lambda/core/fleet/hub-run-data';
import { parseSettings } from '../lambda/core/settings';
import { createHubItemHandler } from '../lambda/handlers/hub-item';
import { createHubRunHandler } from '../lambda/handlers/hub-run';
import { DEFAULT_ORG_MAX_CONCURRENCY, DEFAULT_ORG_MAX_ITEM_INVOCATIONS } from '../lib/time-sync-guard-org-stack';
import { FUNCTION_MEMORY_MB } from '../lib/function-bundling';
import { HOURS_PER_MONTH, NIGHTS_PER_MONTH, PRICES } from './cost';
import { createWorld } from './drive';
import { orgCostPerAccountAt, type orgCostTableFrom, orgMonthlyCost } from './org-cost';
import type { Target } from './reading';
import { SimAwsError } from './sim/account';
import { modelledWallMs, runDistributedMap, runItemLoop } from './sim/distributed-map';
import { SimS3 } from './sim/s3';
import { SIM_DOCUMENT_PINS } from './sim/ssm';

/**
 * Children of the distributed Map at once in the model: `maxConcurrency` 100, what docs/organization.md
 * advises above ≈ 4,000 account-regions (the default 40 suits the default Lambda concurrency quota;
 * at 40 a 10,000-item check run would take most of the hour). Also reported: the wall time at the default.
 */
export const ORG_BENCH_CONCURRENCY = 100;
/** O1: starting one child execution and its four state transitions (InitItem, invoke, ItemIsDone, ItemDone). A#: not published by AWS. */
export const CHILD_OVERHEAD_MS = 500;
/** O2: the list step (Organizations pages of 20 accounts, one PutObject) and the summary step (reading the result files), together. */
const LIST_AND_SUMMARY_MS = 60_000;

const BUCKET = 'timesyncguardorg-rundata';
const STATE_MACHINE = 'arn:aws:states:eu-west-1:111122223333:stateMachine:TimeSyncGuardOrg-Run';
const REGIONS = ['eu-west-1', 'us-east-1', 'ap-southeast-2', 'sa-east-1'];
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The `organization` key of bench/results.json. */
export interface OrganizationFigures {
  readonly accountRegions: number;
  readonly covered: number;
  readonly expectedUncovered: number;
  /** Account-regions neither covered nor deliberately broken: must be 0. */
  readonly unexpected: number;
  readonly broken: { readonly missingRole: number; readonly throttled: number; readonly suspended: number };
  readonly instancesPerAccountRegion: number;
  readonly mapConcurrency: number;
  readonly hubWallSecondsModelled: number;
  /** The same run at the stack's default maxConcurrency. */
  readonly hubWallSecondsAtDefaultConcurrency: number;
  readonly meanChildSeconds: number;
  readonly overlapSecondRunSkipped: boolean;
  /** The execution state never holds the lists: the largest payload a step handed on, in bytes. */
  readonly largestStatePayloadBytes: number;
  readonly resultFiles: number;
  readonly monthlyCostUSD: number;
  readonly benchSeconds: number;
}

export interface OrgBenchOptions {
  readonly accounts?: number;
  readonly regions?: readonly string[];
  readonly instancesPerAccountRegion?: number;
  readonly missingRole?: number;
  readonly throttled?: number;
  readonly concurrency?: number;
}

const accountId = (i: number): string => String(100_000_000_000 + i);

export async function benchOrganization(o: OrgBenchOptions = {}): Promise<OrganizationFigures> {
  const started = Date.now();
  const accounts = o.accounts ?? 2500;
  const regions = o.regions ?? REGIONS;
  const perRegion = o.instancesPerAccountRegion ?? 3;
  const concurrency = o.concurrency ?? ORG_BENCH_CONCURRENCY;
  const all = Array.from({ length: accounts }, (_, i) => accountId(i));
  // Spread over the organization (every 97th, every 211th …), not clustered at the start of the list.
  const missing = new Set(all.filter((_, i) => i % 97 === 13).slice(0, o.missingRole ?? 25));
  const throttled = new Set(all.filter((_, i) => i % 211 === 7 && !missing.has(accountId(i))).slice(0, o.throttled ?? 10));
  const suspended = all.find((a) => !missing.has(a) && !throttled.has(a) && a.endsWith('1234')) ?? all[accounts - 1]!;
  const ous = ['ou-ab12-aaaaaaaa', 'ou-ab12-bbbbbbbb', 'ou-ab12-cccccccc', 'ou-ab12-dddddddd', 'ou-ab12-eeeeeeee'];

  const orgs = mockClient(OrganizationsClient);
  const sts = mockClient(STSClient);
  const sfn = mockClient(SFNClient);
  const s3 = new SimS3().install();
  try {
    // Organizations: the accounts dealt round-robin to the OUs, 20 a page (the API's maximum).
    orgs.on(ListAccountsForParentCommand).callsFake((input: { ParentId: string; NextToken?: string; MaxResults?: number }) => {
      const ou = ous.indexOf(input.ParentId);
      const mine = all.filter((_, i) => i % ous.length === ou);
      const from = Number(input.NextToken ?? 0);
      const page = mine.slice(from, from + (input.MaxResults ?? 20));
      return {
        Accounts: page.map((Id) => ({ Id, State: Id === suspended ? 'SUSPENDED' : 'ACTIVE' })),
        ...(from + page.length < mine.length ? { NextToken: String(from + page.length) } : {}),
      };
    });
    sts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string }) => {
      const account = input.RoleArn.split(':')[4]!;
      if (missing.has(account)) throw new SimAwsError('AccessDenied', `User is not authorized to perform: sts:AssumeRole on resource: ${input.RoleArn}`, 403);
      if (throttled.has(account)) throw new SimAwsError('Throttling', 'Rate exceeded');
      return { Credentials: { AccessKeyId: `AKID${account}`, SecretAccessKey: 'secret', SessionToken: 'token', Expiration: new Date(Date.now() + 3_600_000) } };
    });
    const first = { executionArn: `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:first`, name: 'first', startTime: '2026-12-07T10:00:00.000Z', stateMachineArn: STATE_MACHINE };
    const second = { ...first, executionArn: first.executionArn.replace(':first', ':second'), name: 'second', startTime: '2026-12-07T10:00:05.000Z' };
    sfn.on(ListExecutionsCommand).resolves({ executions: [first, second].map((e) => ({ executionArn: e.executionArn, stateMachineArn: STATE_MACHINE, name: e.name, status: 'RUNNING', startDate: new Date(e.startTime) })) });

    const env = { ...SIM_DOCUMENT_PINS };
    const hubEnv = { TSG_HUB_OUS: ous.join(','), TSG_HUB_REGIONS: regions.join(','), TSG_HUB_RUN_BUCKET: BUCKET };
    const audit: unknown[] = [];
    const saved = process.env.POWERTOOLS_METRICS_DISABLED;
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const metrics = new Metrics({ namespace: 'TimeSyncGuard', serviceName: 'timesync-guard' });
    process.env.POWERTOOLS_METRICS_DISABLED = saved;
    const hubRun = createHubRunHandler({
      settings: parseSettings(env),
      hub: parseHubSettings(hubEnv, 'eu-west-1'),
      clock: new VirtualClock(),
      logger: quiet,
      metrics,
      organizations: new OrganizationsClient({ region: 'us-east-1' }),
      events: { send: (async (c: { input: unknown }) => (audit.push(c.input), { FailedEntryCount: 0, Entries: [{ EventId: 'e' }] })) as never },
      notifier: { publish: async () => true },
      s3: new (await import('@aws-sdk/client-s3')).S3Client({ region: 'eu-west-1' }),
      sfn: new SFNClient({ region: 'eu-west-1' }),
    });

    let largest = 0;
    const state = (v: unknown) => ((largest = Math.max(largest, JSON.stringify(v).length)), v);
    const listing = state(await hubRun({ action: 'list', mode: 'check', execution: first })) as Record<string, unknown>;
    const skipped = (await hubRun({ action: 'list', mode: 'check', execution: second })) as Record<string, unknown>;
    if (listing.overlap !== null) throw new Error(`the first run was stopped by the overlap guard: ${JSON.stringify(listing)}`);

    const settings = parseSettings(env);
    const hub = parseHubSettings(hubEnv, 'eu-west-1');
    // Each account its own simulated account (fleet, clock, limits), shared by its regions' items,
    // which the item list keeps together. sinon's default sandbox keeps every restored fake, so a
    // world's call histories are dropped before it is restored (10,000 worlds would not fit).
    let current: { accountId: string; world: ReturnType<typeof createWorld>; handler: ReturnType<typeof createHubItemHandler> } | undefined;
    let done = 0;
    const closeWorld = () => {
      if (!current) return;
      current.world.account.trimHistory();
      current.world.account.restore();
      current = undefined;
      if (++done % 250 === 0) sts.resetHistory();
    };
    const accountWorld = (id: string) => {
      if (current?.accountId === id) return current;
      closeWorld();
      const world = createWorld(perRegion, { vanishing: 0 });
      const handler = createHubItemHandler({
        settings,
        hub,
        partition: 'aws',
        clock: world.clock,
        logger: quiet,
        metrics,
        sts: new STSClient({ region: 'eu-west-1' }),
        clientsFor: (region, credentials) => createClients({ region, credentials }),
        centralEvents: world.clients.eventbridge,
        continuationKey: async () => new Uint8Array(32).fill(7),
      });
      current = { accountId: id, world, handler };
      return current;
    };
    const map = await runDistributedMap({
      s3,
      bucket: BUCKET,
      itemsKey: String(listing.itemsKey),
      prefix: HUB_RUN_PREFIX,
      stateMachineArn: STATE_MACHINE,
      executionName: first.name,
      select: (item) => ({ ...(item as object), mode: listing.mode }),
      child: async (input) => {
        const { world, handler } = accountWorld(String(input.accountId));
        let out: Awaited<ReturnType<typeof runItemLoop>> | undefined;
        const t0 = world.clock.now();
        await world.clock.run(async () => {
          out = await runItemLoop((e: HubItemEvent) => handler(e, { getRemainingTimeInMillis: () => 900_000 }) as Promise<HubItemResult>, input as never, DEFAULT_ORG_MAX_ITEM_INVOCATIONS);
        });
        return { output: state(out!.result), durationMs: world.clock.now() - t0 };
      },
    });
    closeWorld();
    const results = state(map.output);
    const summary = (await hubRun({ action: 'summarize', listing, results })) as { covered: number; accountRegions: number; notCovered: number };
    const full = JSON.parse(s3.get(BUCKET, String(listing.summaryKey)) ?? '{}') as { notCovered: { accountId: string; region: string; reason: string }[] };

    // Every account-region of the organization: covered, or one of the deliberately broken ones for the expected reason.
    const notCovered = new Map(full.notCovered.map((f) => [`${f.accountId}/${f.region}`, f.reason]));
    let covered = 0;
    let expected = 0;
    let unexpected = 0;
    for (const a of all) {
      for (const r of regions) {
        const reason = notCovered.get(`${a}/${r}`);
        const want = missing.has(a) ? 'access-denied' : throttled.has(a) ? 'throttled' : a === suspended ? 'not-listed' : undefined;
        const listed = a !== suspended;
        if (want === undefined && listed && reason === undefined) covered++;
        else if (want !== undefined && (want === 'not-listed' ? !listed && reason === undefined : reason === want)) expected++;
        else unexpected++;
      }
    }
    if (covered !== summary.covered) unexpected += Math.abs(covered - summary.covered);

    const mapWallMs = modelledWallMs(map.durationsMs, concurrency, CHILD_OVERHEAD_MS);
    // Cost of this organization: hub-item's Lambda from the children's virtual durations, its logs
    // scaled from the benchmark's per-instance log volume (bench/results.json, smallest fleet).
    const runs = HOURS_PER_MONTH + NIGHTS_PER_MONTH;
    const meanSeconds = map.durationsMs.reduce((a, b) => a + b, 0) / Math.max(1, map.durationsMs.length) / 1000;
    const bench = JSON.parse(readFileSync(join(__dirname, 'results.json'), 'utf8')) as { model: { alarms: { count: number } }; sizes: { n: number; monthlyCost?: { logs: number } }[] };
    const smallest = bench.sizes.filter((s) => s.monthlyCost).sort((a, b) => a.n - b.n)[0]!;
    const usage = {
      instances: perRegion,
      lambdaUSD: runs * (meanSeconds * (FUNCTION_MEMORY_MB / 1024) * PRICES.lambdaArmGbSecond + PRICES.lambdaRequest),
      logsUSD: (smallest.monthlyCost!.logs / smallest.n) * perRegion,
    };
    const cost = orgMonthlyCost(accounts, regions.length, usage, bench.model.alarms.count + 1);
    return {
      accountRegions: accounts * regions.length,
      covered,
      expectedUncovered: expected,
      unexpected,
      broken: { missingRole: missing.size, throttled: throttled.size, suspended: 1 },
      instancesPerAccountRegion: perRegion,
      mapConcurrency: concurrency,
      hubWallSecondsModelled: Math.round((mapWallMs + LIST_AND_SUMMARY_MS) / 1000),
      hubWallSecondsAtDefaultConcurrency: Math.round((modelledWallMs(map.durationsMs, DEFAULT_ORG_MAX_CONCURRENCY, CHILD_OVERHEAD_MS) + LIST_AND_SUMMARY_MS) / 1000),
      meanChildSeconds: Math.round(meanSeconds * 10) / 10,
      overlapSecondRunSkipped: skipped.overlap === first.executionArn && audit.length >= 1,
      largestStatePayloadBytes: largest,
      resultFiles: [...s3.objects.keys()].filter((k) => /(SUCCEEDED|FAILED)_\d+\.json$/.test(k)).length,
      monthlyCostUSD: cost.total,
      benchSeconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    s3.restore();
    orgs.restore();
    sts.restore();
    sfn.restore();
  }
}

/** The hub's monthly cost per account at 1,000 accounts must stay at or below this (issue 27). */
export const ORG_COST_PER_ACCOUNT_TARGET_USD = 0.4;

/** The `organization` key of bench/results.json (bench/run.ts), and its targets. */
export async function organizationKey(targets: Target[], run: Parameters<typeof orgCostTableFrom>[0], hubAlarms: number): Promise<OrganizationFigures> {
  const r = await benchOrganization();
  targets.push({
    n: 'all',
    name: `every one of ${r.accountRegions.toLocaleString('en-US')} account-regions covered or deliberately broken`,
    value: `${r.covered} + ${r.expectedUncovered}, ${r.unexpected} other`,
    limit: `${r.accountRegions}, 0 other`,
    pass: r.unexpected === 0 && r.covered + r.expectedUncovered === r.accountRegions,
  });
  // This run's figures and the hub's own alarms, as the docs' table prices them (bin/docs.ts): not the
  // results.json of the previous run, whose per-account-region usage may be out of date.
  const perAccount = orgCostPerAccountAt(1000, run, hubAlarms);
  targets.push({ n: 'all', name: 'hub cost a month per account at 1,000 accounts', value: `$${perAccount.toFixed(2)}`, limit: `$${ORG_COST_PER_ACCOUNT_TARGET_USD.toFixed(2)}`, pass: perAccount <= ORG_COST_PER_ACCOUNT_TARGET_USD });
  return r;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const accounts = args.includes('--accounts') ? Number(args[args.indexOf('--accounts') + 1]) : undefined;
  const concurrency = args.includes('--concurrency') ? Number(args[args.indexOf('--concurrency') + 1]) : undefined;
  benchOrganization({ ...(accounts ? { accounts } : {}), ...(concurrency ? { concurrency } : {}) })
    .then((r) => process.stdout.write(`${JSON.stringify({ organization: r }, null, 2)}\n`))
    .catch((err) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    });
}
