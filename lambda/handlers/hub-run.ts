/**
 * The hub's run-level steps, before and after the Map state: `list` (the account × region items,
 * from Organizations OUs or an explicit list) and `summarize` (central metrics, the run summary on
 * the central bus and to SNS). Accounts that failed are in the summary by name and reason.
 * With a run bucket, `list` first applies the overlap guard and writes the account-region items for
 * the distributed Map's ItemReader, and `summarize` reads the Map's ResultWriter output: neither the
 * items nor the results sit in the execution state, whatever the size of the organization.
 */
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { createClient } from '../aws/clients';
import { type Clock, realClock } from '../aws/clock';
import { createSnsNotifier, type Notifier } from '../aws/notify';
import { listAccountsOfOus } from '../aws/organizations';
import { logger as defaultLogger, metrics as defaultMetrics } from '../aws/powertools';
import { withRetry } from '../aws/retry';
import { HUB_EXTRA_METRICS, HUB_FLEET_METRICS, HUB_SKIPPED_DETAIL_TYPE, HUB_SUMMARY_DETAIL_TYPE, type HubItemResult, type HubSettings, parseHubSettings, totalsOf, withoutHubVariables } from '../core/fleet/hub';
import { blockingRun, type HubRunItem, parseManifest, reconcile, resultsOfFile, type RunningExecution, runItems, runKeys, SUMMARY_NAMED_LIMIT } from '../core/fleet/hub-run-data';
import { HUB_LAUNCH_TRIGGER, hubRunInput, runsToWeigh } from '../core/fleet/hub-launch-remediation';
import { CHECK_METRICS } from '../core/fleet/metric-names';
import { parseSettings, type Settings } from '../core/settings';
import type { EngineLogger } from '../engine/check';

export interface HubRunDeps {
  readonly settings: Settings;
  readonly hub: HubSettings;
  readonly clock: Clock;
  readonly logger: EngineLogger;
  readonly metrics: Metrics;
  readonly organizations: Pick<OrganizationsClient, 'send'>;
  readonly events: Pick<EventBridgeClient, 'send'>;
  readonly notifier: Notifier;
  /** The run bucket (`hub.runBucket`): item list, Map results, full summary. @default - the listing and results travel in the execution state */
  readonly s3?: Pick<S3Client, 'send'>;
  /** Step Functions, for the overlap guard (ListExecutions of the hub's own state machine). @default - no guard */
  readonly sfn?: Pick<SFNClient, 'send'>;
}

/** The execution that runs this step (`$$.Execution` / `$$.StateMachine` of the context object). */
export interface HubExecution {
  readonly executionArn: string;
  readonly name: string;
  readonly startTime: string;
  readonly stateMachineArn: string;
}

export type HubRunEvent =
  | { readonly action: 'list'; readonly mode?: string; readonly execution?: HubExecution; /** The execution's whole input (a launch run names its account-region and instances). */ readonly input?: unknown }
  | { readonly action: 'summarize'; readonly listing?: unknown; readonly results?: unknown };

/** What `list` hands the state machine: small, whatever the number of accounts (the items are in S3). */
interface Listing {
  readonly mode: 'check' | 'remediate';
  /** `launch`: a launch remediation of one account-region (remediateOnLaunch). */
  readonly trigger?: typeof HUB_LAUNCH_TRIGGER;
  readonly regions: readonly string[];
  readonly ouFailures: readonly unknown[];
  /** The execution this run yields to (the overlap guard), or null. */
  readonly overlap: string | null;
  readonly bucket?: string;
  readonly itemsKey?: string;
  readonly summaryKey?: string;
  readonly accountRegions?: number;
}

async function getText(s3: Pick<S3Client, 'send'>, bucket: string, key: string, clock: Clock): Promise<string> {
  const out = await withRetry(() => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })), clock, { operation: 'GetObject' });
  return (await out.Body?.transformToString()) ?? '';
}

async function putJson(s3: Pick<S3Client, 'send'>, bucket: string, key: string, value: unknown, clock: Clock): Promise<void> {
  await withRetry(() => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(value), ContentType: 'application/json' })), clock, { operation: 'PutObject' });
}

/** The RUNNING executions of the hub's state machine (every page: a stuck pile-up must not hide the first run). */
async function runningExecutions(sfnClient: Pick<SFNClient, 'send'>, stateMachineArn: string, clock: Clock): Promise<RunningExecution[]> {
  const out: RunningExecution[] = [];
  let nextToken: string | undefined;
  do {
    const page = await withRetry(() => sfnClient.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 100, ...(nextToken ? { nextToken } : {}) })), clock, {
      operation: 'ListExecutions',
    });
    for (const e of page.executions ?? []) if (e.executionArn && e.startDate) out.push({ executionArn: e.executionArn, startDate: new Date(e.startDate).getTime() });
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

export function createHubRunHandler(deps: HubRunDeps): (event: HubRunEvent) => Promise<Record<string, unknown>> {
  const putEvent = async (detailType: string, detail: unknown, what: string): Promise<void> => {
    try {
      await withRetry(() => deps.events.send(new PutEventsCommand({ Entries: [{ Source: deps.settings.eventSource, DetailType: detailType, Detail: JSON.stringify(detail) }] })), deps.clock, {
        operation: 'PutEvents',
      });
    } catch (err) {
      deps.logger.error(what, { error: err instanceof Error ? err.message : String(err) });
    }
  };
  const bucket = deps.hub.runBucket;
  const s3 = bucket ? deps.s3 : undefined;

  const list = async (event: Extract<HubRunEvent, { action: 'list' }>): Promise<Record<string, unknown>> => {
    const { hub, clock, logger } = deps;
    const mode = event.mode === 'remediate' ? 'remediate' : 'check';
    const execution = event.execution;
    const input = hubRunInput(event.input, hub.regions);
    // Only the launch role may start a run with a scope (IAM); whatever else names one is refused, never widened to the organization.
    if (input.kind === 'refused') {
      logger.error('hub-launch-run-refused', { reason: input.reason, executionArn: execution?.executionArn });
      throw new Error(`launch remediation request refused: ${input.reason}`);
    }
    const launch = input.kind === 'launch' ? input.item : undefined;
    // The overlap guard, before anything is listed or written: the earliest RUNNING run goes on,
    // a later one stops with an audit event. A guard that cannot read the executions throws (the
    // task retries, then the run fails and alarms): a run is never started blind.
    if (deps.sfn && execution?.stateMachineArn && execution.executionArn) {
      const self = { executionArn: execution.executionArn, startDate: Date.parse(execution.startTime) || clock.now() };
      const blocking = blockingRun(self, runsToWeigh(launch !== undefined, await runningExecutions(deps.sfn, execution.stateMachineArn, clock)));
      if (blocking) {
        const detail = { reason: 'overlap', mode, ...(launch ? { trigger: launch.trigger, accountId: launch.accountId, region: launch.region, instanceIds: launch.instanceIds } : {}), executionArn: execution.executionArn, runningExecutionArn: blocking.executionArn, runningSince: new Date(blocking.startDate).toISOString() };
        logger.warn('hub-run-skipped', detail);
        await putEvent(HUB_SKIPPED_DETAIL_TYPE, detail, 'hub-skipped-event-lost');
        return { overlap: blocking.executionArn, mode, regions: hub.regions, ouFailures: [] } satisfies Listing;
      }
    }
    if (launch) {
      // hub-launch verified the account is covered before it looked at the instances; the run's one item is that account-region.
      logger.info('hub-list', { accounts: 1, regions: [launch.region], mode, trigger: launch.trigger, accountId: launch.accountId, instances: launch.instanceIds.length });
      if (!s3 || !bucket) return { accounts: [launch.accountId], regions: [launch.region], mode, trigger: launch.trigger, ouFailures: [], overlap: null };
      const keys = runKeys(execution?.name ?? `launch-${new Date(clock.now()).toISOString()}`);
      await putJson(s3, bucket, keys.items, [launch], clock);
      return { mode, trigger: launch.trigger, regions: [launch.region], ouFailures: [], overlap: null, bucket, itemsKey: keys.items, summaryKey: keys.summary, accountRegions: 1 } satisfies Listing;
    }
    const fromOus = hub.organizationalUnits.length > 0 ? await listAccountsOfOus(deps.organizations, hub.organizationalUnits, clock) : { accounts: [], failures: [] };
    const accounts = [...new Set([...hub.accounts, ...fromOus.accounts])];
    logger.info('hub-list', { accounts: accounts.length, regions: hub.regions, mode, ouFailures: fromOus.failures });
    if (!s3 || !bucket) return { accounts, regions: hub.regions, mode, ouFailures: fromOus.failures, overlap: null };
    // The distributed Map's ItemReader reads the list from S3: the execution state holds only its key.
    const keys = runKeys(execution?.name ?? `run-${new Date(clock.now()).toISOString()}`);
    const items = runItems(accounts, hub.regions);
    await putJson(s3, bucket, keys.items, items, clock);
    return {
      mode,
      regions: hub.regions,
      ouFailures: fromOus.failures,
      overlap: null,
      bucket,
      itemsKey: keys.items,
      summaryKey: keys.summary,
      accountRegions: items.length,
    } satisfies Listing;
  };

  /** The Map's results: inline (an array, no run bucket) or the ResultWriter's manifest and files, against the item list. */
  const resultsOf = async (listing: Listing, results: unknown): Promise<unknown[]> => {
    const written = (results as { ResultWriterDetails?: { Bucket?: unknown; Key?: unknown } } | undefined)?.ResultWriterDetails;
    if (!written) return Array.isArray(results) ? results : [];
    if (!s3 || typeof written.Bucket !== 'string' || typeof written.Key !== 'string' || !listing.itemsKey) throw new Error('the Map wrote its results to S3, but hub-run has no run bucket or item list to read them with');
    const items = JSON.parse(await getText(s3, listing.bucket ?? written.Bucket, listing.itemsKey, deps.clock)) as HubRunItem[];
    const manifest = parseManifest(await getText(s3, written.Bucket, written.Key, deps.clock));
    const found: Partial<HubItemResult>[] = [];
    let unreadable = 0;
    // Unreadable manifest: nothing is taken as covered (reconcile names every item).
    for (const key of Object.values(manifest?.files ?? {}).flat()) {
      const file = resultsOfFile(await getText(s3, manifest!.destinationBucket, key, deps.clock));
      found.push(...file.results);
      unreadable += file.unreadable;
    }
    if (!manifest || unreadable > 0) deps.logger.warn('hub-results-unreadable', { manifest: written.Key, manifestRead: manifest !== undefined, unreadable });
    return reconcile(items, found);
  };

  const summarize = async (event: Extract<HubRunEvent, { action: 'summarize' }>): Promise<Record<string, unknown>> => {
    const { logger } = deps;
    const listing = (event.listing ?? {}) as Listing;
    const totals = totalsOf(await resultsOf(listing, event.results));
    const mode = listing.mode === 'remediate' ? 'remediate' : 'check';
    const m = deps.metrics;
    // The fleet check counts come from check runs only: a remediation run's counts are remediation
    // outcomes (its engine emits those itself), and publishing check names from it would reset the
    // check alarms and feed the check heartbeat between two checks. No series per account: their
    // cost grows with the organization (docs/organization.md); the dashboard's Logs Insights
    // widgets read the per-account counts from hub-item's records.
    m.addMetric(HUB_FLEET_METRICS.accountRegionsNotCovered, MetricUnit.Count, totals.notCovered.length);
    if (mode === 'check') {
      for (const [key, name] of Object.entries(CHECK_METRICS)) {
        if (key === 'clockErrorBoundSeconds') continue;
        m.addMetric(name, MetricUnit.Count, totals.counts[key] ?? 0);
      }
      // Account defaults and IMDSv2 of the member accounts, when the items measured them.
      for (const [key, name] of Object.entries(HUB_EXTRA_METRICS)) if (key in totals.counts) m.addMetric(name, MetricUnit.Count, totals.counts[key] ?? 0);
    }
    m.publishStoredMetrics();
    const notCoveredByReason: Record<string, number> = {};
    for (const f of totals.notCovered) notCoveredByReason[f.reason] = (notCoveredByReason[f.reason] ?? 0) + 1;
    const accountsAtRisk = Object.entries(totals.byAccount)
      .filter(([, c]) => (c.instancesAtRisk ?? 0) > 0 || (c.instancesNotChecked ?? 0) > 0)
      .map(([accountId, c]) => ({ accountId, instancesAtRisk: c.instancesAtRisk ?? 0, instancesNotChecked: c.instancesNotChecked ?? 0 }))
      .sort((a, b) => b.instancesAtRisk - a.instancesAtRisk || b.instancesNotChecked - a.instancesNotChecked);
    const full = {
      mode,
      ...(listing.trigger === HUB_LAUNCH_TRIGGER ? { trigger: HUB_LAUNCH_TRIGGER } : {}),
      accountRegions: totals.accountRegions,
      covered: totals.covered,
      notCovered: totals.notCovered,
      notCoveredByReason,
      accountsAtRisk,
      ouFailures: listing.ouFailures ?? [],
      counts: totals.counts,
    };
    let summaryKey: string | undefined;
    if (s3 && bucket && listing.summaryKey) {
      await putJson(s3, bucket, listing.summaryKey, full, deps.clock);
      summaryKey = listing.summaryKey;
    }
    // The event and the e-mail are capped (256 KB each): the first account-regions by name, all by reason, the rest in S3.
    const summary = {
      ...full,
      notCovered: totals.notCovered.slice(0, SUMMARY_NAMED_LIMIT),
      accountsAtRisk: accountsAtRisk.slice(0, SUMMARY_NAMED_LIMIT),
      ...(totals.notCovered.length > SUMMARY_NAMED_LIMIT || accountsAtRisk.length > SUMMARY_NAMED_LIMIT ? { truncated: true } : {}),
      ...(summaryKey ? { summaryObject: `s3://${bucket}/${summaryKey}` } : {}),
    };
    logger.info('hub-summary', { ...summary, notCovered: totals.notCovered });
    await putEvent(HUB_SUMMARY_DETAIL_TYPE, summary, 'hub-summary-event-lost');
    const sent = await deps.notifier.publish(`timesync-guard organization ${summary.mode}${listing.trigger === HUB_LAUNCH_TRIGGER ? ' (launch)' : ''}: ${totals.covered}/${totals.accountRegions} account-regions covered`, summary);
    if (!sent) logger.warn('hub-summary-not-sent', {});
    return { covered: totals.covered, accountRegions: totals.accountRegions, notCovered: totals.notCovered.length };
  };

  return async (event) => {
    if (event?.action === 'list') return list(event);
    if (event?.action === 'summarize') return summarize(event);
    throw new Error(`unknown hub action ${JSON.stringify((event as { action?: unknown })?.action)}`);
  };
}

const settings = parseSettings(withoutHubVariables(process.env));

const hub = parseHubSettings(process.env, process.env.AWS_REGION);

/** The Lambda entry point (`handler`), wired to the real AWS adapters. */
export const handler = createHubRunHandler({
  settings,
  hub,
  clock: realClock,
  logger: defaultLogger,
  metrics: defaultMetrics,
  // Organizations is a global service answered in us-east-1 (aws partition).
  organizations: createClient(OrganizationsClient, 'organizations'),
  events: createClient(EventBridgeClient, 'eventbridge'),
  notifier: createSnsNotifier({ sns: createClient(SNSClient, 'sns'), topicArn: settings.topicArn }),
  ...(hub.runBucket ? { s3: createClient(S3Client, 's3'), sfn: createClient(SFNClient, 'sfn') } : {}),
});
