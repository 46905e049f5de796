/**
 * The `findingsExport` key of bench/results.json (issue 22, point 5): the figures of
 * bench/findings-export.ts summed up per fleet size, its target, and their Markdown. Free of the
 * simulator (only ./cost), because `npm run docs` renders them from results.json.
 */
import { HOURS_PER_MONTH, securityHubMonthlyUSD } from './cost';

/** One hourly run's figures. */
export interface PhaseFigures {
  readonly phase: string;
  readonly importCalls: number;
  readonly ingestionEvents: number;
  readonly compliancePuts: number;
  /** Imports and puts left for the next run. */
  readonly deferred: number;
  /** Virtual seconds the export took (pacing included). */
  readonly seconds: number;
  /** After the run, in the simulated account: ACTIVE findings with Compliance FAILED, and instances with a NON_COMPLIANT item. */
  readonly failingFindings: number;
  readonly nonCompliantInstances: number;
}

/** An episode (a fleet-wide regression, its recovery): its first run and the runs that carried the rest. */
export interface EpisodeFigures {
  readonly firstRun: { readonly importCalls: number; readonly ingestionEvents: number; readonly compliancePuts: number };
  /** Hourly runs until nothing was left for the next (1: all in the first). */
  readonly runsToCatchUp: number;
  /** Runs until every instance's finding was in Security Hub with its new state. */
  readonly runsToImportAll: number;
  readonly importCalls: number;
  readonly ingestionEvents: number;
  readonly compliancePuts: number;
  /** After the last of those runs, in the simulated account. */
  readonly failingFindings: number;
  readonly nonCompliantInstances: number;
}

/** One fleet size. */
export interface FindingsExportSize {
  readonly n: number;
  /** How the clients reached the simulated account (bench/drive.ts): `wire` through the SDK's serializers, `mock` without. */
  readonly transport: 'wire' | 'mock';
  readonly steadyState: { readonly importCalls: number; readonly ingestionEvents: number; readonly compliancePuts: number };
  readonly regression: EpisodeFigures;
  readonly recovery: EpisodeFigures;
  /** Ingestion events of the daily refresh of failing findings (a whole fleet failing). */
  readonly dailyRefreshEvents: number;
  /** Monthly Security Hub ingestion cost of the account-region, from the measured events (free tier counted: it is per account-region and month). */
  readonly monthlyUSD: { readonly healthy: number; readonly oneRegressionAndRecovery: number; readonly allFailingAllMonth: number };
  readonly phases: readonly PhaseFigures[];
  readonly wallSeconds: number;
}

/** The `findingsExport` key of results.json. */
export interface FindingsExportKey {
  readonly model: Readonly<Record<string, string>>;
  readonly sizes: readonly FindingsExportSize[];
}

const sum = (ps: readonly PhaseFigures[], f: (p: PhaseFigures) => number): number => ps.reduce((s, p) => s + f(p), 0);
const round2 = (v: number): number => Math.round(v * 100) / 100;

function episode(phases: readonly PhaseFigures[], first: string, carried: string, done: (p: PhaseFigures) => boolean): EpisodeFigures {
  const k = phases.findIndex((p) => p.phase === first);
  if (k < 0) throw new Error(`no phase "${first}"`);
  let end = k;
  while (phases[end + 1]?.phase.startsWith(carried)) end++;
  const runs = phases.slice(k, end + 1);
  const last = runs[runs.length - 1]!;
  const allIn = runs.findIndex(done);
  const f = runs[0]!;
  return {
    firstRun: { importCalls: f.importCalls, ingestionEvents: f.ingestionEvents, compliancePuts: f.compliancePuts },
    runsToCatchUp: last.deferred === 0 ? runs.length : Number.POSITIVE_INFINITY,
    runsToImportAll: allIn < 0 ? Number.POSITIVE_INFINITY : allIn + 1,
    importCalls: sum(runs, (p) => p.importCalls),
    ingestionEvents: sum(runs, (p) => p.ingestionEvents),
    compliancePuts: sum(runs, (p) => p.compliancePuts),
    failingFindings: last.failingFindings,
    nonCompliantInstances: last.nonCompliantInstances,
  };
}

/** Sums up the phases of one fleet size (bench/findings-export.ts). */
export function summarizeFindingsExport(n: number, phases: readonly PhaseFigures[], wallSeconds: number, transport: 'wire' | 'mock' = 'wire'): FindingsExportSize {
  const by = (name: string): PhaseFigures => {
    const p = phases.find((x) => x.phase === name);
    if (!p) throw new Error(`no phase "${name}"`);
    return p;
  };
  const steady = by('steady state');
  const regression = episode(phases, 'fleet-wide regression', 'regression, carried over', (p) => p.failingFindings === n);
  const recovery = episode(phases, 'recovery (all fixed)', 'recovery, carried over', (p) => p.failingFindings === 0);
  const dailyRefreshEvents = by('daily refresh of failing findings').ingestionEvents;
  const steadyMonth = steady.ingestionEvents * HOURS_PER_MONTH;
  return {
    n,
    transport,
    steadyState: { importCalls: steady.importCalls, ingestionEvents: steady.ingestionEvents, compliancePuts: steady.compliancePuts },
    regression,
    recovery,
    dailyRefreshEvents,
    monthlyUSD: {
      healthy: round2(securityHubMonthlyUSD(steadyMonth)),
      oneRegressionAndRecovery: round2(securityHubMonthlyUSD(steadyMonth + regression.ingestionEvents + recovery.ingestionEvents)),
      // The regression's import, then a refresh a day for the rest of the month.
      allFailingAllMonth: round2(securityHubMonthlyUSD(regression.ingestionEvents + dailyRefreshEvents * (HOURS_PER_MONTH / 24 - 1))),
    },
    phases,
    wallSeconds,
  };
}

/** The target of one size: nothing in steady state; after a fleet-wide regression every finding imported and every instance non-compliant in Compliance, all within a day of hourly runs. */
export function findingsExportTarget(s: FindingsExportSize): { n: number; name: string; value: string; limit: string; pass: boolean } {
  const steadyCalls = s.steadyState.importCalls + s.steadyState.compliancePuts;
  const r = s.regression;
  return {
    n: s.n,
    name: 'findings export: no call in steady state; a fleet-wide regression in Security Hub and Compliance within a day of hourly runs',
    value: `${steadyCalls} calls; ${r.failingFindings}/${s.n} findings in ${r.runsToImportAll} run(s), ${r.nonCompliantInstances}/${s.n} instances in ${r.runsToCatchUp}`,
    limit: `0 calls; ${s.n}/${s.n} within 24 runs`,
    pass: steadyCalls === 0 && r.failingFindings === s.n && r.nonCompliantInstances === s.n && r.runsToCatchUp <= 24 && r.runsToImportAll <= 24,
  };
}

/**
 * The healthy month's Security Hub ingestion of a fleet of `n` for the cost tables: the measured
 * size's steady-state events per instance scaled to `n` (undefined when nothing was measured).
 */
export function securityHubHealthyMonthUSD(key: FindingsExportKey | undefined, n: number): number | undefined {
  const sizes = key?.sizes ?? [];
  if (sizes.length === 0) return undefined;
  const s = sizes.find((x) => x.n === n) ?? [...sizes].sort((a, b) => Math.abs(a.n - n) - Math.abs(b.n - n))[0]!;
  return securityHubMonthlyUSD((s.steadyState.ingestionEvents / s.n) * n * HOURS_PER_MONTH);
}

const int = (v: number): string => v.toLocaleString('en-US');
const usd = (v: number): string => `$${v.toFixed(2)}`;
const runs = (v: number): string => (Number.isFinite(v) ? String(v) : 'not within the runs measured');

/** The generated section of bench/README.md. */
export function renderFindingsExport(key: FindingsExportKey | undefined): string {
  if (!key || key.sizes.length === 0) return 'Not measured yet: `npm run bench` writes the `findingsExport` key of results.json.';
  const sizes = [...key.sizes].sort((a, b) => a.n - b.n);
  const col = (f: (s: FindingsExportSize) => string): string => sizes.map(f).join(' | ');
  const calls = (c: { importCalls: number; ingestionEvents: number; compliancePuts: number }): string => `${int(c.importCalls)} / ${int(c.ingestionEvents)} / ${int(c.compliancePuts)}`;
  return [
    `| per account-region | ${col((s) => `N = ${int(s.n)}`)} |`,
    `|---|${sizes.map(() => '---').join('|')}|`,
    `| steady state, one hourly run: BatchImportFindings calls / ingestion events / PutComplianceItems calls | ${col((s) => calls(s.steadyState))} |`,
    `| fleet-wide regression, its first run | ${col((s) => calls(s.regression.firstRun))} |`,
    `| fleet-wide regression: runs until every finding is imported / until every compliance item is put | ${col((s) => `${runs(s.regression.runsToImportAll)} / ${runs(s.regression.runsToCatchUp)}`)} |`,
    `| fleet-wide regression, all its runs | ${col((s) => calls(s.regression))} |`,
    `| recovery (all fixed): runs until every finding is archived / every item put | ${col((s) => `${runs(s.recovery.runsToImportAll)} / ${runs(s.recovery.runsToCatchUp)}`)} |`,
    `| Security Hub ingestion a month: healthy | ${col((s) => usd(s.monthlyUSD.healthy))} |`,
    `| … one fleet-wide regression and its recovery | ${col((s) => usd(s.monthlyUSD.oneRegressionAndRecovery))} |`,
    `| … the whole fleet failing all month (refreshed daily) | ${col((s) => usd(s.monthlyUSD.allFailingAllMonth))} |`,
    '',
    `Every hourly run of each phase, at each size, is in \`results.json\` (\`findingsExport.sizes[].phases\`). ${Object.entries(key.model).map(([k, v]) => `${k}: ${v}`).join('; ')}. Clients: ${sizes.map((s) => `${int(s.n)} ${s.transport === 'wire' ? 'through the SDK serializers (bench/wire)' : 'without serializing (aws-sdk-client-mock, same answers)'}`).join(', ')}.`,
  ].join('\n');
}
