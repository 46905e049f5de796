/**
 * The two common peer designs, for comparison on the same simulated account and the same limits:
 *
 * 1. Per-instance GetCommandInvocation polling: the same inventory, ⌈N/50⌉ SendCommand, then every
 *    instance's invocation is polled with GetCommandInvocation until terminal (first poll after the
 *    guest time, then every 2 s; 20 pollers in flight, matching the SSM rate), throttling retried
 *    with the project's own retry layer. Simulated for real, so the SSM bucket decides its time.
 * 2. Per-instance custom metrics: 4 metrics × N with an InstanceId dimension + 1 alarm per
 *    instance; same API calls and time as ours, priced by the cost model.
 */
import { GetCommandInvocationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { Ec2SsmInventory } from '../lambda/aws/inventory';
import { withRetry } from '../lambda/aws/retry';
import { mapLimit, chunk } from '../lambda/core/util/batching';
import { DEFAULTS } from '../lambda/core/settings';
import { createWorld, LAMBDA_TIMEOUT_MS } from './drive';
import { DEFAULT_RUN_COMMAND_MODEL } from './sim/account';

/** Result of the polling peer. */
export interface PollingPeerMeasure {
  readonly apiCalls: Record<string, number>;
  readonly apiCallsTotal: number;
  readonly throttled: number;
  readonly simulatedSeconds: number;
  readonly exceedsLambdaTimeout: boolean;
  readonly pollsPerInstance: number;
}

/** Per-instance polling over a fresh world of N instances. */
export async function pollingPeer(n: number, options: { pollers?: number; pollIntervalMs?: number } = {}): Promise<PollingPeerMeasure> {
  const world = createWorld(n);
  const { clock, account, clients } = world;
  const pollers = options.pollers ?? 20;
  const interval = options.pollIntervalMs ?? 2000;
  const retry = { random: world.random, maxAttempts: 12 };
  try {
    account.startRun();
    const t0 = clock.now();
    let polls = 0;
    let targetsPolled = 0;
    await clock.run(async () => {
      const inventory = new Ec2SsmInventory({ ec2: clients.ec2, ssm: clients.ssm, clock, optOutTagKey: DEFAULTS.optOutTagKey, retry });
      const records = await inventory.listInstances();
      const targets = records.filter((r) => r.ssm?.pingStatus === 'Online' && !r.optedOut).map((r) => r.instanceId);
      const sent: { commandId: string; instanceId: string }[] = [];
      await mapLimit(chunk(targets, 50), 4, async (batch) => {
        try {
          const out = await withRetry(
            () => clients.ssm.send(new SendCommandCommand({ DocumentName: DEFAULTS.collectorDocument, InstanceIds: batch, MaxConcurrency: DEFAULTS.remediationMaxConcurrency, MaxErrors: '100%' })),
            clock,
            retry,
          );
          for (const id of batch) sent.push({ commandId: out.Command!.CommandId!, instanceId: id });
        } catch {
          // A batch with a vanished instance: the peer gives up on it (it is not our design under test).
        }
      });
      targetsPolled = sent.length;
      await clock.sleep(DEFAULT_RUN_COMMAND_MODEL.guestMs);
      await mapLimit(sent, pollers, async ({ commandId, instanceId }) => {
        for (let k = 0; k < 1000; k++) {
          polls++;
          let status: string | undefined;
          try {
            const inv = await withRetry(() => clients.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId })), clock, retry);
            status = inv.Status;
          } catch {
            return;
          }
          if (status !== 'Pending' && status !== 'InProgress' && status !== 'Delayed') return;
          await clock.sleep(interval);
        }
      });
    });
    const seconds = (clock.now() - t0) / 1000;
    const apiCalls = { ...account.stats.calls };
    return {
      apiCalls,
      apiCallsTotal: Object.values(apiCalls).reduce((a, b) => a + b, 0),
      throttled: Object.values(account.stats.throttled).reduce((a, b) => a + b, 0),
      simulatedSeconds: seconds,
      exceedsLambdaTimeout: seconds * 1000 > LAMBDA_TIMEOUT_MS,
      pollsPerInstance: targetsPolled > 0 ? polls / targetsPolled : 0,
    };
  } finally {
    account.restore();
  }
}

/** Metrics and alarms of the per-instance-metrics peer. */
export function perInstanceMetricsShape(n: number): { metrics: number; alarms: number; putMetricDataCallsPerCheck: number } {
  const metrics = 4 * n;
  return { metrics, alarms: n, putMetricDataCallsPerCheck: Math.ceil(metrics / 1000) };
}
