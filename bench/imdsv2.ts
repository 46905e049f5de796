/**
 * IMDSv2 readiness in the benchmark: the check handler at N instances on the simulated account,
 * (1) with `imdsv2: off` (the baseline), (2) on the day of a readiness refresh (empty snapshot:
 * GetMetricData for the fleet), (3) an hour later (fresh snapshot: no GetMetricData). Reports the
 * check's simulated time and API calls of (1) and (3), which must match, and the refresh's own
 * calls, datapoints, time and cost separately. Run alone: `npx tsx bench/imdsv2.ts [N]` (merges the
 * `imdsv2` key of results.json; bench/run.ts merges its own keys and leaves this one).
 */
import './env';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchInstanceMetrics } from '../lambda/aws/cloudwatch-metrics';
import { createEc2ImdsPort } from '../lambda/aws/imds';
import { createImdsv2Ec2Port } from '../lambda/aws/imdsv2-ec2';
import { Ec2SsmInventory } from '../lambda/aws/inventory';
import { MemorySnapshotStore } from '../lambda/aws/readiness-cache';
import { SsmRunCommand } from '../lambda/aws/run-command';
import { parseSettings } from '../lambda/core/settings';
import { createCheckHandler } from '../lambda/handlers/check';
import type { Imdsv2CheckPorts } from '../lambda/engine/imdsv2';
import { createWorld, LAMBDA_TIMEOUT_MS, type World } from './drive';
import { mergeResults } from './results-file';
import { SIM_DOCUMENT_PINS } from './sim/ssm';

/** GetMetricData: $0.01 per 1,000 metrics requested (CloudWatch pricing, us-east-1). */
export const GET_METRIC_DATA_USD_PER_1000_METRICS = 0.01;
/** S3 Standard: $0.0004 per 1,000 GET, $0.005 per 1,000 PUT. */
const S3_GET_USD = 0.0004 / 1000;
const S3_PUT_USD = 0.005 / 1000;

interface RunFigures {
  readonly simulatedSeconds: number;
  readonly apiCalls: Record<string, number>;
  readonly apiCallsTotal: number;
  readonly snapshotReads: number;
  readonly snapshotWrites: number;
}

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const quietMetrics = { addMetric: () => undefined, publishStoredMetrics: () => undefined } as never;

async function runOnce(world: World, settingsEnv: Record<string, string>, store?: MemorySnapshotStore): Promise<RunFigures> {
  const { clock, account, clients } = world;
  // The simulated account's documents, pinned as the construct pins the stack's.
  const settings = parseSettings({ ...SIM_DOCUMENT_PINS, ...settingsEnv });
  const retry = { random: world.random };
  const cloudwatch = new CloudWatchClient({ region: 'us-east-1' });
  const imdsv2: Imdsv2CheckPorts | undefined = store
    ? {
        metrics: new CloudWatchInstanceMetrics({ cloudwatch, clock, retry }),
        store,
        ec2: createImdsv2Ec2Port(createEc2ImdsPort({ ec2: clients.ec2, clock, optOutTagKey: settings.optOutTagKey }), clients.ec2, clock),
        audit: async () => undefined,
      }
    : undefined;
  const handler = createCheckHandler({
    settings,
    inventory: new Ec2SsmInventory({ ec2: clients.ec2, ssm: clients.ssm, clock, optOutTagKey: settings.optOutTagKey, retry }),
    runCommand: new SsmRunCommand({ ssm: clients.ssm, clock, retry }),
    clock,
    logger: silent,
    metrics: quietMetrics,
    ...(imdsv2 ? { imdsv2 } : {}),
  });
  account.resetStats();
  account.startRun();
  const reads = store?.reads ?? 0;
  const writes = store?.writes ?? 0;
  const t0 = clock.now();
  await clock.run(() => handler({}, { getRemainingTimeInMillis: () => LAMBDA_TIMEOUT_MS - (clock.now() - t0) }));
  const apiCalls = { ...account.stats.calls };
  return {
    simulatedSeconds: Math.round(clock.now() - t0) / 1000,
    apiCalls,
    apiCallsTotal: Object.values(apiCalls).reduce((a, b) => a + b, 0),
    snapshotReads: (store?.reads ?? 0) - reads,
    snapshotWrites: (store?.writes ?? 0) - writes,
  };
}

/** The three runs and the comparison. */
export async function benchImdsv2(n: number): Promise<Record<string, unknown>> {
  const base = createWorld(n);
  let baseline: RunFigures;
  try {
    baseline = await runOnce(base, { TSG_IMDSV2: 'off' });
  } finally {
    base.account.restore();
  }
  const world = createWorld(n);
  const store = new MemorySnapshotStore();
  let refresh: RunFigures;
  let cached: RunFigures;
  let refreshWindow: [number, number] | undefined;
  let datapoints: number;
  let metricsRequested: number;
  try {
    const cw0 = { ...world.account.cloudwatch.stats };
    const t0 = world.clock.now();
    refresh = await runOnce(world, {}, store);
    const first = world.account.firstAt['GetMetricData'];
    const last = world.account.lastAt['GetMetricData'];
    if (first !== undefined && last !== undefined) refreshWindow = [(first - t0) / 1000, (last - t0) / 1000];
    datapoints = world.account.cloudwatch.stats.datapoints - cw0.datapoints;
    metricsRequested = world.account.cloudwatch.stats.queries - cw0.queries;
    await world.clock.run(() => world.clock.sleep(3_600_000));
    cached = await runOnce(world, {}, store);
  } finally {
    world.account.restore();
  }
  const getMetricData = refresh.apiCalls['GetMetricData'] ?? 0;
  const without = (r: RunFigures): number => r.apiCallsTotal - (r.apiCalls['GetMetricData'] ?? 0);
  const lastRefreshCall = refreshWindow?.[1] ?? 0;
  return {
    instances: n,
    baselineImdsv2Off: { simulatedSeconds: baseline.simulatedSeconds, apiCallsTotal: baseline.apiCallsTotal },
    hourlyWithFreshSnapshot: {
      simulatedSeconds: cached.simulatedSeconds,
      apiCallsTotal: cached.apiCallsTotal,
      getMetricDataCalls: cached.apiCalls['GetMetricData'] ?? 0,
      snapshotReads: cached.snapshotReads,
      // Same calls; time within 0.1 s (the second run starts an hour later, off the first one's phase).
      unchangedFromBaseline: Math.abs(cached.simulatedSeconds - baseline.simulatedSeconds) <= 0.1 && cached.apiCallsTotal === baseline.apiCallsTotal,
    },
    dailyRefresh: {
      checkSimulatedSeconds: refresh.simulatedSeconds,
      checkApiCallsWithoutGetMetricData: without(refresh),
      getMetricDataCalls: getMetricData,
      datapoints,
      metricsRequested,
      refreshSecondsFromRunStart: refreshWindow,
      refreshEndsBeforeCheck: lastRefreshCall <= refresh.simulatedSeconds,
      snapshotWrites: refresh.snapshotWrites,
      usdPerRefresh: Number(((metricsRequested / 1000) * GET_METRIC_DATA_USD_PER_1000_METRICS).toFixed(4)),
      usdPerMonth: Number(((metricsRequested / 1000) * GET_METRIC_DATA_USD_PER_1000_METRICS * 30.42 + 30.42 * S3_PUT_USD + 30.42 * 24 * 2 * S3_GET_USD).toFixed(2)),
      targetAtMost20CallsPer10k: getMetricData <= Math.ceil((20 * n) / 10_000),
    },
  };
}

// Run alone: `npx tsx bench/imdsv2.ts [N]`.
if (require.main === module) {
  const n = Number(process.argv[2] ?? 10_000);
  void benchImdsv2(n).then((r) => {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    if (n === 10_000) mergeResults({ imdsv2: r });
  });
}

