/**
 * The urgent path in the simulated account over one day: the nightly run at 02:00, then 24 hourly
 * checks (03:00 … 02:00, the last one beside the next night's run), with hosts that drift into
 * urgency at random (seeded) hours: a clock pointed at a bad server 240 s behind, or a container
 * host's hop limit set back to 1. One more host has its clock pushed back every hour after it is
 * fixed (the loop the urgent path must not fight). The REAL check handler (with its urgent hook,
 * the real Step Functions adapter and SDK client) and the REAL remediate handler run; the
 * remediation state machine is bench/sim/sfn.ts (its request choice, overlap guard and loop).
 *
 * Measured, per drifted host: the check that first found it urgent, and the end of the remediation
 * run that left it fixed (a run's end, so an upper bound on the fix time). And every instance the
 * product changed outside the two nights that was not urgent.
 *
 * Assumptions: U1 the checks run on the hour, the nightly run starts with the 02:00 check; U2 a
 * drift happens at a uniformly random time between 03:30 and 01:00 (so a check finds it before the
 * next night); U3 the simulated account's latencies and limits are the fleet benchmark's (drive.ts).
 */
import './env';
import { SFNClient } from '@aws-sdk/client-sfn';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Ec2SsmInventory } from '../lambda/aws/inventory';
import { createSnsNotifier } from '../lambda/aws/notify';
import { createRemediationExecutions } from '../lambda/aws/remediation-executions';
import { SsmRunCommand } from '../lambda/aws/run-command';
import { parseSettings } from '../lambda/core/settings';
import { createCheckHandler } from '../lambda/handlers/check';
import { createRemediateHandler } from '../lambda/handlers/remediate';
import { captureStdout, createWorld, LAMBDA_TIMEOUT_MS } from './drive';
import type { Target } from './reading';
import { prng, type SimInstance } from './sim/fleet';
import { SimStateMachine } from './sim/sfn';
import { SIM_DOCUMENT_PINS } from './sim/ssm';
import { SimWireHandler } from './wire/handler';

const HOUR = 3_600_000;
const ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:TimeSyncGuard-Remediation';

/** The `urgent` key of bench/results.json. */
export interface UrgentFigures {
  /** Hosts a check found urgent during the day (the drifted ones, and any other the urgent path took). */
  readonly hosts: number;
  /** Hosts made to drift (the repeat host included), and how many of them a check found urgent. */
  readonly drifted: number;
  readonly driftedFound: number;
  /** Of those, fixed by an urgent run that ended within one hour of the check that first found them urgent (a host not known to drift counts when its run ends). */
  readonly fixedWithinOneHour: number;
  /** Median seconds from that check's start to the end of the run that fixed the host. */
  readonly medianDetectToFixSeconds: number;
  /** Instances the product changed outside the two nights that no check had found urgent. */
  readonly nonUrgentChanged: number;
  /** The host whose clock is pushed back every hour: urgent runs that took it, checks that left it to the night. */
  readonly repeatHost: { readonly urgentRuns: number; readonly repeatsReported: number; readonly fixedByNextNight: boolean };
  readonly urgentExecutions: number;
  /** Executions the overlap guard skipped (the check waits instead, so 0). */
  readonly skippedOverlap: number;
  /** Largest share of the day's cap the urgent runs were told was already spent. */
  readonly maxCapSpent: number;
  readonly model: Record<string, unknown>;
  readonly wallMs: number;
}

/** A snapshot of what the product may change on an instance. */
const state = (x: SimInstance): string => `${x.hopLimit}|${x.httpEndpoint}|${x.httpTokens}|${x.timeSyncFixed ? 1 : 0}`;
const fixed = (x: SimInstance, drift: 'offset' | 'hop'): boolean => (drift === 'hop' ? x.hopLimit >= 2 && x.metadataState === 'applied' : x.timeSyncFixed === true);

/** Runs the day over an N-instance fleet with `drifting` hosts drifting into urgency. */
export async function benchUrgent(n = 300, drifting = 12, seed = 28): Promise<UrgentFigures> {
  const wall0 = Date.now();
  const world = createWorld(n, { vanishing: 0 });
  const { clock, account, fleet, clients } = world;
  const settings = parseSettings({ ...SIM_DOCUMENT_PINS, TSG_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:timesync-guard' });
  const retry = { random: world.random };
  const inventory = new Ec2SsmInventory({ ec2: clients.ec2, ssm: clients.ssm, clock, optOutTagKey: settings.optOutTagKey, retry });
  const runCommand = new SsmRunCommand({ ssm: clients.ssm, clock, retry });
  const metrics = (): Metrics => new Metrics({ namespace: settings.metricNamespace, serviceName: 'timesync-guard' });
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const context = () => {
    const start = clock.now();
    return { getRemainingTimeInMillis: () => Math.max(0, LAMBDA_TIMEOUT_MS - (clock.now() - start)) };
  };
  const remediate = createRemediateHandler({
    settings,
    clock,
    logger: quiet,
    metrics: metrics(),
    ec2: clients.ec2,
    eventbridge: clients.eventbridge,
    inventory,
    runCommand,
    notifier: createSnsNotifier({ sns: clients.sns, topicArn: settings.topicArn }),
    continuationKey: async () => Buffer.from('bench-continuation-key-0123456789abcdef0123456789'),
  });
  const sim = new SimStateMachine(ARN, clock, (request) => remediate(request, context()));
  const sfn = new SFNClient({ region: 'us-east-1', requestHandler: new SimWireHandler(sim), maxAttempts: 1, credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' } });
  const summaries: Record<string, unknown>[] = [];
  const check = createCheckHandler({
    settings,
    inventory,
    runCommand,
    clock,
    logger: { ...quiet, info: (m: string, ...x: Record<string, unknown>[]) => void (m === 'check-summary' && summaries.push(x[0] ?? {})) },
    metrics: metrics(),
    urgent: createRemediationExecutions({ stateMachineArn: ARN, clock, client: sfn }),
  });

  // U2: healthy, reachable Linux hosts drift; the first one is the repeat host (pushed back every hour).
  const random = prng(seed);
  const healthy = fleet.filter((x) => x.platform === 'linux' && x.ssm === 'Online' && !x.optedOut && x.guest === 'normal' && x.scenario === 'chrony-amazon' && x.vanishAfterMs === undefined);
  const containerHosts = healthy.filter((x) => x.containers);
  const plainHosts = healthy.filter((x) => !x.containers);
  const drifts: { inst: SimInstance; kind: 'offset' | 'hop'; at: number }[] = [];
  const pick = (from: SimInstance[]): SimInstance => from.splice(Math.floor(random() * from.length), 1)[0]!;
  for (let k = 0; k < drifting; k++) {
    const kind = k % 2 === 0 ? 'offset' : 'hop';
    drifts.push({ inst: pick(kind === 'hop' ? containerHosts : plainHosts), kind, at: 1.5 * HOUR + random() * 21.5 * HOUR });
  }
  const repeat = { inst: pick(plainHosts), kind: 'offset' as const, at: 1.5 * HOUR };
  const driftTo = (x: SimInstance, kind: 'offset' | 'hop'): void => {
    if (kind === 'hop') x.hopLimit = 1;
    else {
      (x as { scenario: string }).scenario = 'chrony-drifted';
      x.timeSyncFixed = false;
    }
  };

  const kinds = new Map([...drifts, repeat].map((d) => [d.inst.id, d]));
  const t0 = clock.now();
  const detectedAt = new Map<string, number>();
  const fixedAt = new Map<string, number>();
  let before = new Map<string, string>();
  let nonUrgentChanged = 0;
  let repeatsReported = 0;
  await captureStdout(() =>
    clock.run(async () => {
      // 02:00: the night (the scheduler's `{}`), then the day starts from what it left.
      await sim.start('{}').done;
      before = new Map(fleet.map((x) => [x.id, state(x)]));
      for (const d of drifts) void clock.sleep(t0 + d.at - clock.now()).then(() => driftTo(d.inst, d.kind));
      void clock.sleep(t0 + repeat.at - clock.now()).then(() => driftTo(repeat.inst, 'offset'));
      // Whatever pushes the repeat host's clock back does it every hour at :45, after the urgent path fixed it.
      for (let h = 2; h < 24; h++) void clock.sleep(t0 + h * HOUR + 0.75 * HOUR - clock.now()).then(() => driftTo(repeat.inst, 'offset'));
      const ended = new Set<string>();
      const hooked = new Set<string>();
      const watch = (): void => {
        for (const e of sim.executions) {
          if (e.status === 'RUNNING' || ended.has(e.executionArn)) continue;
          ended.add(e.executionArn);
          const ids = e.name.startsWith('urgent-') ? ((JSON.parse(e.input) as { instanceIds: string[] }).instanceIds ?? []) : [];
          for (const id of ids) {
            const d = kinds.get(id);
            if (!fixedAt.has(id) && (d ? fixed(d.inst, d.kind) : true)) fixedAt.set(id, e.stoppedAt!);
          }
        }
      };
      for (let h = 1; h <= 24; h++) {
        await clock.sleep(t0 + h * HOUR - clock.now());
        watch();
        let night: Promise<void> | undefined;
        if (h === 24) {
          // U1: the next night starts with the 02:00 check; what the day changed is judged before it.
          for (const x of fleet) if (before.get(x.id) !== state(x) && !detectedAt.has(x.id)) nonUrgentChanged++;
          night = sim.start('{}').done;
        }
        const checkAt = clock.now();
        await check({ source: 'schedule' }, context());
        const urgent = summaries.at(-1)?.urgent as { started?: string[]; deferred?: string[]; repeat?: string[] } | undefined;
        // Found urgent by this check: started now, or deferred behind a run in progress.
        for (const id of [...(urgent?.started ?? []), ...(urgent?.deferred ?? [])]) if (!detectedAt.has(id)) detectedAt.set(id, checkAt);
        if ((urgent?.repeat ?? []).includes(repeat.inst.id)) repeatsReported++;
        // Each run is judged the moment it ends (before anything can undo its fix).
        for (const e of sim.executions.filter((x) => !hooked.has(x.executionArn))) {
          hooked.add(e.executionArn);
          void e.done.then(watch);
        }
        await night;
      }
      await Promise.all(sim.executions.map((e) => e.done));
      watch();
    }),
  );
  account.restore();

  const urgentRuns = sim.executions.filter((e) => e.name.startsWith('urgent-'));
  const seconds = [...detectedAt.keys()]
    .filter((id) => fixedAt.has(id))
    .map((id) => (fixedAt.get(id)! - detectedAt.get(id)!) / 1000)
    .sort((a, b) => a - b);
  const within = seconds.filter((s) => s <= 3600).length;
  const median = seconds.length === 0 ? 0 : seconds.length % 2 ? seconds[(seconds.length - 1) / 2]! : (seconds[seconds.length / 2 - 1]! + seconds[seconds.length / 2]!) / 2;
  return {
    hosts: detectedAt.size,
    drifted: drifts.length + 1,
    driftedFound: [...kinds.keys()].filter((id) => detectedAt.has(id)).length,
    fixedWithinOneHour: within,
    medianDetectToFixSeconds: Math.round(median * 10) / 10,
    nonUrgentChanged,
    repeatHost: {
      urgentRuns: urgentRuns.filter((e) => (JSON.parse(e.input) as { instanceIds: string[] }).instanceIds.includes(repeat.inst.id)).length,
      repeatsReported,
      fixedByNextNight: repeat.inst.timeSyncFixed === true,
    },
    urgentExecutions: urgentRuns.length,
    skippedOverlap: sim.executions.filter((e) => e.output?.includes('"skipped":"overlap"')).length,
    maxCapSpent: Math.max(0, ...urgentRuns.map((e) => Number((JSON.parse(e.input) as { capSpent: number }).capSpent))),
    model: { instances: n, drifting, seed, checks: 24, drift: 'U2: 03:30–01:00, offset 240 s (chrony on a bad server) or hop limit 1 on a container host', fixTime: 'end of the remediation run that fixed it (upper bound)' },
    wallMs: Date.now() - wall0,
  };
}

/** The `urgent` key of bench/results.json and its target (bench/run.ts): every urgent host fixed within the hour, nothing else changed by day. */
export async function urgentKey(targets: Target[]): Promise<UrgentFigures> {
  const f = await benchUrgent();
  targets.push({
    n: 'all',
    name: 'urgent hosts fixed within one hour of the check that found them; no other host changed outside the night',
    value: `${f.fixedWithinOneHour}/${f.hosts} within 1 h, ${f.nonUrgentChanged} other changed`,
    limit: `${f.hosts}/${f.hosts}, 0`,
    pass: f.hosts > 0 && f.fixedWithinOneHour === f.hosts && f.nonUrgentChanged === 0,
  });
  return f;
}

if (require.main === module) {
  benchUrgent()
    .then((f) => process.stdout.write(`urgent: ${JSON.stringify(f)}\n`))
    .catch((e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    });
}
