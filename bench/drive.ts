/**
 * Drives the REAL handlers (`createCheckHandler`, `createRemediateHandler`: the code the Lambdas
 * run, with the real inventory, Run Command, IMDS, audit and notifier adapters and the real
 * Powertools Logger/Metrics) against the simulated account on the discrete-event clock, and
 * measures calls, virtual time, CPU, memory, log bytes and the distinct EMF metrics.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { Ec2SsmInventory } from '../lambda/aws/inventory';
import { logger as lambdaLogger, metrics as lambdaMetrics } from '../lambda/aws/powertools';
import { createSnsNotifier } from '../lambda/aws/notify';
import { SsmRunCommand } from '../lambda/aws/run-command';
import { parseSettings } from '../lambda/core/settings';
import { createCheckHandler } from '../lambda/handlers/check';
import { createRemediateHandler } from '../lambda/handlers/remediate';
import { SimAccount, type SimAccountOptions } from './sim/account';
import { wireClients } from './wire/clients';
import { generateFleet, prng, type FleetOptions, type SimInstance } from './sim/fleet';
import { DiscreteEventClock } from './sim/virtual-clock';
import { SIM_DOCUMENT_PINS } from './sim/ssm';
import { deployedCheckPorts, spreadNetwork, withCoverageAccount } from './check-ports';

/** Lambda's maximum timeout, the stack's setting for both functions (lib/constructs/guard-function.ts). */
export const LAMBDA_TIMEOUT_MS = 900_000;

/** What one captured run wrote to stdout (the Lambda's log stream). */
export interface Captured {
  /** Bytes of log output (structured records + EMF). */
  bytes: number;
  /** Log records (lines). */
  lines: number;
  /** Distinct `namespace/metric/dimensions` in the EMF records. */
  metrics: Set<string>;
  /** Metric values emitted (sum of values-array lengths). */
  metricValues: number;
}

/**
 * The `_X_AMZN_TRACE_ID` Lambda sets on every invocation, traced or not (a function without active
 * tracing gets a pass-through header with no `Sampled=1`: the X-Ray SDKs' pass-through support,
 * aws/aws-xray-sdk-node#660), so the logger sees what it sees in Lambda. `sampled`: an invocation
 * X-Ray records (the remediate function, invoked by the traced state machine).
 */
export function lambdaTraceHeader(sampled: boolean): string {
  return sampled ? 'Root=1-6570f3a0-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1;Lineage=0a1b2c3d:0' : 'Root=1-6570f3a0-0123456789abcdef01234567;Lineage=0a1b2c3d:0';
}

/**
 * Replaces process.stdout.write (where Powertools' Logger and Metrics print) while `fn` runs:
 * counts bytes, parses EMF records, swallows the text so the benchmark's own output stays readable.
 * The trace header is set as Lambda sets it (default: an invocation X-Ray does not record).
 */
export async function captureStdout<T>(fn: () => Promise<T>, traceHeader: string = lambdaTraceHeader(false)): Promise<{ result: T; captured: Captured }> {
  const captured: Captured = { bytes: 0, lines: 0, metrics: new Set(), metricValues: 0 };
  const original = process.stdout.write.bind(process.stdout);
  const originalErr = process.stderr.write.bind(process.stderr);
  let partial = '';
  const onLine = (line: string): void => {
    if (line.trim() === '') return;
    captured.lines++;
    captured.bytes += Buffer.byteLength(line, 'utf8') + 1;
    if (!line.includes('"_aws"')) return;
    try {
      const rec = JSON.parse(line) as { _aws?: { CloudWatchMetrics?: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } } & Record<string, unknown>;
      for (const d of rec._aws?.CloudWatchMetrics ?? []) {
        for (const m of d.Metrics) {
          const v = rec[m.Name];
          captured.metricValues += Array.isArray(v) ? v.length : 1;
          for (const dims of d.Dimensions) {
            const dimText = dims.map((k) => `${k}=${String(rec[k])}`).join(',');
            captured.metrics.add(`${d.Namespace}/${m.Name}/${dimText}`);
          }
        }
      }
    } catch {
      // not JSON: a plain log line
    }
  };
  const sink = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    partial += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      onLine(partial.slice(0, nl));
      partial = partial.slice(nl + 1);
    }
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof process.stdout.write;
  // Lambda ships stdout and stderr to the same log stream; both are billed as ingestion.
  process.stdout.write = sink;
  process.stderr.write = sink;
  const savedTrace = process.env['_X_AMZN_TRACE_ID'];
  process.env['_X_AMZN_TRACE_ID'] = traceHeader;
  try {
    const result = await fn();
    if (partial) onLine(partial);
    return { result, captured };
  } finally {
    process.stdout.write = original;
    process.stderr.write = originalErr;
    if (savedTrace === undefined) delete process.env['_X_AMZN_TRACE_ID'];
    else process.env['_X_AMZN_TRACE_ID'] = savedTrace;
  }
}

/** Peak memory seen by the sampler. */
export class MemorySampler {
  peakRss = 0;
  peakHeapUsed = 0;
  sample = (): void => {
    const m = process.memoryUsage();
    if (m.rss > this.peakRss) this.peakRss = m.rss;
    if (m.heapUsed > this.peakHeapUsed) this.peakHeapUsed = m.heapUsed;
  };
}

/** One driven run's figures. */
export interface RunMeasure {
  /** API calls by action (every request, throttled ones included). */
  apiCalls: Record<string, number>;
  apiCallsTotal: number;
  throttled: Record<string, number>;
  errors: Record<string, number>;
  simulatedSeconds: number;
  cpuSeconds: number;
  peakRssMB: number;
  peakHeapUsedMB: number;
  logBytes: number;
  logLines: number;
  distinctMetrics: string[];
  metricValues: number;
  /** Wall milliseconds the simulation took. */
  wallMs: number;
  /** RSS when the run started (modules loaded, fleet and mocks built). */
  startRssMB: number;
  /** Seconds from the run start to the first and last request of each action. */
  timeline: Record<string, [number, number]>;
}

/** Where a measured run starts: virtual and wall time, RSS and CPU. */
interface RunStart {
  readonly t0: number;
  readonly wall0: number;
  readonly startRss: number;
  readonly cpu0: NodeJS.CpuUsage;
}

/** Opens a measured run on the account (counters reset to this run). */
function startMeasuredRun(world: World): RunStart {
  world.account.startRun();
  const start = { t0: world.clock.now(), wall0: Date.now(), startRss: process.memoryUsage.rss(), cpu0: process.cpuUsage() };
  world.mem.sample();
  return start;
}

function measure(world: World, start: RunStart, cap: Captured): RunMeasure {
  const { account, mem } = world;
  const { t0, wall0, startRss } = start;
  const cpu = process.cpuUsage(start.cpu0);
  mem.sample();
  const seconds = (world.clock.now() - t0) / 1000;
  const apiCalls = { ...account.stats.calls };
  const timeline: Record<string, [number, number]> = {};
  for (const [k, v] of Object.entries(account.firstAt)) timeline[k] = [Math.round(v - t0) / 1000, Math.round((account.lastAt[k] ?? v) - t0) / 1000];
  return {
    apiCalls,
    apiCallsTotal: Object.values(apiCalls).reduce((a, b) => a + b, 0),
    throttled: { ...account.stats.throttled },
    errors: { ...account.stats.errors },
    simulatedSeconds: seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMB: mem.peakRss / 2 ** 20,
    peakHeapUsedMB: mem.peakHeapUsed / 2 ** 20,
    logBytes: cap.bytes,
    logLines: cap.lines,
    distinctMetrics: [...cap.metrics].sort(),
    metricValues: cap.metricValues,
    wallMs: Date.now() - wall0,
    startRssMB: startRss / 2 ** 20,
    timeline,
  };
}

/** A fresh simulated world. */
export interface World {
  readonly clock: DiscreteEventClock;
  readonly account: SimAccount;
  readonly fleet: SimInstance[];
  readonly mem: MemorySampler;
  readonly clients: { ec2: EC2Client; ssm: SSMClient; eventbridge: EventBridgeClient; sns: SNSClient };
  /** Deterministic jitter for the engines' retry layer. */
  readonly random: () => number;
}

/**
 * How the engines' clients reach the simulated account: `mock` (aws-sdk-client-mock replaces `send`)
 * or `wire` (the real clients, serialization and parsing included, through bench/wire).
 */
export type Transport = 'mock' | 'wire';

/** Builds fleet, clock and account and installs the mocks (call `world.account.restore()` after). */
export function createWorld(n: number, fleetOptions: FleetOptions = {}, accountOptions: SimAccountOptions = {}, transport: Transport = 'mock'): World {
  const mem = new MemorySampler();
  let ticks = 0;
  // eslint-disable-next-line prefer-const
  let account: SimAccount;
  const clock = new DiscreteEventClock({
    onTick: () => {
      mem.sample();
      // aws-sdk-client-mock (sinon) keeps every call's arguments; drop them so they do not count as engine memory.
      if (++ticks % 10 === 0) account.trimHistory();
    },
    sampleEvery: 100,
  });
  const fleet = generateFleet(n, fleetOptions);
  account = new SimAccount(fleet, clock, accountOptions);
  if (transport === 'mock') account.install();
  const region = { region: 'us-east-1' };
  return {
    clock,
    account,
    fleet,
    mem,
    clients:
      transport === 'wire'
        ? wireClients(account)
        : { ec2: new EC2Client(region), ssm: new SSMClient(region), eventbridge: new EventBridgeClient(region), sns: new SNSClient(region) },
    random: prng(7),
  };
}

function powertools(): { logger: Logger; metrics: Metrics } {
  // The Lambda's own instances (its formatter and options), so the log bytes are what the Lambda writes.
  // (bench/env.ts makes sure Powertools is neither silenced nor disabled when they are created.)
  lambdaLogger.setLogLevel('INFO');
  return { logger: lambdaLogger, metrics: lambdaMetrics };
}

function lambdaContext(clock: DiscreteEventClock): { getRemainingTimeInMillis(): number } {
  const start = clock.now();
  return { getRemainingTimeInMillis: () => Math.max(0, LAMBDA_TIMEOUT_MS - (clock.now() - start)) };
}

/** Figures of one check run. */
export interface CheckMeasure extends RunMeasure {
  readonly completed: boolean;
  readonly counts: Record<string, number>;
  readonly byCheckState: Record<string, number>;
  /** Instances the check was expected to account for (running at its start) vs evaluated. */
  readonly instancesSeen: number;
  readonly onlineTargets: number;
  readonly cutOutputs: number;
  /** Seconds from the run start until the last collector invocation ended in the simulated SSM. */
  readonly lastInvocationEndSeconds: number;
}

/** The hourly check's schedule (the stack's default). */
const HOUR_MS = 3_600_000;

/**
 * Runs the real check handler over a fresh world of N instances and measures one run: the first
 * (`hourlyBefore` 0: a fresh account, no earlier command), or the one after `hourlyBefore`
 * unmeasured runs an hour apart on the same account (the steady state of the hourly schedule:
 * the two-run rule reads the previous run's commands, and collectors that hung before go first).
 */
export async function benchCheck(
  n: number,
  settingsEnv: Record<string, string> = {},
  fleetOptions: FleetOptions = {},
  accountOptions: SimAccountOptions = {},
  transport: Transport = 'mock',
  hourlyBefore = 0,
): Promise<{ measure: CheckMeasure; world: World }> {
  const world = createWorld(n, fleetOptions, withCoverageAccount(accountOptions), transport);
  const { clock, account, clients } = world;
  spreadNetwork(world.fleet);
  // The simulated account's documents, pinned as the construct pins the stack's.
  const settings = parseSettings({ ...SIM_DOCUMENT_PINS, ...settingsEnv });
  const { logger, metrics } = powertools();
  const retry = { random: world.random };
  const handler = createCheckHandler({
    settings,
    inventory: new Ec2SsmInventory({ ec2: clients.ec2, ssm: clients.ssm, clock, optOutTagKey: settings.optOutTagKey, retry }),
    runCommand: new SsmRunCommand({ ssm: clients.ssm, clock, retry }),
    clock,
    logger,
    metrics,
    // As deployed (lambda/handlers/check.ts `wired`): coverage and the launch sources by default.
    ...deployedCheckPorts(world, settings, transport),
  });
  for (let k = 0; k < hourlyBefore; k++) {
    await captureStdout(() =>
      clock.run(async () => {
        await handler({}, lambdaContext(clock));
        await clock.sleep(HOUR_MS);
      }),
    );
    account.resetStats();
  }
  const start = startMeasuredRun(world);
  const { t0 } = start;
  let completed = true;
  const { result, captured } = await captureStdout(() =>
    clock.run(async () => {
      try {
        return await handler({}, lambdaContext(clock));
      } catch (e) {
        completed = false;
        return { error: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
  const r = result as { counts?: Record<string, number>; byCheckState?: Record<string, number> };
  const onlineTargets = world.fleet.filter((x) => x.ssm === 'Online' && !x.optedOut).length;
  const cutOutputs = account.stats.calls['GetCommandInvocation'] ?? 0;
  return {
    measure: {
      ...measure(world, start, captured),
      completed,
      counts: r.counts ?? {},
      byCheckState: r.byCheckState ?? {},
      instancesSeen: (r.counts as Record<string, number> | undefined)?.['instancesSeen'] ?? 0,
      onlineTargets,
      cutOutputs,
      lastInvocationEndSeconds: ((account.lastInvocationEnd() ?? t0) - t0) / 1000,
    },
    world,
  };
}

/** Figures of one remediation run (all its Lambda invocations). */
export interface RemediationMeasure extends RunMeasure {
  readonly invocations: number;
  readonly done: boolean;
  /** Hop-limit changes needed by instances that stay for the whole run (not opted out, below the target). */
  readonly hopLimitChangesNeeded: number;
  readonly modifyCalls: number;
  readonly instancesModified: number;
  readonly lowered: number;
  readonly auditEvents: number;
  readonly summary: Record<string, unknown>;
  /** Seconds from the run start to the first IMDS change (the check streams into the IMDS side, so before the check ends). */
  readonly checkSeconds: number;
  /** Seconds from the run start until EC2 applied the last hop-limit change. */
  readonly hopLimitsAppliedSeconds: number;
  /** Longest continuation handed to the state machine (characters). */
  readonly maxContinuationChars: number;
  readonly snsPublishes: number;
  /** The next night on the now-fixed fleet (the steady state the monthly cost uses). */
  readonly nextNight: NightMeasure;
}

/** The steady-state night. */
export interface NightMeasure {
  readonly simulatedSeconds: number;
  readonly invocations: number;
  readonly logBytes: number;
  readonly auditEvents: number;
  readonly apiCallsTotal: number;
  readonly modifyCalls: number;
  readonly distinctMetrics: string[];
}

/** A5b: Step Functions hands the continuation to the next Lambda invocation in this long. */
export const SFN_HOP_MS = 100;

/**
 * Runs the real remediate handler in the state machine's loop until done, over a fleet where every
 * instance needs its hop limit raised (scope `all`, caps lifted): the worst night.
 */
export async function benchRemediation(n: number, extraEnv: Record<string, string> = {}, transport: Transport = 'mock'): Promise<{ measure: RemediationMeasure; world: World }> {
  const world = createWorld(n, { allHopLimitOne: true }, {}, transport);
  const { clock, account, clients } = world;
  const settings = parseSettings({
    ...SIM_DOCUMENT_PINS,
    TSG_HOP_LIMIT_SCOPE: 'all',
    TSG_MAX_CHANGES_PER_RUN: String(Math.max(n, 1)),
    TSG_MAX_CHANGES_PERCENT: '100',
    TSG_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:timesync-guard',
    ...extraEnv,
  });
  const { logger, metrics } = powertools();
  const retry = { random: world.random };
  const runCommand = new SsmRunCommand({ ssm: clients.ssm, clock, retry });
  const handler = createRemediateHandler({
    settings,
    clock,
    logger,
    metrics,
    ec2: clients.ec2,
    eventbridge: clients.eventbridge,
    inventory: new Ec2SsmInventory({ ec2: clients.ec2, ssm: clients.ssm, clock, optOutTagKey: settings.optOutTagKey, retry }),
    runCommand,
    notifier: createSnsNotifier({ sns: clients.sns, topicArn: settings.topicArn }),
    // The stack's generated secret in production; a fixed key here (signing costs microseconds).
    continuationKey: async () => Buffer.from('bench-continuation-key-0123456789abcdef0123456789'),
  });
  const needed = world.fleet.filter((x) => !x.optedOut && x.hopLimit < settings.hopLimitTarget && !(x.vanishAfterMs !== undefined)).length;
  const start = startMeasuredRun(world);
  const { t0 } = start;
  let maxContinuationChars = 0;
  // The state machine's loop: invoke, and while not done pass the continuation to the next invocation.
  const stateMachine = async (): Promise<{ invocations: number; last?: { done: boolean; summary: unknown } }> => {
    let invocations = 0;
    let last: { done: boolean; continuation?: string; summary: unknown } | undefined;
    let continuation: string | undefined;
    for (let k = 0; k < 50; k++) {
      invocations++;
      const before = clock.now();
      last = await handler(continuation ? { continuation } : {}, lambdaContext(clock));
      if (clock.now() - before > LAMBDA_TIMEOUT_MS) throw new Error(`invocation ${invocations} ran ${(clock.now() - before) / 1000} s, past the Lambda timeout`);
      if (last.done) break;
      continuation = last.continuation;
      maxContinuationChars = Math.max(maxContinuationChars, continuation?.length ?? 0);
      await clock.sleep(SFN_HOP_MS);
    }
    return { invocations, last };
  };
  const { result: run1, captured } = await captureStdout(() => clock.run(stateMachine), lambdaTraceHeader(true));
  const { invocations, last } = run1;
  const first = measure(world, start, captured);
  // The first IMDS change: it goes out as soon as the check has a final verdict on an instance that needs one.
  const firstModify = account.firstAt['ModifyInstanceMetadataOptions'];
  const checkSeconds = firstModify !== undefined ? (firstModify - t0) / 1000 : 0;
  const lastApplied = Math.max(t0, ...world.fleet.map((x) => x.appliedAtMs ?? t0));
  const modifyCalls = account.stats.calls['ModifyInstanceMetadataOptions'] ?? 0;
  const auditEvents = account.eventCount;
  const snsPublishes = account.notifications.length;

  // The next night, same fleet (fixed by now): what a normal night costs.
  account.resetStats();
  const events0 = account.eventCount;
  await clock.run(() => clock.sleep(3_600_000));
  account.startRun();
  const n0 = clock.now();
  const { result: run2, captured: cap2 } = await captureStdout(() => clock.run(stateMachine), lambdaTraceHeader(true));
  const nextNight: NightMeasure = {
    simulatedSeconds: (clock.now() - n0) / 1000,
    invocations: run2.invocations,
    logBytes: cap2.bytes,
    auditEvents: account.eventCount - events0,
    apiCallsTotal: account.totalCalls(),
    modifyCalls: account.stats.calls['ModifyInstanceMetadataOptions'] ?? 0,
    distinctMetrics: [...cap2.metrics].sort(),
  };
  return {
    measure: {
      ...first,
      invocations,
      done: last?.done ?? false,
      hopLimitChangesNeeded: needed,
      modifyCalls,
      instancesModified: account.modified.size,
      lowered: account.lowered,
      auditEvents,
      summary: (last?.summary ?? {}) as Record<string, unknown>,
      checkSeconds,
      hopLimitsAppliedSeconds: (lastApplied - t0) / 1000,
      maxContinuationChars,
      snsPublishes,
      nextNight,
    },
    world,
  };
}
