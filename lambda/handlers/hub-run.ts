/**
 * The hub's run-level steps, before and after the Map state: `list` (the account × region items,
 * from Organizations OUs or an explicit list) and `summarize` (central metrics, the run summary on
 * the central bus and to SNS). Accounts that failed are in the summary by name and reason.
 */
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SNSClient } from '@aws-sdk/client-sns';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { createClient } from '../aws/clients';
import { type Clock, realClock } from '../aws/clock';
import { createSnsNotifier, type Notifier } from '../aws/notify';
import { listAccountsOfOus } from '../aws/organizations';
import { logger as defaultLogger, metrics as defaultMetrics } from '../aws/powertools';
import { withRetry } from '../aws/retry';
import { HUB_ACCOUNT_METRICS, HUB_FLEET_METRICS, HUB_SUMMARY_DETAIL_TYPE, type HubSettings, parseHubSettings, totalsOf, withoutHubVariables } from '../core/fleet/hub';
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
}

export type HubRunEvent = { readonly action: 'list'; readonly mode?: string } | { readonly action: 'summarize'; readonly listing?: unknown; readonly results?: unknown };

export function createHubRunHandler(deps: HubRunDeps): (event: HubRunEvent) => Promise<Record<string, unknown>> {
  return async (event) => {
    const { hub, clock, logger } = deps;
    if (event?.action === 'list') {
      const fromOus = hub.organizationalUnits.length > 0 ? await listAccountsOfOus(deps.organizations, hub.organizationalUnits, clock) : { accounts: [], failures: [] };
      const accounts = [...new Set([...hub.accounts, ...fromOus.accounts])];
      const mode = event.mode === 'remediate' ? 'remediate' : 'check';
      logger.info('hub-list', { accounts: accounts.length, regions: hub.regions, mode, ouFailures: fromOus.failures });
      return { accounts, regions: hub.regions, mode, ouFailures: fromOus.failures };
    }
    if (event?.action !== 'summarize') throw new Error(`unknown hub action ${JSON.stringify((event as { action?: unknown })?.action)}`);
    const totals = totalsOf(event.results);
    const listing = (event.listing ?? {}) as { ouFailures?: unknown[]; mode?: string };
    const mode = listing.mode === 'remediate' ? 'remediate' : 'check';
    const m = deps.metrics;
    // The fleet and per-account check counts come from check runs only: a remediation run's counts
    // are remediation outcomes (its engine emits those itself), and publishing check names from it
    // would reset the check alarms and feed the check heartbeat between two checks.
    m.addMetric(HUB_FLEET_METRICS.accountRegionsNotCovered, MetricUnit.Count, totals.notCovered.length);
    if (mode === 'check') {
      // Fleet-level counts under the single-account names: the same alarms and dashboard read them.
      for (const [key, name] of Object.entries(CHECK_METRICS)) {
        if (key === 'clockErrorBoundSeconds') continue;
        m.addMetric(name, MetricUnit.Count, totals.counts[key] ?? 0);
      }
    }
    m.publishStoredMetrics();
    // One single metric per value: a single metric publishes on every addMetric and then drops its
    // dimensions, so a second value added to it would land on the fleet (`service`-only) series.
    const perAccount = (name: string, accountId: string, value: number): void => {
      const single = m.singleMetric();
      single.addDimension('AccountId', accountId);
      single.addMetric(name, MetricUnit.Count, value);
    };
    if (mode === 'check') {
      // A few counts per account (cost grows with the number of accounts: see docs/organization.md).
      for (const [accountId, counts] of Object.entries(totals.byAccount)) {
        perAccount(HUB_ACCOUNT_METRICS.instancesAtRisk, accountId, counts.instancesAtRisk ?? 0);
        perAccount(HUB_ACCOUNT_METRICS.instancesNotChecked, accountId, counts.instancesNotChecked ?? 0);
      }
    }
    // One value per account, however many of its regions failed (the summary lists each region).
    for (const accountId of new Set(totals.notCovered.map((f) => f.accountId))) perAccount(HUB_ACCOUNT_METRICS.accountNotCovered, accountId, 1);
    const summary = {
      mode,
      accountRegions: totals.accountRegions,
      covered: totals.covered,
      notCovered: totals.notCovered,
      ouFailures: listing.ouFailures ?? [],
      counts: totals.counts,
    };
    logger.info('hub-summary', summary);
    try {
      await withRetry(() => deps.events.send(new PutEventsCommand({ Entries: [{ Source: deps.settings.eventSource, DetailType: HUB_SUMMARY_DETAIL_TYPE, Detail: JSON.stringify(summary) }] })), clock, {
        operation: 'PutEvents',
      });
    } catch (err) {
      logger.error('hub-summary-event-lost', { error: err instanceof Error ? err.message : String(err) });
    }
    const sent = await deps.notifier.publish(`timesync-guard organization ${summary.mode}: ${totals.covered}/${totals.accountRegions} account-regions covered`, summary);
    if (!sent) logger.warn('hub-summary-not-sent', {});
    return { covered: totals.covered, accountRegions: totals.accountRegions, notCovered: totals.notCovered.length };
  };
}

const settings = parseSettings(withoutHubVariables(process.env));

/** The Lambda entry point (`handler`), wired to the real AWS adapters. */
export const handler = createHubRunHandler({
  settings,
  hub: parseHubSettings(process.env, process.env.AWS_REGION),
  clock: realClock,
  logger: defaultLogger,
  metrics: defaultMetrics,
  // Organizations is a global service answered in us-east-1 (aws partition).
  organizations: createClient(OrganizationsClient, 'organizations'),
  events: createClient(EventBridgeClient, 'eventbridge'),
  notifier: createSnsNotifier({ sns: createClient(SNSClient, 'sns'), topicArn: settings.topicArn }),
});
