/**
 * `npm run docs`: rewrites the generated blocks of README.md and docs/*.md — the settings table
 * (from the settings schema), the benchmark figures and the monthly cost (from bench/results.json) —
 * so no figure or setting is ever typed by hand. test/core/docs.test.ts fails when a block drifts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { orgStackAlarms, stackAlarms } from '../bench/alarms';
import { metricsMonthlyUSD, PRICES } from '../bench/cost';
import type { LaunchMeasure } from '../bench/launch';
import { orgCostTableFrom, type OrganizationFigures, orgPerAccountText, orgTenThousandText } from '../bench/org-cost';
import { type FindingsExportKey, renderFindingsExport, securityHubHealthyMonthUSD } from '../bench/findings-export-figures';
import { type ReadingResults, readingOfFigures } from '../bench/reading';
import { alarmCountText, deployRolePermissions, resourceTable } from './deployed-docs';
import { ACCOUNT_DEFAULTS_METRICS } from '../lambda/core/fleet/metadata-defaults';
import { IMDSV2_METRICS, IMDSV2_STATE_METRIC } from '../lambda/core/imdsv2/metrics';
import { contextKey, expected, propName, rows, type SettingRow } from '../lambda/core/settings';

const ROOT = join(__dirname, '..');

/**
 * Fixed monthly costs outside the benchmark's usage model (us-east-1 list prices): the alarm
 * topic's customer-managed KMS key, the dashboard (beyond an account's three free ones) and the
 * Secrets Manager secret of the remediation continuation key.
 */
export const FIXED_MONTHLY_USD = { kmsKey: 1, dashboard: 3, secret: 0.4 } as const;

/**
 * Metrics every completed check publishes by default besides the fleet counts: the IMDSv2
 * readiness states (`imdsv2: report`) and the account metadata defaults (`accountDefaults: report`).
 * The cost table adds the ones the benchmark's run did not publish, so a later benchmark that
 * measures them does not count them twice.
 */
export const DEFAULT_EXTRA_HOURLY_METRICS: readonly string[] = [
  ...Object.values(IMDSV2_STATE_METRIC),
  // The IMDSv2 watch publishes both every check (as 0 with nothing enforced).
  IMDSV2_METRICS.rolledBack,
  IMDSV2_METRICS.rejected,
  ...Object.values(ACCOUNT_DEFAULTS_METRICS),
];

/** Billed alarm metrics of the two stacks as they synthesize today (not the benchmark's count, which may predate an alarm). */
export interface StackAlarmCounts {
  readonly single: number;
  readonly org: number;
}

/** Synthesizes both stacks (no bundling) and counts their billed alarm metrics. */
export function stackAlarmCounts(): StackAlarmCounts {
  return { single: stackAlarms().billed, org: orgStackAlarms().billed };
}

const code = (s: string): string => `\`${s}\``;
const cell = (s: string): string => s.replace(/\|/g, '\\|');

function defaultText(r: SettingRow): string {
  if (!('default' in r) || r.default === undefined) return r.type === 'list' ? 'none' : r.scope === 'stack' ? 'none' : 'set by the construct';
  return code(String(r.default));
}

function rangeText(r: SettingRow): string {
  if (r.type === 'string' && !r.expected) return '';
  return cell(expected(r, true)) + (r.unit ? ` ${r.unit}` : '');
}

/** The configuration table: one line per schema row. */
export function settingsTable(): string {
  const lines = ['| Setting (context key) | Prop | Variable | Scope | Default | Valid values | Meaning |', '|---|---|---|---|---|---|---|'];
  for (const r of rows()) {
    const ctx = contextKey(r.key);
    const prop = propName(r.key);
    const formerly = r.formerly?.length ? ` (formerly ${r.formerly.map(code).join(', ')})` : '';
    lines.push(
      `| ${ctx ? code(ctx) : `${code(r.key)} (not a context key)`}${formerly} | ${prop ? code(prop) : '—'} | ${r.env ? code(r.env) : '—'} | ${r.scope} | ${defaultText(r)} | ${rangeText(r)} | ${cell(r.doc)} |`,
    );
  }
  return lines.join('\n');
}

interface Size {
  readonly n: number;
  readonly check: { apiCalls: number; apiCallsLowerBound: number; apiCallsRatio: number; simulatedSeconds: number; simulatedSecondsLowerBound: number; simulatedSecondsRatio: number };
  readonly remediation?: { hopLimitsAppliedSeconds: number; hopLimitTargetSeconds: number; invocations: number };
  readonly peakMemoryMB: number;
  /** The function memory the measured runs were started as (Lambda's runtime heap flags for it). */
  readonly peakMemoryFunctionMB?: number;
  readonly distinctMetrics: number;
  readonly distinctMetricNames?: { readonly check?: readonly string[]; readonly remediation?: readonly string[] };
  readonly monthlyCost?: { metrics: number; alarms: number; logs: number; lambda: number; stepFunctions: number; eventBridge: number; sns: number; total: number };
  readonly peers?: { perInstancePolling: { apiCalls: number; simulatedSeconds: number }; perInstanceMetrics: { monthlyCostUSD: number } };
}
interface Results {
  readonly generatedAt: string;
  readonly model: { readonly alarms: { readonly count: number } };
  readonly sizes: readonly Size[];
  /** bench/imdsv2.ts: the daily readiness refresh (GetMetricData) at `instances`. */
  readonly imdsv2?: { readonly instances: number; readonly dailyRefresh: { readonly usdPerMonth: number } };
  /** bench/findings-export.ts: Security Hub and Compliance per hourly run. */
  readonly findingsExport?: FindingsExportKey;
  /** bench/org.ts: the 10,000-account-region organization. */
  readonly organization: OrganizationFigures;
}

/** bench/results.json, seen through the shape a reader needs. */
export function readResults<T = Results>(): T {
  return JSON.parse(readFileSync(join(ROOT, 'bench', 'results.json'), 'utf8')) as T;
}

/** A figure the benchmark does not measure at that size (only the check runs at 50,000). */
const NOT_RUN = 'not run';
const int = (v: number): string => Math.round(v).toLocaleString('en-US');
const usd = (v: number): string => `$${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** The benchmark figures table, one column per measured fleet size. */
export function benchTable(results: Results): string {
  const sizes = results.sizes;
  const row = (label: string, f: (s: Size) => string): string => `| ${label} | ${sizes.map(f).join(' | ')} |`;
  return [
    `| | ${sizes.map((s) => `N = ${int(s.n)}`).join(' | ')} |`,
    `|---|${sizes.map(() => '---').join('|')}|`,
    row('check API calls (lower bound)', (s) => `${int(s.check.apiCalls)} (${int(s.check.apiCallsLowerBound)}): ${s.check.apiCallsRatio}×`),
    row('check simulated time (lower bound)', (s) => `${s.check.simulatedSeconds} s (${s.check.simulatedSecondsLowerBound} s): ${s.check.simulatedSecondsRatio}×`),
    row('hop limits applied from the run start (target)', (s) => (s.remediation ? `${int(s.remediation.hopLimitsAppliedSeconds)} s (${int(s.remediation.hopLimitTargetSeconds)} s)` : NOT_RUN)),
    row('remediate invocations', (s) => (s.remediation ? String(s.remediation.invocations) : NOT_RUN)),
    row('peak memory, measured (RSS of the bundled run started as a function of that memory, simulator included)', (s) => `${Math.round(s.peakMemoryMB)} MiB${s.peakMemoryFunctionMB ? ` of ${s.peakMemoryFunctionMB} MB` : ''}`),
    row('distinct CloudWatch metrics', (s) => String(s.distinctMetrics)),
    row('modelled usage cost a month (hourly checks + nightly remediation)', (s) => (s.monthlyCost ? usd(s.monthlyCost.total) : NOT_RUN)),
    row('peer: per-instance GetCommandInvocation polling', (s) => (s.peers ? `${int(s.peers.perInstancePolling.apiCalls)} calls, ${int(s.peers.perInstancePolling.simulatedSeconds)} s` : NOT_RUN)),
    row('peer: per-instance custom metrics', (s) => (s.peers ? `${usd(s.peers.perInstanceMetrics.monthlyCostUSD)}/month` : NOT_RUN)),
    '',
    `(from \`bench/results.json\`, ${results.generatedAt.slice(0, 10)})`,
  ].join('\n');
}

/** Fleet sizes of the cost table. */
export const COST_SIZES = [100, 1000, 10_000] as const;

/**
 * Monthly cost by line at 100 / 1,000 / 10,000 instances. Measured sizes are taken as they are; any
 * other size is interpolated (or extended) line by line through the two measured sizes, every line
 * being linear in the fleet (metrics and alarms are flat). Alarms are counted on the stack as it
 * synthesizes now; the default IMDSv2 and account-defaults metrics the benchmark's run did not
 * publish are added at list price; the IMDSv2 readiness refresh scales with the fleet from its
 * measured 10,000-instance figure.
 */
export function costTable(results: Results, alarms: number): string {
  const measured = results.sizes.filter((s) => s.monthlyCost !== undefined).sort((a, b) => a.n - b.n);
  const lo = measured[0]!;
  const hi = measured[measured.length - 1]!;
  const at = (n: number, f: (s: Size) => number): number => {
    const exact = measured.find((s) => s.n === n);
    if (exact) return f(exact);
    return Math.max(0, f(lo) + ((f(hi) - f(lo)) * (n - lo.n)) / (hi.n - lo.n));
  };
  const published = new Set(Object.values(hi.distinctMetricNames ?? {}).flat().map((m) => m.split('/')[1]));
  const extra = DEFAULT_EXTRA_HOURLY_METRICS.filter((m) => !published.has(m)).length;
  const imdsv2 = results.imdsv2;
  const lines: [string, (n: number) => number][] = [
    [`fleet metrics (${hi.distinctMetrics + extra}, flat)`, (n) => at(n, (s) => s.monthlyCost!.metrics) + metricsMonthlyUSD(extra)],
    [`alarms (${alarms}, flat)`, () => alarms * PRICES.alarmStandard],
    ['log ingestion', (n) => at(n, (s) => s.monthlyCost!.logs)],
    ['Lambda', (n) => at(n, (s) => s.monthlyCost!.lambda)],
    ['Step Functions, audit events, SNS', (n) => at(n, (s) => s.monthlyCost!.stepFunctions + s.monthlyCost!.eventBridge + s.monthlyCost!.sns)],
    ...(results.findingsExport ? [['Security Hub ingestion (healthy month)', (n: number) => securityHubHealthyMonthUSD(results.findingsExport, n) ?? 0] as [string, (n: number) => number]] : []),
    ...(imdsv2 ? [['IMDSv2 readiness (daily `GetMetricData`)', (n: number) => (imdsv2.dailyRefresh.usdPerMonth * n) / imdsv2.instances] as [string, (n: number) => number]] : []),
    ['KMS key of the alarm topic', () => FIXED_MONTHLY_USD.kmsKey],
    ['dashboard', () => FIXED_MONTHLY_USD.dashboard],
    ['Secrets Manager secrets (continuation key, IMDSv2 record key)', () => 2 * FIXED_MONTHLY_USD.secret],
  ];
  const total = (n: number): number => lines.reduce((sum, [, f]) => sum + f(n), 0);
  const interpolated = COST_SIZES.filter((n) => !measured.some((s) => s.n === n));
  return [
    `| a month, us-east-1 list prices | ${COST_SIZES.map((n) => `${int(n)} instances`).join(' | ')} |`,
    `|---|${COST_SIZES.map(() => '---:').join('|')}|`,
    ...lines.map(([label, f]) => `| ${label} | ${COST_SIZES.map((n) => usd(f(n))).join(' | ')} |`),
    `| **total** | ${COST_SIZES.map((n) => `**${usd(total(n))}**`).join(' | ')} |`,
    '',
    `Usage lines from the benchmark (\`bench/results.json\`, ${results.generatedAt.slice(0, 10)}: ${measured.map((s) => int(s.n)).join(' and ')} instances measured${interpolated.length ? `; ${interpolated.map(int).join(', ')} interpolated line by line` : ''}${imdsv2 ? `; the IMDSv2 refresh measured at ${int(imdsv2.instances)} and scaled to the fleet` : ''})${extra ? `, plus ${extra} metrics the default \`imdsv2\` and \`accountDefaults\` reports publish every hour (from the code)` : ''}; alarms counted on the stack as it synthesizes; the KMS key, the dashboard and the secrets are list prices (the dashboard is free if the account has fewer than three). No free tier counted but Security Hub's.`,
  ].join('\n');
}

/** The launch-check figures (bench/launch.ts, key `launch`): one row per burst size, and the largest burst read out. */
export function launchTable(launch: { readonly bursts: Readonly<Record<string, LaunchMeasure>> }): string {
  const bursts = Object.values(launch.bursts).sort((a, b) => a.launched - b.launched);
  const big = bursts[bursts.length - 1]!;
  const states = big.byCheckState;
  const notReachable = (states['ssm-offline'] ?? 0) + (states['unmanaged'] ?? 0);
  const failures = Object.entries(states).filter(([k]) => !['checked', 'opted-out', 'ssm-offline', 'unmanaged'].includes(k));
  return [
    '| simultaneous launches | invocations | event → verdict, instances that came Online: p50 / p95 / max | last record (not-reachable ones, after the 600 s wait) | SendCommand calls |',
    '|---|---|---|---|---|',
    ...bursts.map((b) => `| ${int(b.launched)} | ${b.invocations} | ${b.onlineSecondsToVerdict.p50} s / ${b.onlineSecondsToVerdict.p95} s / ${b.onlineSecondsToVerdict.max} s | ${b.allReportedSeconds} s | ${b.apiCalls['SendCommand'] ?? 0} |`),
    '',
    `The agent's registration (L2) dominates: a verdict comes at most one retry interval (≤ 60 s) plus the 10 s window and a few seconds of collector after the agent is Online. At ${int(big.launched)} launches, ${states['checked'] ?? 0} were checked, ${states['opted-out'] ?? 0} opted out, ${notReachable} reported as not reachable (${states['ssm-offline'] ?? 0} \`ssm-offline\`, ${states['unmanaged'] ?? 0} \`unmanaged\`), ${failures.reduce((n, [, v]) => n + v, 0)} as a collector failure (${failures.map(([k, v]) => `${v} \`${k}\``).join(', ') || 'none'}), ${big.reported === big.launched ? `every one of the ${int(big.launched)} exactly once` : `${big.reported} of ${big.launched} reported`}.`,
  ].join('\n');
}

/** Replaces the block between `<!-- NAME:begin … -->` and `<!-- NAME:end -->` (the begin comment stays as it is). */
export function replaceBlock(text: string, name: string, content: string): string {
  const begin = new RegExp(`<!-- ${name}:begin[^>]*-->`);
  const m = begin.exec(text);
  const endTag = `<!-- ${name}:end -->`;
  const end = text.indexOf(endTag);
  if (!m || end < m.index) return text;
  return `${text.slice(0, m.index + m[0].length)}\n${content}\n${text.slice(end)}`;
}

/** Every generated block, by file. */
export function generatedFiles(alarms: StackAlarmCounts = stackAlarmCounts()): Record<string, (text: string) => string> {
  const results = readResults();
  return {
    'docs/configuration.md': (t) =>
      replaceBlock(replaceBlock(replaceBlock(replaceBlock(t, 'settings-table', settingsTable()), 'deployed-resources', resourceTable()), 'alarm-count', alarmCountText()), 'deploy-role-permissions', deployRolePermissions()),
    'docs/operations.md': (t) => replaceBlock(t, 'alarm-count', alarmCountText()),
    'docs/development.md': (t) => replaceBlock(t, 'bench-figures', benchTable(results)),
    'README.md': (t) => replaceBlock(t, 'cost-table', costTable(results, alarms.single)),
    'docs/organization.md': (t) =>
      replaceBlock(replaceBlock(replaceBlock(t, 'org-cost-table', orgCostTableFrom(results, alarms.org)), 'org-per-account', orgPerAccountText(results, alarms.org)), 'org-10k', orgTenThousandText(results.organization)),
    'docs/launch-check.md': (t) => replaceBlock(t, 'launch-table', launchTable(readResults<{ launch: { bursts: Record<string, LaunchMeasure> } }>().launch)),
    'bench/README.md': (t) =>
      replaceBlock(replaceBlock(replaceBlock(t, 'reading', readingOfFigures(readResults<ReadingResults>())), 'findings-export', renderFindingsExport(results.findingsExport)), 'org-10k', orgTenThousandText(results.organization)),
  };
}

/** Rewrites every generated block; returns the files it changed. */
export function writeGeneratedDocs(log: (line: string) => void = () => undefined): string[] {
  const changed: string[] = [];
  for (const [file, render] of Object.entries(generatedFiles())) {
    const path = join(ROOT, file);
    const before = readFileSync(path, 'utf8');
    const after = render(before);
    if (after !== before) {
      writeFileSync(path, after);
      changed.push(file);
    }
    log(`${after === before ? 'up to date' : 'rewrote   '} ${file}`);
  }
  return changed;
}

if (require.main === module) writeGeneratedDocs((line) => process.stdout.write(`${line}\n`));
