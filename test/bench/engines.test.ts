/**
 * A tiny end-to-end run of both real engines on the simulated account: every instance is
 * accounted for, nothing is lowered, nothing is lost to throttling. (The benchmark proper runs
 * N = 1,000 and 10,000 with `npm run bench`.)
 */
import { REMEDIATION_METRICS } from '../../lambda/core/fleet/metric-names';
import { HOURLY_CHECK_METRIC_NAMES } from '../../lambda/core/fleet/aggregate';
import { COVERAGE_METRICS } from '../../lambda/core/fleet/coverage';

// The benchmark uses the Lambda's own Powertools Logger/Metrics and captures what they print; the
// test setup silences them at creation, so they are loaded (with the drive) only after undoing that.
const saved = { log: process.env['POWERTOOLS_LOG_LEVEL'], metrics: process.env['POWERTOOLS_METRICS_DISABLED'] };
let benchCheck: typeof import('../../bench/drive').benchCheck;
let benchRemediation: typeof import('../../bench/drive').benchRemediation;
beforeAll(async () => {
  process.env['POWERTOOLS_LOG_LEVEL'] = 'INFO';
  delete process.env['POWERTOOLS_METRICS_DISABLED'];
  ({ benchCheck, benchRemediation } = await import('../../bench/drive'));
});
afterAll(() => {
  if (saved.log === undefined) delete process.env['POWERTOOLS_LOG_LEVEL'];
  else process.env['POWERTOOLS_LOG_LEVEL'] = saved.log;
  if (saved.metrics !== undefined) process.env['POWERTOOLS_METRICS_DISABLED'] = saved.metrics;
});

describe('the real engines on a simulated fleet of 200', () => {
  it('check: evaluates every running instance once and emits the fixed fleet metric set', async () => {
    const { measure, world } = await benchCheck(200);
    world.account.restore();
    expect(measure.completed).toBe(true);
    const states = Object.values(measure.byCheckState).reduce((a, b) => a + b, 0);
    expect(measure.instancesSeen).toBe(200);
    expect(states).toBe(200);
    // No instance is both unmanaged and checked: checked ≤ online targets.
    expect(measure.byCheckState['checked'] ?? 0).toBeLessThanOrEqual(measure.onlineTargets);
    expect(measure.byCheckState['checked'] ?? 0).toBeGreaterThan(150);
    // The simulated fleet is healthy on the rarer guest causes: their sparse counts are not published.
    // Run as deployed (bench/check-ports.ts): the fleet is not fully SSM-covered, so SsmCoveragePercent is published.
    expect(measure.distinctMetrics.map((m) => m.split('/')[1]).sort()).toEqual([...HOURLY_CHECK_METRIC_NAMES, COVERAGE_METRICS.percent].sort());
    expect(measure.distinctMetrics.every((m) => m.endsWith('/service=timesync-guard'))).toBe(true);
    // One structured record per instance reached the log.
    expect(measure.logLines).toBeGreaterThanOrEqual(200);
    // Every simulated guest prints the compressed envelope, as the real collectors do: each report
    // fits Details, so nothing is fetched again.
    expect(measure.apiCalls['GetCommandInvocation'] ?? 0).toBe(0);
    expect(measure.simulatedSeconds).toBeLessThan(900);
  });

  it('remediation: raises every hop limit it must, lowers none, finishes, and audits every action', async () => {
    const { measure, world } = await benchRemediation(200);
    world.account.restore();
    expect(measure.done).toBe(true);
    expect(measure.lowered).toBe(0);
    // Every instance that needed the change got exactly one modification (one that vanished mid-run may or may not).
    const vanishing = world.fleet.filter((x) => x.vanishAfterMs !== undefined).length;
    expect(measure.instancesModified).toBeGreaterThanOrEqual(measure.hopLimitChangesNeeded);
    expect(measure.instancesModified).toBeLessThanOrEqual(measure.hopLimitChangesNeeded + vanishing);
    expect(measure.modifyCalls - (measure.throttled['ModifyInstanceMetadataOptions'] ?? 0)).toBe(measure.instancesModified);
    const stillLow = world.fleet.filter((x) => !x.optedOut && !world.account.isGone(x) && x.hopLimit < 2);
    expect(stillLow).toEqual([]);
    expect(measure.auditEvents).toBeGreaterThanOrEqual(measure.instancesModified);
    // The next night finds nothing left to change on the IMDS side.
    expect(measure.nextNight.modifyCalls).toBe(0);
    // Its counts are published only when not 0: nothing succeeds on a night with nothing to fix, and the heartbeat is always there.
    const night = measure.nextNight.distinctMetrics.map((m) => m.split('/')[1]);
    expect(night).toContain(REMEDIATION_METRICS.remediationCompleted);
    expect(night).not.toContain(REMEDIATION_METRICS.succeeded);
    for (const m of night) expect(Object.values(REMEDIATION_METRICS)).toContain(m);
  });
});

describe('the benchmark gives the same simulated figures on the wire as with mocked clients', () => {
  // `npm run bench` reports the wire runs (real SDK serializers and parsers); the quick mode mocks
  // the clients. The simulated account must not be able to tell them apart.
  const figures = (m: { simulatedSeconds: number; apiCallsTotal: number; apiCalls: Record<string, number> }) => ({ seconds: m.simulatedSeconds, total: m.apiCallsTotal, byAction: m.apiCalls });

  it('check of 300', async () => {
    const mocked = await benchCheck(300, {}, {}, {}, 'mock');
    mocked.world.account.restore();
    const wired = await benchCheck(300, {}, {}, {}, 'wire');
    wired.world.account.restore();
    expect(figures(wired.measure)).toEqual(figures(mocked.measure));
    expect(wired.measure.byCheckState).toEqual(mocked.measure.byCheckState);
    // It did go through the wire: the SDK serialized requests and parsed XML and JSON answers.
    expect((wired.world.clients as { wire?: { stats: { responseBytes: number } } }).wire?.stats.responseBytes).toBeGreaterThan(100_000);
  });

  it('remediation of 300', async () => {
    const mocked = await benchRemediation(300, {}, 'mock');
    mocked.world.account.restore();
    const wired = await benchRemediation(300, {}, 'wire');
    wired.world.account.restore();
    expect(figures(wired.measure)).toEqual(figures(mocked.measure));
    expect(wired.measure.instancesModified).toBe(mocked.measure.instancesModified);
  });
});
