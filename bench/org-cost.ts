/**
 * Monthly cost of the organization hub at 10 / 100 / 1,000 accounts (us-east-1 list prices, no free
 * tier), from the metric counts the hub publishes (lambda/handlers/hub-run.ts), the states one run
 * enters (lib/constructs/org-state-machine.ts) and the single-account usage the benchmark measured
 * for one account-region (bench/results.json): each account-region does the work of one
 * single-account check and remediation, only under the spoke role.
 */
import type { OrganizationFigures } from './org';
import { HUB_EXTRA_METRICS } from '../lambda/core/fleet/hub';
import { CHECK_METRICS, REMEDIATION_METRICS } from '../lambda/core/fleet/metric-names';
import { FUNCTION_MEMORY_MB, HOURS_PER_MONTH, metricsMonthlyUSD, NIGHTS_PER_MONTH, PRICES } from './cost';

/** Account counts of the docs' table. */
export const ORG_COST_ACCOUNTS = [10, 100, 1000] as const;

/** The fixed lines (docs/FIXED_MONTHLY_USD in bin/docs.ts): the topic's KMS key, the dashboard, the continuation key's and the IMDSv2 record key's secrets (imdsv2 report, the default). */
const KMS_KEY_USD = 1;
const DASHBOARD_USD = 3;
const SECRET_USD = 0.8;

/**
 * Distinct metric series one check run publishes: the fleet counts under the single-account names
 * (every CHECK_METRICS name but the clock error bound distribution, which the hub does not
 * aggregate) and AccountRegionsNotCovered, and (by default, `imdsv2` report, the defaults read and
 * `launchTemplates` report) the account-default, IMDSv2 and launch-source sums, all on the `service` dimension only. None per account:
 * whatever the organization's size, the series are the same (the dashboard's per-account views
 * are Logs Insights queries over hub-item's records).
 */
export function hubMetricSeries(o: { readonly accountDefaults?: boolean; readonly imdsv2?: boolean; readonly launchSources?: boolean } = { accountDefaults: true, imdsv2: true, launchSources: true }): number {
  const extra = Object.keys(HUB_EXTRA_METRICS).filter((k) => (k.startsWith('imdsv2') ? o.imdsv2 : k.startsWith('sources:') ? o.launchSources : o.accountDefaults)).length;
  return Object.keys(CHECK_METRICS).filter((k) => k !== 'clockErrorBoundSeconds').length + 1 + extra;
}

/** States entered by one run, whatever its size: ListTargets, OverlapGuard, AccountRegions, Summarize. */
export const RUN_TRANSITIONS = 4;
/**
 * States entered per account-region done in one invocation (one child execution of the distributed
 * Map): its start (counted as a transition here, to be safe), InitItem, CheckOrRemediateItem,
 * ItemIsDone, ItemDone. A further slice adds NextSlice, CheckOrRemediateItem and ItemIsDone.
 */
export const ITEM_TRANSITIONS = 5;

export function hubTransitions(accounts: number, regions: number, extraSlices = 0): number {
  return RUN_TRANSITIONS + accounts * regions * ITEM_TRANSITIONS + 3 * extraSlices;
}

/**
 * The run bucket: per run about 8 requests (item list PUT and GET, result files and manifest PUTs,
 * their GETs by the summary, the summary PUT) and ≈ 1 KB of results per account-region, kept 7 days
 * (the bucket's lifecycle). us-east-1 S3 Standard list prices.
 */
const S3 = { requestsPerRun: 8, requestUSD: 0.005 / 1000, bytesPerAccountRegionRun: 1024, keptDays: 7, gbMonthUSD: 0.023 } as const;

/** What one account-region costs a month in the single-account model (its Lambda and log lines). */
export interface AccountRegionUsage {
  /** Instances of each account-region. */
  readonly instances: number;
  readonly lambdaUSD: number;
  readonly logsUSD: number;
}

/** hub-run: two invocations per run (list, summarize), ≈ 1 s each (A#: a few Organizations pages and one PutEvents). */
const HUB_RUN_SECONDS = 1;

export interface OrgMonthlyCost {
  readonly fleetMetrics: number;
  readonly runBucket: number;
  readonly alarms: number;
  readonly stepFunctions: number;
  readonly accountRegionWork: number;
  readonly hubRun: number;
  readonly fixed: number;
  readonly total: number;
}

const round = (v: number): number => Math.round(v * 100) / 100;

/** The monthly bill of the hub at `accounts` accounts × `regions` regions, hourly checks and nightly remediation. */
export function orgMonthlyCost(accounts: number, regions: number, usage: AccountRegionUsage, alarms: number): OrgMonthlyCost {
  const runs = HOURS_PER_MONTH + NIGHTS_PER_MONTH;
  // Remediation metrics are published once a night by the engine inside hub-item (prorated 1/24).
  const fleetMetrics = metricsMonthlyUSD(hubMetricSeries()) + metricsMonthlyUSD(Object.keys(REMEDIATION_METRICS).length) / 24;
  const storedGb = (runs / 30) * S3.keptDays * accounts * regions * S3.bytesPerAccountRegionRun / 2 ** 30;
  const runBucket = runs * S3.requestsPerRun * S3.requestUSD + storedGb * S3.gbMonthUSD;
  const stepFunctions = runs * hubTransitions(accounts, regions) * PRICES.sfnTransition;
  const accountRegionWork = accounts * regions * (usage.lambdaUSD + usage.logsUSD);
  const hubRun = runs * 2 * (HUB_RUN_SECONDS * (FUNCTION_MEMORY_MB / 1024) * PRICES.lambdaArmGbSecond + PRICES.lambdaRequest) + runs * (PRICES.eventBridgeEvent + PRICES.snsPublish);
  const lines = { fleetMetrics, runBucket, alarms: alarms * PRICES.alarmStandard, stepFunctions, accountRegionWork, hubRun, fixed: KMS_KEY_USD + DASHBOARD_USD + SECRET_USD };
  const total = Object.values(lines).reduce((a, b) => a + b, 0);
  return Object.fromEntries(Object.entries({ ...lines, total }).map(([k, v]) => [k, round(v)])) as unknown as OrgMonthlyCost;
}

const usd = (v: number): string => `$${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** The docs' table (docs/organization.md, `npm run docs`). */
export function orgCostTable(usage: AccountRegionUsage, alarms: number, generatedAt: string): string {
  const costs = ORG_COST_ACCOUNTS.map((n) => orgMonthlyCost(n, 1, usage, alarms));
  const row = (label: string, f: (c: OrgMonthlyCost) => number) => `| ${label} | ${costs.map((c) => usd(f(c))).join(' | ')} |`;
  const series = hubMetricSeries();
  return [
    `| a month, one region per account, us-east-1 list prices | ${ORG_COST_ACCOUNTS.map((n) => `${n.toLocaleString('en-US')} accounts`).join(' | ')} |`,
    `|---|${ORG_COST_ACCOUNTS.map(() => '---:').join('|')}|`,
    row(`fleet metrics (${series} hourly + the nightly remediation ones, flat)`, (c) => c.fleetMetrics),
    row('per-account metrics: none (Logs Insights widgets on the dashboard, billed per GB scanned when viewed)', () => 0),
    row(`alarms (${alarms}, flat)`, (c) => c.alarms),
    row(`Step Functions (${ITEM_TRANSITIONS} transitions per account-region + ${RUN_TRANSITIONS} per run, ${HOURS_PER_MONTH + NIGHTS_PER_MONTH} runs)`, (c) => c.stepFunctions),
    row('run bucket: item list, Map results, summary (S3, kept 7 days)', (c) => c.runBucket),
    row(`hub-item work: Lambda and logs of one ${usage.instances.toLocaleString('en-US')}-instance account-region each`, (c) => c.accountRegionWork),
    row('hub-run, summary events and SNS', (c) => c.hubRun),
    row('KMS key of the topic, dashboard, continuation-key and IMDSv2 record-key secrets', (c) => c.fixed),
    `| **total** | ${costs.map((c) => `**${usd(c.total)}**`).join(' | ')} |`,
    `| per account | ${costs.map((c, i) => usd(c.total / ORG_COST_ACCOUNTS[i]!)).join(' | ')} |`,
    '',
    `Per-account-region work from the benchmark's ${usage.instances.toLocaleString('en-US')}-instance account (\`bench/results.json\`, ${generatedAt.slice(0, 10)}); metric, alarm and transition counts from the code (\`bench/org-cost.ts\`). No free tier counted.`,
  ].join('\n');
}

/** The part of bench/results.json the table reads. */
interface BenchResults {
  readonly generatedAt: string;
  readonly model: { readonly alarms: { readonly count: number } };
  readonly sizes: readonly { readonly n: number; readonly monthlyCost?: { readonly lambda: number; readonly logs: number } }[];
}

/** One account-region's usage: the smallest measured fleet of the benchmark. */
function usageFrom(results: BenchResults): AccountRegionUsage {
  const smallest = results.sizes.filter((s) => s.monthlyCost !== undefined).sort((a, b) => a.n - b.n)[0];
  if (!smallest?.monthlyCost) throw new Error('bench/results.json has no measured monthly cost');
  return { instances: smallest.n, lambdaUSD: smallest.monthlyCost.lambda, logsUSD: smallest.monthlyCost.logs };
}

/**
 * The table from the benchmark results: the smallest measured fleet is one account-region. `alarms`
 * is the hub's billed alarm metrics (bench/alarms.ts orgStackAlarms); without it, the benchmark's
 * single-account count plus AccountRegionsNotCovered.
 */
export function orgCostTableFrom(results: BenchResults, alarms = results.model.alarms.count + 1): string {
  return orgCostTable(usageFrom(results), alarms, results.generatedAt);
}

/** The hub's monthly cost per account at `accounts` accounts, one region each (the table's model). */
export function orgCostPerAccountAt(accounts: number, results: BenchResults, alarms = results.model.alarms.count + 1): number {
  return orgMonthlyCost(accounts, 1, usageFrom(results), alarms).total / accounts;
}

export type { OrganizationFigures };

const int = (v: number): string => Math.round(v).toLocaleString('en-US');

/** The sentence on the hub's cost per account at 1,000 accounts, from the table's model. */
export function orgPerAccountText(results: BenchResults, alarms?: number): string {
  return `At 1,000 accounts the hub costs ${usd(orgCostPerAccountAt(1000, results, alarms))} a month per account (target: ≤ $0.40).`;
}

/** The 10,000-account-region run's figures (bench/org.ts), as the docs quote them. */
export function orgTenThousandText(o: OrganizationFigures): string {
  return (
    `Latest run: ${int(o.covered)} account-regions covered and the ${int(o.expectedUncovered)} deliberately broken ones named ` +
    `(${o.broken.missingRole} accounts without the spoke role, ${o.broken.throttled} throttled, ${o.broken.suspended} suspended), ` +
    `${int(o.unexpected)} other, of ${int(o.accountRegions)}; ` +
    `${o.overlapSecondRunSkipped ? 'a second run started during the first stopped at the overlap guard' : 'the overlap guard did NOT stop a second run'}; ` +
    `the largest payload a step handed on was ${int(o.largestStatePayloadBytes)} bytes. Modelled wall time of a check run (mean child ${o.meanChildSeconds} s): ` +
    `**${int(o.hubWallSecondsModelled)} s at \`maxConcurrency\` ${o.mapConcurrency}**, ${int(o.hubWallSecondsAtDefaultConcurrency)} s at the default 40. ` +
    `Monthly hub cost of that organization: ${usd(o.monthlyCostUSD)}.`
  );
}
