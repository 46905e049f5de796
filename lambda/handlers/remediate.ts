/**
 * Lambda handler of the nightly remediation, invoked in a loop by the stack's state machine:
 * `{ continuation? }` in → `{ done, continuation?, summary }` out. Thin: settings parsed once at cold
 * start, real adapters wired, the deadline taken from the Lambda context minus a safety margin.
 * The first invocation of a run checks the fleet first (fresh data); later ones resume from a
 * continuation only if its signature verifies under the stack's key (anything else is refused and
 * audited), and always under the current settings.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { createEventBridgeAudit } from '../aws/audit';
import { createClient, lazy } from '../aws/clients';
import { realClock } from '../aws/clock';
import { secretContinuationKey } from '../aws/continuation-key';
import { runScope } from '../core/fleet/urgent';
import { createEc2ImdsPort } from '../aws/imds';
import { createLaunchSourcesPort } from '../aws/launch-sources';
import { lazyInstanceMetrics, lazyRecordKey, lazySnapshotStore, lazySnsNotifier } from '../aws/lazy-adapters';
import { createEc2MetadataDefaultsPort } from '../aws/metadata-defaults';
import { createImdsv2Tagger } from '../aws/imdsv2-ec2';
import { Ec2SsmInventory } from '../aws/inventory';
import { logger as defaultLogger, metrics as defaultMetrics } from '../aws/powertools';
import { SsmRunCommand } from '../aws/run-command';
import { parseRemediationOutput } from '../core/remediation/guest-result';
import { parseSettings, type Settings } from '../core/settings';
import type { DiagnoseFn } from '../engine/check';
import type { LaunchSourcesPort } from '../engine/source-ports';
import { freshUsageRecheck, type Imdsv2CheckPorts } from '../engine/imdsv2';
import { lazyCredentialEvidence } from '../aws/lazy-credentials';
import type { Clock, EngineLogger, InstanceInventory, Notifier, RunCommandPort } from '../engine/ports';
import {
  freshCheck,
  type GuestOutcome,
  publishRemediationMetrics,
  RemediationRunError,
  type RemediationOptions,
  type RemediationResult,
  runRemediation,
} from '../engine/remediate';

// Kept importable from here (tests and callers used to find them on the handler).
export { publishRemediationMetrics, RemediationRunError };

/** The state machine's input. */
export interface RemediateEvent {
  readonly continuation?: string | null;
  /** A launch remediation (launch check with remediateOnLaunch): only these instances are checked and fixed. */
  readonly instanceIds?: unknown;
  /** `launch` on a launch remediation: then `instanceIds` must be a valid list (never the whole region). */
  readonly trigger?: unknown;
  /** An urgent remediation (`trigger: "urgent"`, started by the check): instances the budget day's earlier runs changed. */
  readonly capSpent?: unknown;
}

/** The bits of the Lambda context the handler reads. */
export interface RemediateContext {
  getRemainingTimeInMillis(): number;
}

/** Everything the handler needs, injectable for tests. */
export interface RemediateHandlerDeps {
  readonly settings: Settings;
  readonly clock: Clock;
  readonly logger: EngineLogger;
  readonly metrics: Metrics;
  readonly ec2: Pick<EC2Client, 'send'>;
  readonly eventbridge: Pick<EventBridgeClient, 'send'>;
  readonly inventory: InstanceInventory;
  readonly runCommand: RunCommandPort;
  readonly notifier?: Notifier;
  /** The continuation signing key (the stack's secret; tests pass a fixed key). */
  readonly continuationKey: () => Promise<Uint8Array>;
  readonly diagnose?: DiagnoseFn;
  /** IMDSv2 readiness for the enforcement plan (docs/imdsv2.md); the tag port is built from `ec2`. @default - not assessed */
  readonly imdsv2?: Imdsv2CheckPorts;
  /**
   * Time kept back from the Lambda's remaining time: the engine returns its continuation this long
   * before the Lambda would be killed. @default 45000
   */
  readonly safetyMarginMs?: number;
  /** Engine timing knobs other than the deadline (tests shrink them). */
  readonly engine?: Omit<RemediationOptions, 'deadline'>;
  /** The source fix's port (`launchTemplates: fix`; docs/launch-templates.md). @default - the phase skips */
  readonly launchSources?: LaunchSourcesPort;
}

/** Without a Lambda context (a test invoke, a local run) the handler gives itself this much time. */
const NO_CONTEXT_BUDGET_MS = 14 * 60_000;

/** Builds the handler over injected dependencies (the module's `handler` wires the real ones). */
export function createRemediateHandler(
  deps: RemediateHandlerDeps,
): (event?: RemediateEvent | null, context?: RemediateContext) => Promise<RemediationResult> {
  return async (event, context) => {
    const { clock, logger, settings } = deps;
    const margin = deps.safetyMarginMs ?? 45_000;
    const remaining = context?.getRemainingTimeInMillis();
    const budget = typeof remaining === 'number' && Number.isFinite(remaining) ? remaining : NO_CONTEXT_BUDGET_MS;
    const deadline = clock.now() + Math.max(0, budget - margin);
    const continuation = typeof event?.continuation === 'string' && event.continuation !== '' ? event.continuation : undefined;

    // Scope only matters to a new run: a continuation carries its own work lists.
    const scope = continuation === undefined ? runScope(event) : { ok: true as const };
    if (!scope.ok) {
      logger.error('launch-remediation-refused', { reason: scope.reason });
      throw new RemediationRunError(`launch remediation request refused: ${scope.reason}`);
    }
    const metadataDefaults = createEc2MetadataDefaultsPort({ ec2: deps.ec2, clock });
    const check = freshCheck(
      {
        inventory: deps.inventory,
        runCommand: deps.runCommand,
        clock,
        logger,
        metadataDefaults,
        ...(deps.diagnose ? { diagnose: deps.diagnose } : {}),
        // Readiness only: the rollback watch is the hourly check's.
        ...(deps.imdsv2 && settings.imdsv2 !== 'off' ? { imdsv2: deps.imdsv2 } : {}),
      },
      settings,
      deadline,
      scope.ok ? scope.instanceIds : undefined,
    );

    try {
      return await runRemediation(
        {
          clock,
          check,
          // An urgent run shares the budget day's cap with the nightly run (docs/remediation.md).
          ...(scope.ok && scope.capSpent !== undefined ? { capSpent: scope.capSpent } : {}),
          ...(settings.imdsv2 === 'enforce' ? { imdsv2Tag: createImdsv2Tagger(deps.ec2, clock) } : {}),
          ...(settings.imdsv2 === 'enforce' && deps.imdsv2
            ? { imdsv2Recheck: freshUsageRecheck(deps.imdsv2.metrics, clock, settings.imdsv2LookbackDays), ...(deps.imdsv2.recordKey ? { imdsv2RecordKey: deps.imdsv2.recordKey } : {}) }
            : {}),
          imds: (bucketState) => createEc2ImdsPort({ ec2: deps.ec2, clock, optOutTagKey: settings.optOutTagKey, ...(bucketState ? { bucketState } : {}) }),
          runCommand: deps.runCommand,
          parseOutput: (text: string): GuestOutcome => parseRemediationOutput(text),
          audit: createEventBridgeAudit({
            events: deps.eventbridge,
            source: settings.eventSource,
            sleep: (ms) => clock.sleep(ms),
            onLost: (entry, error) => logger.error('audit-event-lost', { detailType: entry.DetailType, detail: entry.Detail, error }),
          }),
          continuationKey: deps.continuationKey,
          ...(deps.notifier ? { notifier: deps.notifier } : {}),
          metrics: (v) => publishRemediationMetrics(deps.metrics, v),
          logger,
          metadataDefaults,
          // The source-fix phase's port (lambda/engine/remediation/launch-template-phase.ts).
          ...(deps.launchSources ? { launchSources: deps.launchSources } : {}),
        },
        settings,
        { continuation },
        { ...deps.engine, deadline },
      );
    } catch (err) {
      logger.error('remediation-failed', { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
      throw err;
    }
  };
}

// Cold start: a bad setting fails here, naming the variable.
const settings = parseSettings(process.env);

/**
 * The real wiring, built at the first invocation (the cold start constructs no SDK client). EC2, SSM,
 * EventBridge (the audit) and Secrets Manager (the continuation key) serve every invocation; SNS,
 * CloudWatch and S3 are loaded at their first call (lambda/aws/lazy-adapters.ts).
 */
const wired = lazy(() => {
  const ec2 = createClient(EC2Client, 'ec2');
  const ssm = createClient(SSMClient, 'ssm');
  return createRemediateHandler({
    settings,
    clock: realClock,
    logger: defaultLogger,
    metrics: defaultMetrics,
    ec2,
    eventbridge: createClient(EventBridgeClient, 'eventbridge'),
    inventory: new Ec2SsmInventory({ ec2, ssm, clock: realClock, optOutTagKey: settings.optOutTagKey }),
    runCommand: new SsmRunCommand({ ssm, clock: realClock }),
    // The night's summary is sent once, at the end of the run: SNS is loaded then, not at start-up.
    notifier: lazySnsNotifier(settings.topicArn),
    continuationKey: secretContinuationKey({ secretId: settings.continuationKeySecret ?? '' }),
    ...(settings.launchTemplates === 'fix' ? { launchSources: createLaunchSourcesPort({ ec2, clock: realClock }) } : {}),
    ...(settings.imdsv2 !== 'off' && settings.imdsv2CacheBucket
      ? {
          imdsv2: {
            metrics: lazyInstanceMetrics(realClock),
            store: lazySnapshotStore(settings.imdsv2CacheBucket, realClock),
            recordKey: lazyRecordKey(settings.imdsv2RecordKeySecret ?? ''),
            ...lazyCredentialEvidence(settings, settings.imdsv2CacheBucket, realClock),
          },
        }
      : {}),
  });
});

/** The Lambda entry point (`handler`), wired to the real AWS adapters. */
export const handler = (event?: RemediateEvent | null, context?: RemediateContext): Promise<RemediationResult> => wired()(event, context);
