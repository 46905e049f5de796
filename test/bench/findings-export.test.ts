import { benchFindingsExport, monthlyFigures } from '../../bench/findings-export';
import { PRICES, securityHubMonthlyUSD } from '../../bench/cost';

describe('findings export benchmark (bench/findings-export.ts)', () => {
  it('a healthy fleet costs compliance puts once and nothing after; a fleet-wide regression costs N/100 imports and N puts', async () => {
    const phases = Object.fromEntries((await benchFindingsExport(300)).map((p) => [p.phase, p]));
    expect(phases['first run (healthy)']).toMatchObject({ importCalls: 0, compliancePuts: 300 });
    expect(phases['steady state']).toMatchObject({ importCalls: 0, ingestionEvents: 0, compliancePuts: 0 });
    expect(phases['fleet-wide regression']).toMatchObject({ importCalls: 3, ingestionEvents: 300, compliancePuts: 300 });
    expect(phases['the hour after']).toMatchObject({ importCalls: 0, compliancePuts: 0 });
    expect(phases['daily refresh of failing findings']).toMatchObject({ importCalls: 3, ingestionEvents: 300, compliancePuts: 0 });
    expect(phases['recovery (all fixed)']).toMatchObject({ importCalls: 3, ingestionEvents: 300, compliancePuts: 300 });
  }, 60_000);

  it('prices ingestion beyond the free 10,000 events per account-region and month', () => {
    expect(securityHubMonthlyUSD(10_000)).toBe(0);
    expect(securityHubMonthlyUSD(110_000)).toBeCloseTo(100_000 * PRICES.securityHubIngestionEvent);
    expect(monthlyFigures(10_000).healthy).toBe(0);
  });
});
