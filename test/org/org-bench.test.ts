/**
 * The organization benchmark's model and a small run of it: a simulated organization driven through
 * the real hub-run and hub-item and the simulated distributed Map covers every healthy account-region;
 * the hub's monthly cost per account at 1,000 accounts meets the target; the wall-time model.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchOrganization, ORG_COST_PER_ACCOUNT_TARGET_USD } from '../../bench/org';
import { hubTransitions, orgCostPerAccountAt, orgMonthlyCost } from '../../bench/org-cost';
import { modelledWallMs } from '../../bench/sim/distributed-map';

const results = JSON.parse(readFileSync(join(__dirname, '../../bench/results.json'), 'utf8')) as Parameters<typeof orgCostPerAccountAt>[1];

describe('organization benchmark', () => {
  it('covers every account-region but the deliberately broken ones (missing role, throttled, suspended), and skips an overlapping run', async () => {
    const r = await benchOrganization({ accounts: 40, regions: ['eu-west-1', 'us-east-1'], instancesPerAccountRegion: 2, missingRole: 1, throttled: 1 });
    expect(r).toMatchObject({ accountRegions: 80, unexpected: 0, broken: { missingRole: 1, throttled: 1, suspended: 1 }, overlapSecondRunSkipped: true });
    expect(r.expectedUncovered).toBe(6);
    expect(r.covered).toBe(74);
    // The lists never travel in the execution state.
    expect(r.largestStatePayloadBytes).toBeLessThan(2000);
  }, 120_000);

  it(`keeps the hub at or below $${ORG_COST_PER_ACCOUNT_TARGET_USD} a month per account at 1,000 accounts`, () => {
    expect(orgCostPerAccountAt(1000, results)).toBeLessThanOrEqual(ORG_COST_PER_ACCOUNT_TARGET_USD);
    // Two per-account metric series (the old model) would have broken it: the check can fail.
    const usage = { instances: 1000, lambdaUSD: 0.09, logsUSD: 0.12 };
    expect(orgMonthlyCost(1000, 1, usage, 15).total / 1000 + (2 * 1000 * 0.3) / 1000).toBeGreaterThan(ORG_COST_PER_ACCOUNT_TARGET_USD);
  });

  it('counts the Step Functions transitions per account-region and per run', () => {
    expect(hubTransitions(0, 0)).toBe(4);
    expect(hubTransitions(2, 3)).toBe(4 + 6 * 5);
  });

  it('models the Map wall time by list scheduling on MaxConcurrency slots', () => {
    expect(modelledWallMs([10, 10, 10, 10], 2, 0)).toBe(20);
    expect(modelledWallMs([30, 10, 10, 10], 2, 1)).toBe(33);
    expect(modelledWallMs([5, 5], 10, 0)).toBe(5);
    expect(modelledWallMs([], 10, 0)).toBe(0);
  });
});
