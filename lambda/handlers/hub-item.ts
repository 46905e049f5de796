/**
 * The organization hub's item handler: one (account, region) — or one slice of it — per invocation,
 * under the assumed spoke role. The check and remediation engines are the single-account ones; only
 * the clients differ (spoke credentials, the item's region). An account that cannot be entered or
 * checked is returned as data (`status: failed`, `reason`), never thrown: one account never fails
 * the organization's run.
 */
import { secretContinuationKey } from '../aws/continuation-key';
import { S3Client } from '@aws-sdk/client-s3';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { S3SnapshotStore } from '../aws/readiness-cache';
import { createSecurityHubPort } from '../aws/securityhub';
import { createSsmCompliancePort } from '../aws/ssm-compliance';
import { exportFindings } from '../engine/findings-export';
import type { ExportStateStore } from '../engine/ports';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { EventBridgeClient, type PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { type AwsClients, type ClientOptions, createClient, createClients } from '../aws/clients';
import { type Clock, realClock } from '../aws/clock';
import { checkDocumentPins, type DocumentPin } from '../aws/document-pin';
import { InstanceSubsetInventory } from '../aws/instance-subset';
import { Ec2SsmInventory } from '../aws/inventory';
import { logger as defaultLogger, metrics as defaultMetrics } from '../aws/powertools';
import { SsmRunCommand } from '../aws/run-command';
import { assumeSpokeRole, spokeRoleArn } from '../aws/sts';
import { addCounts, type HubItemEvent, type HubItemResult, imdsv2UndoRoleName, parseHubSettings, type HubSettings, withoutHubVariables } from '../core/fleet/hub';
import { launchScopeOf } from '../core/fleet/hub-launch-remediation';
import { parseSettings, type Settings } from '../core/settings';
import { type EngineLogger, runCheck } from '../engine/check';
import { instanceLogRecord } from './check';
import { createRemediateHandler } from './remediate';
import { createEventBridgeAudit } from '../aws/audit';
import { CloudWatchInstanceMetrics } from '../aws/cloudwatch-metrics';
import { createEc2ImdsPort } from '../aws/imds';
import { createImdsv2Ec2Port } from '../aws/imdsv2-ec2';
import { createEc2MetadataDefaultsPort } from '../aws/metadata-defaults';
import { accountDefaultsMetricValues } from '../core/fleet/metadata-defaults';
import { lazyRecordKey } from '../aws/lazy-adapters';
import type { Imdsv2CheckPorts } from '../engine/imdsv2';
import { memberLaunchSources, type MemberLaunchSources } from '../aws/member-launch-sources';
import { publishSources, sourceLogFields, sourcesSummary } from './sources-hook';
import { sourceCounts, withSourceCounts } from '../core/fleet/hub-sources';

export interface HubItemDeps {
  readonly settings: Settings;
  readonly hub: HubSettings;
  readonly partition: string;
  readonly clock: Clock;
  readonly logger: EngineLogger;
  readonly metrics: Metrics;
  readonly sts: Pick<STSClient, 'send'>;
  /** Clients of one account-region under the spoke credentials. */
  readonly clientsFor: (region: string, credentials: ClientOptions['credentials']) => AwsClients;
  /** The hub's own EventBridge client: audit events go to the central bus. */
  readonly centralEvents: Pick<EventBridgeClient, 'send'>;
  /** The HMAC key of remediation continuations (the hub's secret; docs/remediation-safety.md). */
  readonly continuationKey: () => Promise<Uint8Array>;
  /** The member account's Security Hub under the spoke credentials. @default - findings not imported */
  readonly securityHubFor?: (region: string, credentials: ClientOptions['credentials']) => Pick<SecurityHubClient, 'send'>;
  /** Where the hub keeps what it last exported for one account-region. @default - nothing exported */
  readonly exportStore?: (accountId: string, region: string) => ExportStateStore;
  /**
   * IMDSv2 readiness, watch and enforcement ports of one member account-region (settings.imdsv2 not
   * off); `undo`: the clients under the IMDSv2 undo role, for the watch's rollback. @default - not assessed
   */
  readonly imdsv2For?: (accountId: string, region: string, spoke: AwsClients, undo?: AwsClients) => Imdsv2CheckPorts;
  /**
   * The launch sources of one member account-region under the spoke credentials (settings.launchTemplates
   * not off): attribution and the sources' report in the check, the source fix in the remediation
   * (`fix`). @default - not read
   */
  readonly launchSourcesFor?: MemberLaunchSources;
}

/**
 * IMDSv2 in a member account-region, as the single-account check wires it: that account's
 * MetadataNoToken metrics and EC2 under the spoke credentials; the readiness snapshot in the hub's
 * bucket (one per account-region); the hub's record key; the watch's audit on the central bus with
 * the account and region added.
 */
export function imdsv2PortsIn(o: {
  readonly s3: Pick<S3Client, 'send'>;
  readonly bucket: string;
  readonly clock: Clock;
  readonly recordKey: () => Promise<Uint8Array>;
  readonly centralEvents: Pick<EventBridgeClient, 'send'>;
  readonly eventSource: string;
  readonly optOutTagKey: string;
  readonly logger: EngineLogger;
}): (accountId: string, region: string, spoke: AwsClients, undo?: AwsClients) => Imdsv2CheckPorts {
  return (accountId, region, spoke, undo) => {
    // The rollback (the watch's only EC2 writes) goes through the undo role when there is one; the
    // spoke role itself may never make tokens optional.
    const ec2 = (undo ?? spoke).ec2;
    const audit = createEventBridgeAudit({
      events: tagAuditEvents(o.centralEvents, accountId, region),
      source: o.eventSource,
      sleep: (ms) => o.clock.sleep(ms),
      onLost: (entry, error) => o.logger.error('audit-event-lost', { detailType: entry.DetailType, detail: entry.Detail, error, accountId, region }),
    });
    return {
      metrics: new CloudWatchInstanceMetrics({ cloudwatch: spoke.cloudwatch, clock: o.clock }),
      store: new S3SnapshotStore({ s3: o.s3, bucket: o.bucket, clock: o.clock, key: `imdsv2/${accountId}/${region}/readiness.json` }),
      recordKey: o.recordKey,
      ec2: createImdsv2Ec2Port(createEc2ImdsPort({ ec2, clock: o.clock, optOutTagKey: o.optOutTagKey }), ec2, o.clock),
      audit: async (records) => {
        const at = new Date(o.clock.now()).toISOString();
        await audit.actions(records.map((r) => ({ ...r, runId: `org-check-${at}`, dryRun: false, at })));
      },
    };
  };
}

/**
 * Credentials of a member account's IMDSv2 undo role, assumed at the first call that needs them
 * (a check with nothing to roll back never enters it). A failure throws into that call: the
 * rollback is then reported `failed` (audit, alarm) and nothing is undone.
 */
export function undoRoleCredentials(sts: Pick<STSClient, 'send'>, roleArn: string, clock: Clock): () => Promise<AwsCredentialIdentity> {
  let pending: Promise<AwsCredentialIdentity> | undefined;
  return () =>
    (pending ??= assumeSpokeRole(sts, roleArn, 'timesync-guard-imdsv2-undo', clock).then((r) => {
      if (r.ok) return r.credentials;
      pending = undefined;
      throw new Error(`the IMDSv2 undo role could not be assumed (${r.reason}): ${r.detail}`);
    }));
}

/** The logger with these fields added to every record. */
function withFields(logger: EngineLogger, fields: Record<string, unknown>): EngineLogger {
  return {
    info: (message, ...extra) => logger.info(message, Object.assign({}, ...extra, fields)),
    warn: (message, ...extra) => logger.warn(message, Object.assign({}, ...extra, fields)),
    error: (message, ...extra) => logger.error(message, Object.assign({}, ...extra, fields)),
  };
}

const errorText = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/**
 * Audit events from a member account's remediation, sent on the central bus with the account and
 * region added to every detail (the single-account audit records have no account: they never needed one).
 */
export function tagAuditEvents(events: Pick<EventBridgeClient, 'send'>, accountId: string, region: string): Pick<EventBridgeClient, 'send'> {
  return {
    send: ((command: PutEventsCommand) => {
      for (const e of command.input.Entries ?? []) {
        try {
          e.Detail = JSON.stringify({ ...(JSON.parse(e.Detail ?? '{}') as object), accountId, region });
        } catch {
          // A detail that is not JSON is sent as it is.
        }
      }
      return events.send(command);
    }) as Pick<EventBridgeClient, 'send'>['send'],
  };
}

/** One state object per member account-region in the hub's bucket (the hub's own credentials: the state never lives in the member account). */
export function exportStoreIn(s3: Pick<S3Client, 'send'>, bucket: string, clock: Clock): (accountId: string, region: string) => ExportStateStore {
  return (accountId, region) => new S3SnapshotStore({ s3, bucket, clock, key: `findings-export/${accountId}/${region}.json` });
}

export function createHubItemHandler(deps: HubItemDeps): (event: HubItemEvent, context?: { getRemainingTimeInMillis(): number }) => Promise<HubItemResult> {
  return async (event, context) => {
    const { clock, logger, settings } = deps;
    const accountId = String(event?.accountId ?? '');
    const region = String(event?.region ?? '');
    const mode = event?.mode === 'remediate' ? 'remediate' : 'check';
    const slices = (typeof event?.slices === 'number' ? event.slices : 0) + 1;
    const base = { accountId, region, mode, sliceToken: null, continuation: null, slices } as const;
    const failed = (reason: HubItemResult['reason'], detail: string): HubItemResult => {
      logger.warn('account-not-covered', { accountId, region, mode, reason, detail });
      return { ...base, status: 'failed', reason, detail, done: true, counts: event?.carry ?? null };
    };
    if (!/^\d{12}$/.test(accountId) || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) return failed('error', 'the item names no valid account and region');

    const assumed = await assumeSpokeRole(deps.sts, spokeRoleArn(deps.partition, accountId, deps.hub.spokeRoleName), `timesync-guard-${mode}`, clock);
    if (!assumed.ok) return failed(assumed.reason, assumed.detail);
    const spoke = deps.clientsFor(region, assumed.credentials);
    // Nothing runs in an account-region whose documents are not the StackSet's (changed in place,
    // or a same-name document where the StackSet does not deploy): the whole item is refused.
    const pins: DocumentPin[] = [{ name: settings.collectorDocument, sha256: settings.collectorDocumentHash }];
    if (mode === 'remediate') {
      pins.push({ name: settings.remediationDocument, sha256: settings.remediationDocumentHash }, { name: settings.windowsRemediationDocument, sha256: settings.windowsRemediationDocumentHash });
    }
    const pinned = await checkDocumentPins(spoke.ssm, pins, clock);
    if (!pinned.ok) return failed(pinned.reason, pinned.detail);
    const runCommand = new SsmRunCommand({ ssm: spoke.ssm, clock });
    // The check's opt-in undo (enforce with imdsv2AutoUndo) acts under its own role, as the single-account check role does.
    const undo =
      mode === 'check' && settings.imdsv2 === 'enforce' && settings.imdsv2AutoUndo
        ? deps.clientsFor(region, undoRoleCredentials(deps.sts, spokeRoleArn(deps.partition, accountId, imdsv2UndoRoleName(deps.hub.spokeRoleName)), clock))
        : undefined;
    const imdsv2 = settings.imdsv2 !== 'off' ? deps.imdsv2For?.(accountId, region, spoke, undo) : undefined;
    // The sources as in one account: read by the check unless off, fixed by the remediation with `fix` only.
    const launchSources = settings.launchTemplates !== 'off' && (mode === 'check' || settings.launchTemplates === 'fix') ? deps.launchSourcesFor?.(region, assumed.credentials, spoke) : undefined;
    const remaining = context?.getRemainingTimeInMillis();
    const budget = typeof remaining === 'number' && Number.isFinite(remaining) ? remaining : 14 * 60_000;

    if (mode === 'remediate') {
      const remediate = createRemediateHandler({
        settings,
        clock,
        logger,
        metrics: deps.metrics,
        ec2: spoke.ec2,
        eventbridge: tagAuditEvents(deps.centralEvents, accountId, region),
        inventory: new Ec2SsmInventory({ ec2: spoke.ec2, ssm: spoke.ssm, clock, optOutTagKey: settings.optOutTagKey }),
        runCommand,
        continuationKey: deps.continuationKey,
        ...(imdsv2 ? { imdsv2 } : {}),
        ...(launchSources ? { launchSources } : {}),
      });
      try {
        // A launch run's first request is scoped to its instances (the remediation refuses a bad list, never widens it); a continuation carries its scope.
        const launch = event.continuation ? undefined : launchScopeOf(event.target);
        const r = await remediate({ continuation: event.continuation ?? null, ...launch }, { getRemainingTimeInMillis: () => budget });
        return { ...base, status: 'ok', reason: null, detail: null, done: r.done, continuation: r.continuation ?? null, counts: { ...r.summary.counts } as Record<string, number> };
      } catch (err) {
        return failed('remediation-failed', errorText(err));
      }
    }

    // One slice: at most `slicePages` EC2 pages, checked within half of this invocation.
    const inventory = new InstanceSubsetInventory({
      ec2: spoke.ec2,
      ssm: spoke.ssm,
      clock,
      optOutTagKey: settings.optOutTagKey,
      selection: { kind: 'pages', ...(event.sliceToken ? { startToken: event.sliceToken } : {}), pages: deps.hub.slicePages },
    });
    let run;
    try {
      // The account metadata defaults and IMDSv2 readiness of the member account-region, as in one account.
      const metadataDefaults = createEc2MetadataDefaultsPort({ ec2: spoke.ec2, clock });
      run = await runCheck({ inventory, runCommand, clock, logger, metadataDefaults, ...(imdsv2 ? { imdsv2 } : {}), ...(launchSources ? { launchSources } : {}) }, settings, { deadline: clock.now() + budget / 2 });
    } catch (err) {
      return failed('check-failed', errorText(err));
    }
    if (!run.completed) return failed('check-failed', run.errors.join('; '));
    const readiness = run.imdsv2?.readiness.readiness;
    for (const e of run.evaluations) logger.info('instance', { ...instanceLogRecord(e, readiness?.get(e.instanceId)), ...sourceLogFields(run.sources, e.instanceId), accountId, region });
    // The sources' records with the account-region; their metrics are the summary's (sums over the organization), not this item's.
    if (run.sources) publishSources(run.sources, withFields(logger, { accountId, region, slice: slices }), undefined);
    // The account-region's own figures, once (first slice): account defaults, IMDSv2 readiness and watch.
    const extra: Record<string, number> = {};
    if (slices === 1 && run.accountDefaults) {
      const v = accountDefaultsMetricValues(run.accountDefaults);
      if (v.findings !== undefined) extra.accountDefaultFindings = v.findings;
      extra.accountDefaultsUnknown = v.unknown;
    }
    if (run.imdsv2) {
      if (!run.imdsv2.readiness.error) for (const [state, n] of Object.entries(run.imdsv2.readiness.counts)) extra[`imdsv2:${state}`] = n;
      if (run.imdsv2.watch) {
        extra.imdsv2Rejected = run.imdsv2.watch.rejected.length;
        extra.imdsv2RolledBack = run.imdsv2.watch.rolledBack.length;
      }
    }
    const counts = withSourceCounts(addCounts(event.carry, addCounts(run.summary.counts, extra)), event.carry, run.sources ? sourceCounts(run.sources.plan) : undefined);
    const done = inventory.nextToken === undefined;
    // Findings land in the member account (its own product): Security Hub's cross-account aggregation takes them from there.
    const store = deps.exportStore?.(accountId, region);
    const securityHub = settings.securityHub && deps.securityHubFor ? createSecurityHubPort({ securityHub: deps.securityHubFor(region, assumed.credentials), clock }) : undefined;
    const compliance = settings.ssmCompliance ? createSsmCompliancePort({ ssm: spoke.ssm, clock }) : undefined;
    const findingsExport =
      store && (securityHub || compliance)
        ? await exportFindings(
            { ...(securityHub ? { securityHub } : {}), ...(compliance ? { compliance } : {}), store, clock, logger },
            run.evaluations,
            // Only a whole account-region in one slice proves that an absent instance is gone.
            { context: { partition: deps.partition, region, accountId }, runId: `org-check-${new Date(run.startedAt).toISOString()}`, complete: slices === 1 && done, deadline: clock.now() + budget / 2 - 30_000 },
          )
        : undefined;
    logger.info('check-summary', { trigger: 'organization', accountId, region, slice: slices, done, durationMs: run.durationMs, ...run.summary.counts, ...(run.accountDefaults ? { accountDefaults: run.accountDefaults } : {}), ...(run.imdsv2 ? { imdsv2: { ...run.imdsv2.readiness.counts, error: run.imdsv2.readiness.error, rejected: run.imdsv2.watch?.rejected } } : {}), ...(findingsExport ? { findingsExport } : {}), ...(run.sources ? { launchSources: sourcesSummary(run.sources) } : {}) });
    return { ...base, status: 'ok', reason: null, detail: null, done, sliceToken: inventory.nextToken ?? null, counts };
  };
}

const settings = parseSettings(withoutHubVariables(process.env));
const hub = parseHubSettings(process.env, process.env.AWS_REGION);

/** The Lambda entry point (`handler`), wired to the real AWS adapters. */
export const handler = createHubItemHandler({
  settings,
  hub,
  partition: process.env.AWS_PARTITION ?? (process.env.AWS_REGION?.startsWith('cn-') ? 'aws-cn' : process.env.AWS_REGION?.startsWith('us-gov-') ? 'aws-us-gov' : 'aws'),
  clock: realClock,
  logger: defaultLogger,
  metrics: defaultMetrics,
  sts: createClient(STSClient, 'sts'),
  clientsFor: (region, credentials) => createClients({ region, ...(credentials ? { credentials } : {}) }),
  centralEvents: createClient(EventBridgeClient, 'eventbridge'),
  continuationKey: secretContinuationKey({ secretId: settings.continuationKeySecret ?? '' }),
  securityHubFor: (region, credentials) => createClient(SecurityHubClient, 'securityhub', { region, ...(credentials ? { credentials } : {}) }),
  ...(settings.launchTemplates !== 'off' ? { launchSourcesFor: memberLaunchSources(realClock) } : {}),
  ...(settings.exportStateBucket ? { exportStore: exportStoreIn(createClient(S3Client, 's3'), settings.exportStateBucket, realClock) } : {}),
  ...(settings.imdsv2 !== 'off' && settings.imdsv2CacheBucket
    ? {
        imdsv2For: imdsv2PortsIn({
          s3: createClient(S3Client, 's3'),
          bucket: settings.imdsv2CacheBucket,
          clock: realClock,
          recordKey: lazyRecordKey(settings.imdsv2RecordKeySecret ?? ''),
          centralEvents: createClient(EventBridgeClient, 'eventbridge'),
          eventSource: settings.eventSource,
          optOutTagKey: settings.optOutTagKey,
          logger: defaultLogger,
        }),
      }
    : {}),
});
