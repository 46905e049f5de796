/**
 * The organization hub's launch check: EC2 `running` events of the member accounts (each forwarded by
 * the rule the spoke StackSet deploys, to the hub's launch bus, which admits only the organization)
 * → the hub's launch queue → here. Messages are grouped by account-region; an account the hub does
 * not cover (not one of its accounts, not directly under one of its OUs) is refused and logged, never
 * entered. For each covered account-region the single-account launch handler runs unchanged, with the
 * spoke role's EC2 and SSM clients; its retries go back on the hub's queue wrapped with the account
 * and region. One account that cannot be entered never holds back the others.
 */
import { ListParentsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { type AwsClients, type ClientOptions, createClient, createClients, lazy } from '../aws/clients';
import { type Clock, realClock } from '../aws/clock';
import { InstanceSubsetInventory } from '../aws/instance-subset';
import { createSqsLaunchRequeue } from '../aws/launch-queue';
import { logger as defaultLogger } from '../aws/powertools';
import { withRetry } from '../aws/retry';
import { createStartExecution, type StartExecution } from '../aws/start-execution';
import { SsmRunCommand } from '../aws/run-command';
import { assumeSpokeRole, spokeRoleArn } from '../aws/sts';
import { type HubSettings, parseHubSettings, withoutHubVariables } from '../core/fleet/hub';
import { coversAccount, HUB_LAUNCH_RETRY_KIND, routeLaunchMessage } from '../core/fleet/hub-launch';
import { HUB_LAUNCH_TRIGGER } from '../core/fleet/hub-launch-remediation';
import { LAUNCH_QUEUE_URL_ENV, LAUNCH_REMEDIATION_STATE_MACHINE_ENV } from '../core/fleet/launch';
import { METRIC_SERVICE } from '../core/fleet/metric-names';
import { DEFAULTS, ENV, type LaunchSettings, parseLaunchSettings } from '../core/settings';
import type { EngineLogger } from '../engine/check';
import { createLaunchHandler, LAUNCH_METRIC_DIMENSION, type LaunchResult, type LaunchSqsEvent } from './launch';

export interface HubLaunchDeps {
  readonly settings: LaunchSettings;
  readonly hub: HubSettings;
  readonly partition: string;
  readonly clock: Clock;
  readonly logger: EngineLogger;
  readonly metrics: Metrics;
  readonly sts: Pick<STSClient, 'send'>;
  readonly organizations: Pick<OrganizationsClient, 'send'>;
  readonly clientsFor: (region: string, credentials: ClientOptions['credentials']) => AwsClients;
  readonly sqs: Pick<SQSClient, 'send'>;
  readonly queueUrl: string;
  /**
   * Starts the hub's state machine (`remediateOnLaunch`): a launch run of one account-region,
   * `{ mode: "remediate", trigger: "launch", accountId, region, instanceIds }`. @default - none: at-risk launches wait for the nightly run
   */
  readonly startRemediation?: StartExecution;
}

/** The logger with the account-region added to every record (the single-account records have none). */
function tagged(logger: EngineLogger, accountId: string, region: string): EngineLogger {
  return {
    info: (m, x = {}) => logger.info(m, { ...x, accountId, region }),
    warn: (m, x = {}) => logger.warn(m, { ...x, accountId, region }),
    error: (m, x = {}) => logger.error(m, { ...x, accountId, region }),
  };
}

/** The launch check's remediation request, as a launch run of the hub's state machine for one account-region. */
export function launchRunStarter(start: StartExecution, accountId: string, region: string): StartExecution {
  return (input, name) => start({ ...input, mode: 'remediate', trigger: HUB_LAUNCH_TRIGGER, accountId, region }, name);
}

export function createHubLaunchHandler(deps: HubLaunchDeps): (event?: LaunchSqsEvent, context?: { getRemainingTimeInMillis(): number }) => Promise<LaunchResult> {
  // Parents of an account, per container: OUs rarely change, and a moved account is refused or
  // admitted at the next cold start (the hourly run lists the OUs afresh).
  const parents = new Map<string, Promise<string[] | undefined>>();
  const parentsOf = (accountId: string): Promise<string[] | undefined> => {
    let p = parents.get(accountId);
    if (!p) {
      p = withRetry(() => deps.organizations.send(new ListParentsCommand({ ChildId: accountId })), deps.clock, { operation: 'ListParents' }).then(
        (r) => (r.Parents ?? []).map((x) => x.Id ?? '').filter((x) => x !== ''),
        (err: unknown) => {
          parents.delete(accountId);
          deps.logger.warn('launch-account-parents-unreadable', { accountId, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
          return undefined;
        },
      );
      parents.set(accountId, p);
    }
    return p;
  };

  return async (event, context) => {
    const { logger } = deps;
    const groups = new Map<string, { accountId: string; region: string; records: { messageId: string; body: string }[] }>();
    let refused = 0;
    for (const r of event?.Records ?? []) {
      const routed = routeLaunchMessage(typeof r.body === 'string' ? r.body : '');
      if (!routed.ok) {
        refused++;
        logger.warn('launch-message-refused', { messageId: r.messageId, reason: routed.reason });
        continue;
      }
      const key = `${routed.accountId}/${routed.region}`;
      const g = groups.get(key) ?? { accountId: routed.accountId, region: routed.region, records: [] };
      g.records.push({ messageId: r.messageId, body: routed.body });
      groups.set(key, g);
    }
    const failures: { itemIdentifier: string }[] = [];
    let reported = 0;
    let requeued = 0;
    for (const g of groups.values()) {
      const ids = g.records.map((r) => r.messageId);
      // Verified before anything is entered: the bus admits the whole organization, the hub covers only its OUs and accounts.
      const covered = coversAccount(g.accountId, deps.hub.accounts.includes(g.accountId) ? [] : await parentsOf(g.accountId), deps.hub);
      if (!covered) {
        refused += ids.length;
        logger.warn('launch-account-not-covered', { accountId: g.accountId, region: g.region, messages: ids.length });
        continue;
      }
      if (!deps.hub.regions.includes(g.region)) {
        refused += ids.length;
        logger.warn('launch-region-not-covered', { accountId: g.accountId, region: g.region, messages: ids.length });
        continue;
      }
      const assumed = await assumeSpokeRole(deps.sts, spokeRoleArn(deps.partition, g.accountId, deps.hub.spokeRoleName), 'timesync-guard-launch', deps.clock);
      if (!assumed.ok) {
        logger.warn('account-not-covered', { accountId: g.accountId, region: g.region, mode: 'launch', reason: assumed.reason, detail: assumed.detail });
        // Throttling may pass: redelivered. A missing role or trust will not: dropped (the hourly run reports that account).
        if (assumed.reason === 'throttled') failures.push(...ids.map((itemIdentifier) => ({ itemIdentifier })));
        else refused += ids.length;
        continue;
      }
      const spoke = deps.clientsFor(g.region, assumed.credentials);
      const inner = createLaunchHandler({
        settings: deps.settings,
        clock: deps.clock,
        logger: tagged(logger, g.accountId, g.region),
        metrics: deps.metrics,
        runCommand: new SsmRunCommand({ ssm: spoke.ssm, clock: deps.clock }),
        inventoryFor: (instanceIds) => new InstanceSubsetInventory({ ec2: spoke.ec2, ssm: spoke.ssm, clock: deps.clock, optOutTagKey: deps.settings.optOutTagKey, selection: { kind: 'ids', instanceIds } }),
        // The single-account launch check's own request ({ trigger, instanceIds }, its execution name), with this account-region added.
        ...(deps.startRemediation ? { startRemediation: launchRunStarter(deps.startRemediation, g.accountId, g.region) } : {}),
        requeue: createSqsLaunchRequeue({
          sqs: deps.sqs,
          queueUrl: deps.queueUrl,
          clock: deps.clock,
          wrap: (message) => ({ kind: HUB_LAUNCH_RETRY_KIND, accountId: g.accountId, region: g.region, message }),
        }),
      });
      try {
        const r = await inner({ Records: g.records }, context);
        failures.push(...r.batchItemFailures);
        reported += r.reported;
        requeued += r.requeued;
        refused += r.refused;
      } catch (err) {
        // This account-region's check failed as a whole: its messages come back, the others are kept.
        logger.error('launch-check-failed', { accountId: g.accountId, region: g.region, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
        failures.push(...ids.map((itemIdentifier) => ({ itemIdentifier })));
      }
    }
    return { batchItemFailures: failures, reported, requeued, refused };
  };
}

const settings = parseLaunchSettings(withoutHubVariables(process.env));

/** The Lambda entry point (`handler`), wired to the real AWS adapters. */
const wired = lazy(() =>
  createHubLaunchHandler({
    settings,
    hub: parseHubSettings(process.env, process.env.AWS_REGION),
    partition: process.env.AWS_PARTITION ?? (process.env.AWS_REGION?.startsWith('cn-') ? 'aws-cn' : process.env.AWS_REGION?.startsWith('us-gov-') ? 'aws-us-gov' : 'aws'),
    clock: realClock,
    logger: defaultLogger,
    metrics: new Metrics({ serviceName: METRIC_SERVICE, namespace: process.env[ENV.metricNamespace]?.trim() || DEFAULTS.metricNamespace, defaultDimensions: LAUNCH_METRIC_DIMENSION }),
    sts: createClient(STSClient, 'sts'),
    organizations: createClient(OrganizationsClient, 'organizations'),
    clientsFor: (region, credentials) => createClients({ region, ...(credentials ? { credentials } : {}) }),
    sqs: createClient(SQSClient, 'sqs'),
    queueUrl: process.env[LAUNCH_QUEUE_URL_ENV] ?? '',
    ...(settings.remediateOnLaunch && process.env[LAUNCH_REMEDIATION_STATE_MACHINE_ENV]
      ? { startRemediation: createStartExecution({ stateMachineArn: process.env[LAUNCH_REMEDIATION_STATE_MACHINE_ENV], clock: realClock }) }
      : {}),
  }),
);

export const handler: ReturnType<typeof createHubLaunchHandler> = (...args) => wired()(...args);
