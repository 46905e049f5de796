/**
 * Lambda handler of the hourly check (EventBridge Scheduler → here). Thin: settings parsed once at
 * cold start, real adapters wired, the engine run, one log record per instance, one run summary,
 * the fleet metrics as EMF. A failed run throws at the end so the Lambda Errors alarm fires; an
 * instance that could not be checked is data, not an error.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { publishCheckMetrics } from '../aws/metrics';
import { createClient, lazy } from '../aws/clients';
import { type Clock, realClock } from '../aws/clock';
import { createEc2ImdsPort } from '../aws/imds';
import { createLaunchSourcesPort } from '../aws/launch-sources';
import { lazyAuditActions, lazyExportStateStore, lazyInstanceMetrics, lazyRecordKey, lazySecurityHub, lazySnapshotStore } from '../aws/lazy-adapters';
import { createImdsv2Ec2Port } from '../aws/imdsv2-ec2';
import { Ec2SsmInventory, type InstanceInventory } from '../aws/inventory';
import { addAccountDefaultsMetrics, createEc2MetadataDefaultsPort, type MetadataDefaultsPort } from '../aws/metadata-defaults';
import { logger as defaultLogger, metrics as defaultMetrics } from '../aws/powertools';
import { createSsmCompliancePort } from '../aws/ssm-compliance';
import { type RunCommandPort, SsmRunCommand } from '../aws/run-command';
import { accountDefaultsSummary } from '../core/fleet/metadata-defaults';
import { IMDSV2_METRICS, IMDSV2_STATE_METRIC } from '../core/imdsv2/metrics';
import type { Imdsv2Readiness, Imdsv2State } from '../core/imdsv2/readiness';
import { type CheckSettings, parseCheckSettings } from '../core/settings';
import type { InstanceEvaluation } from '../core/types';
import { FINDING_SENTENCE_DETAILS } from '../core/fleet/evaluate-instance';
import { type CheckRun, type DiagnoseFn, type EngineLogger, runCheck } from '../engine/check';
import { exportFindings, type FindingsExportDeps, type FindingsExportSummary } from '../engine/findings-export';
import { contextFromFunctionArn } from '../core/findings-export/asff';
import { findingsExportMetricValues } from '../core/findings-export/metrics';
import type { Imdsv2CheckPorts } from '../engine/imdsv2';
import { type UrgentExecutions, type UrgentOutcome } from '../engine/urgent';
import { urgentAfterCheck, wireUrgentExecutions } from './urgent-hook';
import { coverageLogFields, type CoverageGap } from '../core/fleet/coverage';
import type { CoverageDeps } from '../engine/coverage';
import { addCoverageMetrics, addCredentialMetrics, coverageSummary, credentialSummary, wireCoverage } from './coverage-hook';
import { lazyCredentialEvidence } from '../aws/lazy-credentials';
import { type CredentialCounts, credentialLogFields } from '../core/imdsv2/credential-delivery';
import type { LaunchSourcesPort } from '../engine/source-ports';
import { publishSources, sourceLogFields, sourcesSummary } from './sources-hook';

/** The bits of the Lambda context the handler reads. */
export interface CheckContext {
  getRemainingTimeInMillis(): number;
  /** The function's ARN: gives the account, region and partition of the exported findings. */
  readonly invokedFunctionArn?: string;
}

/** What the handler returns (also the Lambda's result, visible in a test invoke). */
export interface CheckResult {
  readonly completed: boolean;
  readonly durationMs: number;
  readonly counts: CheckRun['summary']['counts'];
  readonly byCheckState: CheckRun['summary']['byCheckState'];
}

/** Everything the handler needs, injectable for tests. */
export interface CheckHandlerDeps {
  readonly settings: CheckSettings;
  readonly inventory: InstanceInventory;
  readonly runCommand: RunCommandPort;
  readonly clock: Clock;
  readonly logger: EngineLogger;
  readonly metrics: Metrics;
  readonly diagnose?: DiagnoseFn;
  /** The account metadata defaults, read every run. @default - not read */
  readonly metadataDefaults?: MetadataDefaultsPort;
  /** IMDSv2 readiness and rollback watch (docs/imdsv2.md). @default - not assessed */
  readonly imdsv2?: Imdsv2CheckPorts;
  /** The remediation state machine, with the urgent path live (docs/remediation.md). @default - no urgent path */
  readonly urgent?: UrgentExecutions;
  /**
   * Time kept back from the Lambda timeout for evaluation, logging and metrics after the guests' deadline.
   * @default 60000
   */
  readonly reserveMs?: number;
  /** Security Hub findings and SSM Compliance items after a completed run (lambda/engine/findings-export.ts). @default - not exported */
  readonly findingsExport?: FindingsExportDeps;
  /** SSM coverage with its causes (docs/coverage.md). @default - not assessed */
  readonly coverage?: CoverageDeps;
  /** Launch templates, groups and AMIs: attribution and the sources' report (docs/launch-templates.md). @default - not read */
  readonly launchSources?: LaunchSourcesPort;
}

/** The run failed as a whole (not one instance): thrown so the Lambda Errors alarm fires. */
export class CheckRunError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CheckRunError';
  }
}

/**
 * One flat, queryable log record per instance (Logs Insights fields). `findings` is the codes
 * joined by commas so `filter findings like /not-synchronized/` works. At 10,000 instances an hour,
 * every byte of this record is ~$0.0034 a month of log ingestion, so nothing is written that the
 * record already says (docs/operations.md#the-per-instance-log-record documents each absence):
 * fields with no value are left out rather than written as null (Logs Insights treats a missing
 * field like a null one); a field at its documented default is left out (`platform` linux, as
 * EC2's own `Platform` is absent for Linux; `checkState` checked; `httpTokens` required;
 * `httpEndpoint` enabled); the
 * checked guest's two flags are written only when they are the exception (`synchronized` false,
 * `containers` true; `unknown` when the report could not say); a `detail` that only repeats its
 * finding code is left out. Whether the instance has a profile is not repeated here: it matters
 * only with a disabled endpoint, and then the `imds-endpoint-disabled` finding says so.
 */
export function instanceLogRecord(e: InstanceEvaluation, imdsv2?: Imdsv2Readiness, coverage?: CoverageGap, credentials?: CredentialCounts): Record<string, unknown> {
  const v = e.verdict;
  const codes = e.findings.map((f) => f.code);
  const record: Record<string, unknown> = {
    instanceId: e.instanceId,
    name: e.name,
    platform: e.platform === 'linux' ? undefined : e.platform,
    status: e.status,
    checkState: e.checkState === 'checked' ? undefined : e.checkState,
    findings: codes.length > 0 ? codes.join(',') : undefined,
    timeSource: v?.timeSource,
    synchronized: v ? exceptionFlag(v.synchronized, false) : undefined,
    offsetSeconds: v?.offsetSeconds,
    clockErrorBoundSeconds: v?.clockErrorBoundSeconds,
    daemon: v?.daemon,
    containers: v ? exceptionFlag(v.containers, true) : undefined,
    hopLimit: e.imds.hopLimit,
    // The IMDS flags are written when they need attention: `optional` (IMDSv1 allowed; absent:
    // required, and `unknown` when EC2 did not say, never read as required) and `disabled`
    // (absent: enabled, EC2's default), so `filter httpTokens = "optional"` still finds every one.
    httpTokens: e.imds.httpTokens === 'required' ? undefined : (e.imds.httpTokens ?? 'unknown'),
    httpEndpoint: e.imds.httpEndpoint === 'enabled' ? undefined : e.imds.httpEndpoint,
    detail: e.detail !== undefined && codes.some((c) => FINDING_SENTENCE_DETAILS.get(c) === e.detail) ? undefined : e.detail,
    // IMDSv2 readiness (docs/imdsv2.md): `filter imdsv2 = 'uses-imdsv1'` lists what would break.
    imdsv2: imdsv2?.state,
    imdsv2V1Calls: imdsv2?.imdsv1Calls,
    imdsv2LastV1Day: imdsv2?.lastImdsv1Day,
    imdsv2LikelySource: imdsv2?.likelySource,
    imdsv2Reason: imdsv2?.reason,
    // SSM coverage (docs/coverage.md): `filter ssmCauses like /no-route/`.
    ...coverageLogFields(coverage, codes),
    // CloudTrail (docs/imdsv2.md#cloudtrails-view): `filter imdsv1CredentialDeliveries > 0`.
    ...credentialLogFields(credentials),
  };
  for (const [k, val] of Object.entries(record)) if (val === undefined || val === null) delete record[k];
  return record;
}

/** A guest flag written only when it is the exception (`exception`) or unknown; its usual value is left out. */
function exceptionFlag(value: boolean | null, exception: boolean): boolean | 'unknown' | undefined {
  if (value === null) return 'unknown';
  return value === exception ? value : undefined;
}

/** Builds the handler over injected dependencies (the module's `handler` wires the real ones). */
export function createCheckHandler(deps: CheckHandlerDeps): (event?: unknown, context?: CheckContext) => Promise<CheckResult> {
  return async (_event?: unknown, context?: CheckContext): Promise<CheckResult> => {
    const { clock, logger } = deps;
    const reserve = deps.reserveMs ?? 60_000;
    const remaining = context?.getRemainingTimeInMillis();
    const deadline = typeof remaining === 'number' && Number.isFinite(remaining) ? clock.now() + Math.max(0, remaining - reserve) : undefined;
    let run: CheckRun;
    try {
      run = await runCheck(
        {
          inventory: deps.inventory,
          runCommand: deps.runCommand,
          clock,
          logger,
          ...(deps.diagnose ? { diagnose: deps.diagnose } : {}),
          ...(deps.metadataDefaults ? { metadataDefaults: deps.metadataDefaults } : {}),
          ...(deps.imdsv2 ? { imdsv2: deps.imdsv2 } : {}),
          ...(deps.coverage ? { coverage: deps.coverage } : {}),
          ...(deps.launchSources ? { launchSources: deps.launchSources } : {}),
        },
        deps.settings,
        deadline !== undefined ? { deadline } : {},
      );
    } catch (err) {
      logger.error('check-failed', { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
      throw new CheckRunError('the check could not run', { cause: err });
    }
    // The urgent start first: a host one minute from ExpiredToken must not wait behind the export.
    const urgent: UrgentOutcome | undefined = run.completed ? await urgentAfterCheck(deps, run.evaluations, context) : undefined;
    const exported = run.completed && deps.findingsExport ? await exportAfterCheck(deps.findingsExport, run, context) : undefined;
    const readiness = run.imdsv2?.readiness.readiness;
    const gaps = new Map(run.coverage?.gaps.map((g) => [g.instanceId, g]));
    const trail = run.imdsv2?.readiness.credentials;
    const byInstance = trail?.outcome === 'read' ? trail.byInstance : {};
    for (const e of run.evaluations) logger.info('instance', { ...instanceLogRecord(e, readiness?.get(e.instanceId), gaps.get(e.instanceId), byInstance[e.instanceId]), ...sourceLogFields(run.sources, e.instanceId) });
    if (run.sources) publishSources(run.sources, logger, run.completed ? deps.metrics : undefined);
    // Rejections and rollbacks are published whatever else failed: their alarms must not wait for a healthy run.
    if (run.imdsv2?.watch) {
      // Only when not 0: outside `enforce` with `imdsv2AutoUndo` no rollback can happen, and a
      // metric of zeros is billed as any other for every hour the watch runs (its alarm treats
      // missing data as not breaching).
      if (run.imdsv2.watch.rolledBack.length > 0) deps.metrics.addMetric(IMDSV2_METRICS.rolledBack, MetricUnit.Count, run.imdsv2.watch.rolledBack.length);
      deps.metrics.addMetric(IMDSV2_METRICS.rejected, MetricUnit.Count, run.imdsv2.watch.rejected.length);
    }
    // A failed run publishes nothing: partial counts would look like a healthy fleet, and the
    // missing InstancesSeen sample (the heartbeat) is what the heartbeat alarm waits for.
    if (run.completed) {
      if (run.accountDefaults) addAccountDefaultsMetrics(deps.metrics, run.accountDefaults);
      if (run.imdsv2 && !run.imdsv2.readiness.error) {
        for (const [state, n] of Object.entries(run.imdsv2.readiness.counts)) deps.metrics.addMetric(IMDSV2_STATE_METRIC[state as Imdsv2State], MetricUnit.Count, n);
      }
      if (exported && !exported.skipped) for (const [name, n] of findingsExportMetricValues(exported)) deps.metrics.addMetric(name, MetricUnit.Count, n);
      if (run.coverage) addCoverageMetrics(deps.metrics, run.coverage);
      if (trail?.outcome === 'read') addCredentialMetrics(deps.metrics, trail.byInstance, run.evaluations, deps.settings.maxOffsetSeconds);
      publishCheckMetrics(deps.metrics, run.summary);
    } else if (run.imdsv2?.watch) deps.metrics.publishStoredMetrics();
    logger.info('check-summary', {
      completed: run.completed,
      errors: run.errors,
      durationMs: run.durationMs,
      ...run.summary.counts,
      byStatus: run.summary.byStatus,
      byCheckState: run.summary.byCheckState,
      maxClockErrorBoundSeconds: run.summary.maxClockErrorBoundSeconds,
      p99ClockErrorBoundSeconds: run.summary.p99ClockErrorBoundSeconds,
      maxAbsOffsetSeconds: run.summary.maxAbsOffsetSeconds,
      timings: run.timings,
      commandStats: run.commandStats,
      ...(run.accountDefaults ? { accountDefaults: accountDefaultsSummary(run.accountDefaults) } : {}),
      ...(urgent ? { urgent } : {}),
      ...(run.coverage ? { coverage: coverageSummary(run.coverage) } : {}),
      ...(exported ? { findingsExport: exported } : {}),
      ...(run.sources ? { launchSources: sourcesSummary(run.sources) } : {}),
      ...(run.imdsv2
        ? {
            imdsv2: {
              ...run.imdsv2.readiness.counts,
              refreshed: run.imdsv2.readiness.refreshed,
              refresh: run.imdsv2.readiness.refresh,
              takenAt: run.imdsv2.readiness.takenAt,
              error: run.imdsv2.readiness.error,
              snapshotRefused: run.imdsv2.readiness.refused,
              watched: run.imdsv2.watch?.watched,
              rejected: run.imdsv2.watch?.rejected,
              unverifiedTags: run.imdsv2.watch?.unverified.length,
              watchError: run.imdsv2.watch?.error,
              rolledBack: run.imdsv2.watch?.rolledBack,
              rollbackFailed: run.imdsv2.watch?.failed,
              cloudTrail: credentialSummary(run.imdsv2.readiness.credentials),
            },
          }
        : {}),
    });
    if (!run.completed) throw new CheckRunError(`the check run failed: ${run.errors.join('; ')}`);
    return { completed: run.completed, durationMs: run.durationMs, counts: run.summary.counts, byCheckState: run.summary.byCheckState };
  };
}

/**
 * The export of a completed run, bounded by the Lambda's remaining time (30 s kept for the
 * summary). Without the function ARN (a test invoke with no context) the account is unknown and
 * nothing is exported.
 */
async function exportAfterCheck(deps: FindingsExportDeps, run: CheckRun, context: CheckContext | undefined): Promise<FindingsExportSummary | undefined> {
  const target = contextFromFunctionArn(context?.invokedFunctionArn);
  if (!target) {
    deps.logger?.warn('findings-export-skipped', { reason: 'no function ARN in the context: account unknown' });
    return undefined;
  }
  const remaining = context?.getRemainingTimeInMillis();
  const deadline = typeof remaining === 'number' && Number.isFinite(remaining) ? deps.clock.now() + remaining - 30_000 : undefined;
  return exportFindings(deps, run.evaluations, { context: target, runId: `check-${new Date(run.startedAt).toISOString()}`, complete: true, ...(deadline !== undefined ? { deadline } : {}) });
}

// Cold start: a bad setting fails here, naming the variable.
const settings = parseCheckSettings(process.env);

/**
 * The real wiring, built at the first invocation: the cold start constructs no SDK client and loads
 * only EC2 and SSM, which every run uses. CloudWatch (GetMetricData, the daily readiness refresh),
 * S3 (the readiness snapshot), Secrets Manager (the record key) and EventBridge (a rollback's audit)
 * are loaded at their first call (lambda/aws/lazy-adapters.ts). Metrics go out as EMF (no PutMetricData).
 */
const wired = lazy(() => {
  const ec2 = createClient(EC2Client, 'ec2');
  const ssm = createClient(SSMClient, 'ssm');
  const imdsv2 = settings.imdsv2 !== 'off' && settings.imdsv2CacheBucket ? imdsv2Ports(ec2, settings.imdsv2CacheBucket) : undefined;
  return createCheckHandler({
    settings,
    inventory: new Ec2SsmInventory({ ec2, ssm, clock: realClock, optOutTagKey: settings.optOutTagKey }),
    runCommand: new SsmRunCommand({ ssm, clock: realClock }),
    metadataDefaults: createEc2MetadataDefaultsPort({ ec2, clock: realClock }),
    clock: realClock,
    logger: defaultLogger,
    metrics: defaultMetrics,
    ...(imdsv2 ? { imdsv2 } : {}),
    ...wireUrgentExecutions(settings, realClock),
    ...(exportDeps(ssm) ?? {}),
    ...wireCoverage(ec2, ssm, realClock),
    // Every run reads the sources unless the setting is off (docs/launch-templates.md).
    ...(settings.launchTemplates !== 'off' ? { launchSources: createLaunchSourcesPort({ ec2, clock: realClock }) } : {}),
  });
});

/**
 * Security Hub / SSM Compliance adapters, with the state object in the stack's bucket; none when both
 * are off. Security Hub and S3 load at their first call (a steady fleet imports nothing new).
 */
function exportDeps(ssm: SSMClient): { findingsExport: FindingsExportDeps } | undefined {
  const bucket = settings.exportStateBucket;
  if ((!settings.securityHub && !settings.ssmCompliance) || !bucket) return undefined;
  const clock = realClock;
  return {
    findingsExport: {
      ...(settings.securityHub ? { securityHub: lazySecurityHub(clock) } : {}),
      ...(settings.ssmCompliance ? { compliance: createSsmCompliancePort({ ssm, clock }) } : {}),
      store: lazyExportStateStore(bucket, clock),
      clock,
      logger: defaultLogger,
    },
  };
}

/** The IMDSv2 adapters: CloudWatch metrics, the S3 snapshot, the record key and a rollback's audit, each loaded on first use; EC2 for a rollback. */
function imdsv2Ports(ec2: EC2Client, bucket: string): Imdsv2CheckPorts {
  const clock = realClock;
  const auditActions = lazyAuditActions({
    source: settings.eventSource,
    sleep: (ms) => clock.sleep(ms),
    onLost: (entry, error) => defaultLogger.error('audit-event-lost', { detailType: entry.DetailType, detail: entry.Detail, error }),
  });
  return {
    metrics: lazyInstanceMetrics(clock),
    store: lazySnapshotStore(bucket, clock),
    recordKey: lazyRecordKey(settings.imdsv2RecordKeySecret ?? ''),
    ec2: createImdsv2Ec2Port(createEc2ImdsPort({ ec2, clock, optOutTagKey: settings.optOutTagKey }), ec2, clock),
    ...lazyCredentialEvidence(settings, bucket, clock),
    audit: async (records) => {
      const at = new Date(clock.now()).toISOString();
      await auditActions(records.map((r) => ({ ...r, runId: `check-${at}`, dryRun: false, at })));
    },
  };
}

/** The Lambda entry point (`handler`), wired to the real AWS adapters. */
export const handler = (event?: unknown, context?: CheckContext): Promise<CheckResult> => wired()(event, context);
