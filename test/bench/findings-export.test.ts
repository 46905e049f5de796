/**
 * The findings export's benchmark figures (bench/findings-export.ts, key `findingsExport` of
 * bench/results.json): a healthy fleet costs nothing per hour, a fleet-wide regression lands whole
 * within the runs the figures state, and its cost is a line of the monthly cost tables. Checked on a
 * fresh small fleet and on the figures written to results.json (when that file has them).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { costTable, readResults } from '../../bin/docs';
import { monthlyCost, PRICES, securityHubMonthlyUSD } from '../../bench/cost';
import { benchFindingsExport } from '../../bench/findings-export';
import { type FindingsExportKey, type FindingsExportSize, findingsExportTarget, renderFindingsExport, summarizeFindingsExport } from '../../bench/findings-export-figures';

function expectInvariants(s: FindingsExportSize): void {
  expect(s.steadyState).toEqual({ importCalls: 0, ingestionEvents: 0, compliancePuts: 0 });
  // Every instance's finding imported FAILED and ACTIVE, every instance NON_COMPLIANT, within the runs stated.
  expect(s.regression.failingFindings).toBe(s.n);
  expect(s.regression.nonCompliantInstances).toBe(s.n);
  expect(s.regression.runsToImportAll).toBeLessThanOrEqual(s.regression.runsToCatchUp);
  expect(s.regression.runsToCatchUp).toBeLessThanOrEqual(24);
  expect(s.phases.filter((p) => p.phase === 'fleet-wide regression' || p.phase.startsWith('regression, carried over'))).toHaveLength(s.regression.runsToCatchUp);
  expect(s.regression.ingestionEvents).toBe(s.n);
  expect(s.regression.compliancePuts).toBe(s.n);
  expect(s.recovery.failingFindings).toBe(0);
  expect(s.recovery.nonCompliantInstances).toBe(0);
  expect(findingsExportTarget(s).pass).toBe(true);
}

describe('findings export benchmark (bench/findings-export.ts)', () => {
  let small: FindingsExportSize;
  beforeAll(async () => {
    small = summarizeFindingsExport(300, await benchFindingsExport(300), 0);
  }, 60_000);

  it('a healthy fleet costs compliance puts once and nothing after; a fleet-wide regression costs N/100 imports and N puts', () => {
    const phases = Object.fromEntries(small.phases.map((p) => [p.phase, p]));
    expect(phases['first run (healthy)']).toMatchObject({ importCalls: 0, compliancePuts: 300 });
    expect(phases['steady state']).toMatchObject({ importCalls: 0, ingestionEvents: 0, compliancePuts: 0 });
    expect(phases['fleet-wide regression']).toMatchObject({ importCalls: 3, ingestionEvents: 300, compliancePuts: 300, failingFindings: 300, nonCompliantInstances: 300 });
    expect(phases['the hour after']).toMatchObject({ importCalls: 0, compliancePuts: 0 });
    expect(phases['daily refresh of failing findings']).toMatchObject({ importCalls: 3, ingestionEvents: 300, compliancePuts: 0 });
    expect(phases['recovery (all fixed)']).toMatchObject({ importCalls: 3, ingestionEvents: 300, compliancePuts: 300, failingFindings: 0, nonCompliantInstances: 0 });
  });

  it('sums up to no call in steady state and a regression imported whole in its first run', () => {
    expectInvariants(small);
    expect(small.regression).toMatchObject({ runsToImportAll: 1, runsToCatchUp: 1, firstRun: { importCalls: 3 } });
    expect(small.dailyRefreshEvents).toBe(300);
  });

  it('holds when a run cannot put every compliance item (the rest carried to the next runs)', async () => {
    // 30 s of export a run: 300 puts at 10/s take 3 runs, the imports still all fit in the first.
    const s = summarizeFindingsExport(300, await benchFindingsExport(300, 30_000), 0);
    expectInvariants(s);
    expect(s.regression.runsToImportAll).toBe(1);
    expect(s.regression.runsToCatchUp).toBeGreaterThan(1);
    expect(s.recovery.runsToCatchUp).toBeGreaterThan(1);
  }, 60_000);

  it('prices ingestion beyond the free 10,000 events per account-region and month, as a line of the monthly cost', () => {
    expect(securityHubMonthlyUSD(10_000)).toBe(0);
    expect(securityHubMonthlyUSD(110_000)).toBeCloseTo(100_000 * PRICES.securityHubIngestionEvent);
    expect(small.monthlyUSD).toEqual({ healthy: 0, oneRegressionAndRecovery: 0, allFailingAllMonth: 0 });
    const usage = { seconds: 10, logBytes: 1000, invocations: 1 };
    const base = { hourlyCheck: usage, nightlyRemediation: usage, checkMetrics: 10, remediationMetrics: 5, alarms: 10 };
    const withHub = monthlyCost({ ...base, securityHubEventsPerMonth: 110_000 });
    expect(withHub.securityHub).toBe(3);
    expect(withHub.total).toBeCloseTo(monthlyCost(base).total + 3, 2);
  });

  it('puts the Security Hub line in the README cost table and renders its own section from results.json', () => {
    const key: FindingsExportKey = { model: { run: 'test' }, sizes: [small] };
    const table = costTable({ ...readResults(), findingsExport: key }, 12);
    expect(table).toMatch(/^\| Security Hub ingestion \(healthy month\) \| \$0\.00 \| \$0\.00 \| \$0\.00 \|$/m);
    const section = renderFindingsExport(key);
    expect(section).toContain('| steady state, one hourly run: BatchImportFindings calls / ingestion events / PutComplianceItems calls | 0 / 0 / 0 |');
    expect(section).toContain('| fleet-wide regression: runs until every finding is imported / until every compliance item is put | 1 / 1 |');
  });

  it('the figures in results.json (when present) keep the invariants at every size', () => {
    const results = JSON.parse(readFileSync(join(__dirname, '../../bench/results.json'), 'utf8')) as { findingsExport?: FindingsExportKey };
    for (const s of results.findingsExport?.sizes ?? []) expectInvariants(s);
  });
});
