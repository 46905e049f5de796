/**
 * Lambda handler of the launch check: EventBridge (`EC2 Instance State-change Notification`,
 * `running`) → SQS (batching window) → here. One invocation checks the whole batch with the hourly
 * check's engine, restricted to the batch's instance ids: IMDS options at once, the guest collector
 * on every instance whose SSM agent is Online. Instances not Online (yet) go back on the queue with
 * a growing delay until `launchSsmWaitSeconds` after their event, then are reported as they are.
 * Records, metric names and the run summary are the hourly run's, marked `trigger: launch`.
 * With `remediateOnLaunch` it starts the remediation state machine itself for the at-risk ones.
 *
 * Queue messages are inputs, not the truth (docs/security.md): a message that is not an EC2
 * `running` event or a well-formed retry of ours is dropped (logged, counted, never redelivered); a
 * retry's `since` counts from its receive time at the latest and its attempts are capped.
 */
import { createHash } from 'node:crypto';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { createClient, lazy } from '../aws/clients';
import { type Clock, realClock } from '../aws/clock';
import { InstanceSubsetInventory } from '../aws/instance-subset';
import type { InstanceInventory } from '../aws/inventory';
import { createSqsLaunchRequeue, type LaunchRequeue } from '../aws/launch-queue';
import { publishCheckMetrics } from '../aws/metrics';
import { logger as defaultLogger } from '../aws/powertools';
import { type RunCommandPort, SsmRunCommand } from '../aws/run-command';
import { createStartExecution, type StartExecution } from '../aws/start-execution';
import { aggregate } from '../core/fleet/aggregate';
import {
  decideLaunchRetry,
  LAUNCH_QUEUE_URL_ENV,
  LAUNCH_REMEDIATION_MAX_IDS,
  LAUNCH_REMEDIATION_STATE_MACHINE_ENV,
  type LaunchTarget,
  mergeTargets,
  parseLaunchMessage,
} from '../core/fleet/launch';
import { LAUNCH_METRICS, METRIC_SERVICE } from '../core/fleet/metric-names';
import { DEFAULTS, ENV, type LaunchSettings, parseLaunchSettings } from '../core/settings';
import type { InstanceEvaluation } from '../core/types';
import { type DiagnoseFn, type EngineLogger, runCheck } from '../engine/check';
import { CheckRunError, instanceLogRecord } from './check';

/** The dimension that keeps launch-check metrics apart from the hourly fleet gauges (same names). */
export const LAUNCH_METRIC_DIMENSION = { trigger: 'launch' } as const;

/** The SQS event as the handler reads it. */
export interface LaunchSqsEvent {
  readonly Records?: ReadonlyArray<{ readonly messageId: string; readonly body: string }>;
}

/** SQS partial batch response: messages listed here are redelivered. */
export interface LaunchResult {
  readonly batchItemFailures: { itemIdentifier: string }[];
  /** Instances given a verdict (or a final not-reachable record) by this invocation. */
  readonly reported: number;
  /** Instances put back on the queue. */
  readonly requeued: number;
  /** Messages refused as not ours. */
  readonly refused: number;
}

export interface LaunchHandlerDeps {
  readonly settings: LaunchSettings;
  readonly clock: Clock;
  readonly logger: EngineLogger;
  /** Powertools Metrics carrying the `trigger: launch` default dimension. */
  readonly metrics: Metrics;
  readonly runCommand: RunCommandPort;
  /** The inventory of just these instances. */
  readonly inventoryFor: (instanceIds: readonly string[]) => InstanceInventory;
  readonly requeue: LaunchRequeue;
  /**
   * Starts the remediation state machine (`{ trigger: "launch", instanceIds }`); used only with
   * `remediateOnLaunch`. @default - none: at-risk launches wait for the nightly run
   */
  readonly startRemediation?: StartExecution;
  readonly diagnose?: DiagnoseFn;
  /** Kept back from the Lambda's remaining time for logging and requeueing. @default 30000 */
  readonly reserveMs?: number;
}

/** Not reachable yet: the guest check may still come. */
const WAITING: ReadonlySet<string> = new Set(['unmanaged', 'ssm-offline']);

/** A record for an instance EC2 no longer lists as running (terminated or stopped since its event). */
function goneRecord(t: LaunchTarget): Record<string, unknown> {
  return { instanceId: t.instanceId, status: 'unknown', checkState: 'gone', findings: 'instance-gone', detail: 'not listed as running by EC2 since its running event' };
}

export function createLaunchHandler(deps: LaunchHandlerDeps): (event?: LaunchSqsEvent, context?: { getRemainingTimeInMillis(): number }) => Promise<LaunchResult> {
  return async (event, context) => {
    const { clock, logger, settings } = deps;
    const now = clock.now();
    const remaining = context?.getRemainingTimeInMillis();
    const deadline = typeof remaining === 'number' && Number.isFinite(remaining) ? now + Math.max(0, remaining - (deps.reserveMs ?? 30_000)) : undefined;

    const messagesOf = new Map<string, string[]>();
    const parsed: LaunchTarget[] = [];
    let refused = 0;
    for (const r of event?.Records ?? []) {
      const m = parseLaunchMessage(typeof r.body === 'string' ? r.body : '', now);
      if (!m.ok) {
        refused++;
        logger.warn('launch-message-refused', { messageId: r.messageId, reason: m.reason });
        continue;
      }
      for (const t of m.targets) {
        parsed.push(t);
        messagesOf.set(t.instanceId, [...(messagesOf.get(t.instanceId) ?? []), r.messageId]);
      }
    }
    // Dropped, not redelivered: a message that does not parse now never will. Published only when
    // there is one, so the metric costs nothing in normal operation.
    if (refused > 0) {
      deps.metrics.addMetric(LAUNCH_METRICS.messagesRefused, MetricUnit.Count, refused);
      deps.metrics.publishStoredMetrics();
    }
    const targets = mergeTargets(parsed);
    if (targets.length === 0) return { batchItemFailures: [], reported: 0, requeued: 0, refused };
    const ids = targets.map((t) => t.instanceId);

    let run;
    try {
      run = await runCheck(
        { inventory: deps.inventoryFor(ids), runCommand: deps.runCommand, clock, logger, ...(deps.diagnose ? { diagnose: deps.diagnose } : {}) },
        settings,
        { instanceIds: ids, ...(deadline !== undefined ? { deadline } : {}) },
      );
    } catch (err) {
      logger.error('launch-check-failed', { trigger: 'launch', error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
      throw new CheckRunError('the launch check could not run', { cause: err });
    }
    // A failed run (SendCommand denied…) judges nothing: the whole batch is redelivered, and the Errors alarm fires.
    if (!run.completed) {
      logger.error('launch-check-failed', { trigger: 'launch', errors: run.errors });
      throw new CheckRunError(`the launch check failed: ${run.errors.join('; ')}`);
    }

    const byId = new Map(run.evaluations.map((e) => [e.instanceId, e]));
    const finals: InstanceEvaluation[] = [];
    const retries = new Map<number, LaunchTarget[]>();
    let gone = 0;
    let maxSecondsToVerdict = 0;
    const reportedAt = clock.now();
    for (const t of targets) {
      const e = byId.get(t.instanceId);
      const waiting = !e || WAITING.has(e.checkState);
      const decision = waiting ? decideLaunchRetry(t, reportedAt, settings.launchSsmWaitSeconds) : ({ retry: false } as const);
      const common = { trigger: 'launch', attempt: t.attempt, secondsSinceLaunch: Math.round((reportedAt - t.since) / 100) / 10 };
      if (decision.retry) {
        // IMDS options at once: the first look is logged even though the guest is not reachable yet.
        if (e && t.attempt === 0) logger.info('instance-pending', { ...instanceLogRecord(e), ...common, retryInSeconds: decision.delaySeconds });
        const next = { instanceId: t.instanceId, attempt: t.attempt + 1, since: t.since };
        retries.set(decision.delaySeconds, [...(retries.get(decision.delaySeconds) ?? []), next]);
        continue;
      }
      maxSecondsToVerdict = Math.max(maxSecondsToVerdict, common.secondsSinceLaunch);
      if (!e) {
        gone++;
        logger.info('instance', { ...goneRecord(t), ...common });
        continue;
      }
      finals.push(e);
      logger.info('instance', { ...instanceLogRecord(e), ...common });
    }

    const failed = new Set<string>();
    let requeued = 0;
    for (const [delay, list] of retries) {
      try {
        await deps.requeue.requeue(list, delay);
        requeued += list.length;
      } catch (err) {
        // The original messages come back instead (their attempt count then repeats, bounded by the queue's maxReceiveCount).
        logger.error('launch-requeue-failed', { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err), instances: list.length });
        for (const t of list) for (const m of messagesOf.get(t.instanceId) ?? []) failed.add(m);
      }
    }

    if (finals.length > 0) publishCheckMetrics(deps.metrics, aggregate(finals, settings));
    const atRisk = finals.filter((e) => e.status === 'at-risk').map((e) => e.instanceId);
    let remediationRequested = false;
    if (settings.remediateOnLaunch && atRisk.length > 0) {
      // One execution (a second one would be skipped by the state machine's overlap guard), with at
      // most the ids the remediate side accepts; the rest wait for the nightly run.
      const ids = atRisk.slice(0, LAUNCH_REMEDIATION_MAX_IDS);
      if (ids.length < atRisk.length) logger.warn('launch-remediation-capped', { atRisk: atRisk.length, requested: ids.length, leftForNightlyRun: atRisk.length - ids.length });
      if (!deps.startRemediation) {
        logger.error('launch-remediation-request-failed', { error: 'remediateOnLaunch is on but the remediation state machine is not wired' });
      } else {
        try {
          // The name makes a retried call (timeout after the start) the same execution, not a second one.
          const executionArn = await deps.startRemediation({ trigger: 'launch', instanceIds: ids }, launchExecutionName(reportedAt, ids));
          remediationRequested = true;
          logger.info('launch-remediation-started', { executionArn, instances: ids.length });
        } catch (err) {
          // Not fatal: the nightly run fixes them; the summary says the request was not sent.
          logger.error('launch-remediation-request-failed', { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
        }
      }
    }
    const summary = finals.length > 0 ? aggregate(finals, settings) : undefined;
    logger.info('check-summary', {
      trigger: 'launch',
      completed: true,
      instances: targets.length,
      reported: finals.length + gone,
      gone,
      requeued,
      refused,
      maxSecondsToVerdict,
      remediationRequested,
      durationMs: run.durationMs,
      ...(summary ? { ...summary.counts, byStatus: summary.byStatus, byCheckState: summary.byCheckState } : {}),
      commandStats: run.commandStats,
    });
    return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })), reported: finals.length + gone, requeued, refused };
  };
}

/** `launch-<time>-<hash of the ids>`: within Step Functions' 80 characters and name alphabet. */
export function launchExecutionName(at: number, instanceIds: readonly string[]): string {
  const hash = createHash('sha256').update(instanceIds.join(',')).digest('hex').slice(0, 16);
  return `launch-${new Date(at).toISOString().replace(/[:.]/g, '')}-${hash}`;
}

const settings = parseLaunchSettings(process.env);

/** Launch metrics: the hourly names under an extra `trigger=launch` dimension, so the fleet gauges and their alarms stay the hourly run's. */
const launchMetrics = new Metrics({
  serviceName: METRIC_SERVICE,
  namespace: process.env[ENV.metricNamespace]?.trim() || DEFAULTS.metricNamespace,
  defaultDimensions: LAUNCH_METRIC_DIMENSION,
});

/** The real wiring, built at the first invocation (the cold start constructs no SDK client). */
const wired = lazy(() => {
  const ec2 = createClient(EC2Client, 'ec2');
  const ssm = createClient(SSMClient, 'ssm');
  return createLaunchHandler({
    settings,
    clock: realClock,
    logger: defaultLogger,
    metrics: launchMetrics,
    runCommand: new SsmRunCommand({ ssm, clock: realClock }),
    inventoryFor: (instanceIds) => new InstanceSubsetInventory({ ec2, ssm, clock: realClock, optOutTagKey: settings.optOutTagKey, selection: { kind: 'ids', instanceIds } }),
    requeue: createSqsLaunchRequeue({ sqs: createClient(SQSClient, 'sqs'), queueUrl: process.env[LAUNCH_QUEUE_URL_ENV] ?? '', clock: realClock }),
    ...(settings.remediateOnLaunch && process.env[LAUNCH_REMEDIATION_STATE_MACHINE_ENV]
      ? { startRemediation: createStartExecution({ stateMachineArn: process.env[LAUNCH_REMEDIATION_STATE_MACHINE_ENV], clock: realClock }) }
      : {}),
  });
});

/** The Lambda entry point (`handler`), wired to the real AWS adapters. */
export const handler: ReturnType<typeof createLaunchHandler> = (...args) => wired()(...args);
