/**
 * The launch check in the simulated account: N instances reach `running` at the same moment, their
 * EventBridge events go to a modelled SQS queue, an event source mapping with a batching window
 * invokes the REAL launch handler (one invocation at a time: reserved concurrency 1), retries come
 * back with their SQS delay. Measures, per instance, the virtual time from its event to its verdict.
 *
 * Assumptions (L1–L4, listed in docs/launch-check.md): L1 EventBridge → SQS delivery 0.5 s;
 * L2 the SSM agent of a new instance registers Online 30–90 s (Linux) / 120–240 s (Windows) after
 * `running`; L3 the event source mapping invokes when the batching window closes or the batch is
 * full; L4 a requeued message is visible exactly after its DelaySeconds. Instances the fleet model
 * marks ConnectionLost or unmanaged never come Online (they are reported when the wait ends).
 *
 * `npx tsx bench/launch.ts` writes the `launch` key of bench/results.json.
 */
import './env';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { InstanceSubsetInventory } from '../lambda/aws/instance-subset';
import type { LaunchRequeue } from '../lambda/aws/launch-queue';
import { SsmRunCommand } from '../lambda/aws/run-command';
import { EC2_STATE_CHANGE } from '../lambda/core/fleet/launch';
import { parseLaunchSettings } from '../lambda/core/settings';
import { createLaunchHandler, LAUNCH_METRIC_DIMENSION } from '../lambda/handlers/launch';
import { captureStdout, createWorld } from './drive';
import { prng } from './sim/fleet';
import { SIM_DOCUMENT_PINS } from './sim/ssm';

/** Modelled event source mapping of the construct (lib/constructs/launch-check.ts). */
export const LAUNCH_BATCH_WINDOW_MS = 10_000;
export const LAUNCH_BATCH_SIZE = 1000;
const DELIVERY_MS = 500;
const LAMBDA_TIMEOUT_MS = 300_000;

interface QueuedMessage {
  readonly messageId: string;
  readonly body: string;
  visibleAt: number;
}

/** Figures of one launch burst. */
export interface LaunchMeasure {
  readonly launched: number;
  /** Instances whose SSM agent came Online (the rest never does in this model). */
  readonly cameOnline: number;
  readonly invocations: number;
  /** Seconds from the event to the verdict, over instances that came Online. */
  readonly onlineSecondsToVerdict: { readonly p50: number; readonly p95: number; readonly max: number };
  /** Seconds from the event to the last final record (the not-reachable ones wait `launchSsmWaitSeconds`). */
  readonly allReportedSeconds: number;
  readonly reported: number;
  readonly byCheckState: Record<string, number>;
  readonly apiCalls: Record<string, number>;
  /** Events put on the (simulated) default bus, by detail-type. */
  readonly events: Record<string, number>;
  /** Remediation executions the launch check started (`remediateOnLaunch`), with their inputs. */
  readonly remediationStarts: ReadonlyArray<{ readonly input: Record<string, unknown>; readonly name?: string }>;
  readonly wallMs: number;
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Launches `n` instances at once in a fresh simulated account and drives the launch check to the end. */
export async function benchLaunch(n: number, env: Record<string, string> = {}): Promise<LaunchMeasure> {
  const wall0 = Date.now();
  const world = createWorld(n, { vanishing: 0 });
  const { clock, account, fleet, clients } = world;
  // The simulated account's documents, pinned as the construct pins the stack's.
  const settings = parseLaunchSettings({ ...SIM_DOCUMENT_PINS, ...env });
  const t0 = clock.now();
  const queue: QueuedMessage[] = [];
  let seq = 0;
  const send = (body: string, delayMs: number): void => {
    queue.push({ messageId: `m-${++seq}`, body, visibleAt: clock.now() + delayMs });
  };
  const verdictAt = new Map<string, number>();
  const states: Record<string, number> = {};
  const logger = {
    info(message: string, ...extra: Record<string, unknown>[]) {
      if (message !== 'instance') return;
      const rec = extra[0] ?? {};
      verdictAt.set(String(rec.instanceId), clock.now());
      // The record leaves its default out: no checkState is checked.
      const s = rec.checkState === undefined ? 'checked' : String(rec.checkState);
      states[s] = (states[s] ?? 0) + 1;
    },
    warn: () => undefined,
    error: () => undefined,
  };
  const requeue: LaunchRequeue = {
    requeue: async (targets, delaySeconds) => {
      await clock.sleep(20);
      send(JSON.stringify({ kind: 'timesync-guard-launch-retry', targets }), delaySeconds * 1000);
    },
  };
  const retry = { random: world.random };
  const remediationStarts: Array<{ input: Record<string, unknown>; name?: string }> = [];
  const handler = createLaunchHandler({
    settings,
    clock,
    logger,
    metrics: new Metrics({ namespace: settings.metricNamespace, serviceName: 'timesync-guard', defaultDimensions: LAUNCH_METRIC_DIMENSION }),
    runCommand: new SsmRunCommand({ ssm: clients.ssm, clock, retry }),
    inventoryFor: (instanceIds) =>
      new InstanceSubsetInventory({ ec2: clients.ec2, ssm: clients.ssm, clock, optOutTagKey: settings.optOutTagKey, selection: { kind: 'ids', instanceIds }, retry }),
    requeue,
    // The state machine is not simulated: the start is recorded (its input is what the remediate handler would get).
    startRemediation: async (input, name) => {
      remediationStarts.push({ input, ...(name ? { name } : {}) });
      return `arn:aws:states:us-east-1:123456789012:execution:tsg:${name ?? remediationStarts.length}`;
    },
  });

  // L2: the agents register some time after `running`; until then SSM does not know the instance.
  const random = prng(11);
  let cameOnline = 0;
  for (const inst of fleet) {
    const finalState = inst.ssm;
    (inst as { ssm: string }).ssm = 'unmanaged';
    if (finalState === 'unmanaged') continue;
    const delay = inst.platform === 'windows' ? 120_000 + random() * 120_000 : 30_000 + random() * 60_000;
    if (finalState === 'Online') cameOnline++;
    void clock.sleep(delay).then(() => {
      (inst as { ssm: string }).ssm = finalState;
    });
  }
  for (const inst of fleet) {
    send(JSON.stringify({ source: 'aws.ec2', 'detail-type': EC2_STATE_CHANGE, time: new Date(t0).toISOString(), detail: { 'instance-id': inst.id, state: 'running' } }), DELIVERY_MS);
  }

  let invocations = 0;
  const { captured } = await captureStdout(() =>
    clock.run(async () => {
      while (queue.length > 0) {
        const firstVisible = Math.min(...queue.map((m) => m.visibleAt));
        if (firstVisible > clock.now()) await clock.sleep(firstVisible - clock.now());
        // L3: the window opens at the first visible message and closes after the window or a full batch.
        const windowEnd = clock.now() + LAUNCH_BATCH_WINDOW_MS;
        while (clock.now() < windowEnd && queue.filter((m) => m.visibleAt <= clock.now()).length < LAUNCH_BATCH_SIZE) await clock.sleep(Math.min(1000, windowEnd - clock.now()));
        const batch = queue.filter((m) => m.visibleAt <= clock.now()).slice(0, LAUNCH_BATCH_SIZE);
        const start = clock.now();
        invocations++;
        const result = await handler({ Records: batch.map((m) => ({ messageId: m.messageId, body: m.body })) }, { getRemainingTimeInMillis: () => Math.max(0, LAMBDA_TIMEOUT_MS - (clock.now() - start)) });
        const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
        for (const m of batch) {
          if (failed.has(m.messageId)) m.visibleAt = clock.now() + LAMBDA_TIMEOUT_MS;
          else queue.splice(queue.indexOf(m), 1);
        }
      }
    }),
  );
  void captured;
  const onlineIds = new Set(fleet.filter((x) => x.ssm === 'Online').map((x) => x.id));
  const online = [...verdictAt].filter(([id]) => onlineIds.has(id)).map(([, at]) => (at - t0) / 1000).sort((a, b) => a - b);
  const all = [...verdictAt.values()].map((at) => (at - t0) / 1000);
  account.restore();
  const round = (x: number): number => Math.round(x * 10) / 10;
  return {
    launched: n,
    cameOnline,
    invocations,
    onlineSecondsToVerdict: { p50: round(pct(online, 50)), p95: round(pct(online, 95)), max: round(pct(online, 100)) },
    allReportedSeconds: round(all.length ? Math.max(...all) : 0),
    reported: verdictAt.size,
    byCheckState: states,
    apiCalls: { ...account.stats.calls },
    events: { ...account.eventsByType },
    remediationStarts,
    wallMs: Date.now() - wall0,
  };
}

async function main(): Promise<void> {
  const results: Record<string, LaunchMeasure> = {};
  for (const n of [1, 500]) {
    results[String(n)] = await benchLaunch(n);
    process.stdout.write(`launch ${n}: ${JSON.stringify(results[String(n)])}\n`);
  }
  const path = join(__dirname, 'results.json');
  const all = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  all.launch = { model: { batchWindowMs: LAUNCH_BATCH_WINDOW_MS, batchSize: LAUNCH_BATCH_SIZE, deliveryMs: DELIVERY_MS, ssmRegistration: 'Linux 30–90 s, Windows 120–240 s (L2)' }, bursts: results };
  writeFileSync(path, JSON.stringify(all, null, 2) + '\n');
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
